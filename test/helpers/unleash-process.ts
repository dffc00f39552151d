/**
 * unleash-server as its own process, so a test can stop it (SIGKILL: the Admin API stops
 * answering at once) and start it again on the same port and database. Config is the
 * first argument (JSON: the options of `start()` minus the logger); prints `{"ready":true}`
 * once `/health` answers.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface UnleashServerModule {
  start(options: Record<string, unknown>): Promise<{ stop(): Promise<void> }>;
}

const silent = { debug() {}, info() {}, warn() {}, error() {}, fatal() {} };

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown> & { server: { port: number } };
  const entry = createRequire(
    join(import.meta.dirname, '..', '..', 'packages', 'routing-unleash', 'package.json'),
  ).resolve('unleash-server');
  const module = (await import(pathToFileURL(entry).href)) as UnleashServerModule;
  await module.start({ ...options, getLogger: () => silent });
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${options.server.port}/health`)
      .then((response) => response.ok)
      .catch(() => false);
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`unleash process failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
