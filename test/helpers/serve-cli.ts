/**
 * The real `agent-canary serve` command as a child process, for tests that kill and
 * restart it many times. The CLI's `bin.ts` is bundled once with esbuild — the same
 * sources under the `@agent-canary/source` condition, as a published build would run
 * them — because under tsx every start pays for the TypeScript loader (about three
 * times the start-up of the program itself), which on a busy CI machine is most of a
 * restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'packages', 'cli', 'src', 'bin.ts');
/** Inside the repository, so the native module left out of the bundle resolves. */
const BUNDLE_DIR = join(ROOT, 'node_modules', '.cache', 'agent-canary-tests');

/** Bundles the CLI into one file; resolves with its path. Remove it with {@link removeServeCliBundle}. */
export async function bundleServeCli(): Promise<string> {
  await mkdir(BUNDLE_DIR, { recursive: true });
  const outfile = join(BUNDLE_DIR, `agent-canary-${process.pid}-${Date.now()}.mjs`);
  await build({
    entryPoints: [BIN],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@agent-canary/source'],
    // Native: loaded from node_modules at run time.
    external: ['better-sqlite3'],
    // Bundled CommonJS dependencies call `require`.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return outfile;
}

export async function removeServeCliBundle(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** What `serve --json` prints once listening. */
export interface ServeListening {
  readonly ok: true;
  readonly url: string;
  readonly otlpTracesUrl: string;
  readonly rolloutId?: string;
  readonly phase?: string;
  readonly ended?: boolean;
  readonly note?: string;
}

/** A running `serve` process. */
export interface ServeCli {
  readonly child: ChildProcess;
  /** Resolves once it prints its listening document, or with undefined if it exits first. */
  readonly listening: Promise<ServeListening | undefined>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote (for failure messages; never printed). */
  output(): string;
}

/** Starts `agent-canary serve <args> --json` from the bundle in `cwd`, with `env` added to this process's. */
export function startServeCli(
  bundle: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
): ServeCli {
  const child = spawn(process.execPath, [bundle, 'serve', ...args, '--json'], {
    cwd,
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<ServeListening | undefined>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // `--json` prints one pretty-printed document.
      try {
        const document = JSON.parse(stdout) as ServeListening;
        if (document.ok) resolve(document);
      } catch {
        // not complete yet
      }
    });
    void exited.then(() => resolve(undefined));
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  return { child, listening, exited, output: () => `stdout:\n${stdout.slice(-4000)}\nstderr:\n${stderr}` };
}
