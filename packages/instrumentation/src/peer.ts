/**
 * Loading an optional peer dependency on demand, with an error that says what to install
 * when it is missing (not Node's bare "Cannot find package").
 */
import { ConfigError } from '@agent-canary/conventions';

/**
 * Imports `name` through `load`; when that package itself is not installed, throws a
 * `ConfigError` at `path` naming the package and the install line. Other failures (a
 * broken install, an error inside the module) are thrown as they are.
 *
 * @example
 * const { LangfuseSpanProcessor } = await importPeer('@langfuse/otel', 'langfuse', () => import('@langfuse/otel'));
 */
export async function importPeer<T>(name: string, path: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    if (!missing || !String((error as Error).message).includes(`'${name}'`)) throw error;
    throw new ConfigError({
      path,
      expected: `the ${name} package installed next to @agent-canary/instrumentation (npm install ${name})`,
    });
  }
}
