/**
 * The real `agent-canary serve` command as a child process (the CLI's `bin.ts` under tsx,
 * as `pnpm agent-canary serve` runs it), for tests that kill and restart it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'packages', 'cli', 'src', 'bin.ts');
/** tsx's loader, resolved here: the process runs in a directory of its own. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

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

/** Starts `agent-canary serve <args> --json` in `cwd` with `env` added to this process's. */
export function startServeCli(args: readonly string[], cwd: string, env: Record<string, string>): ServeCli {
  const child = spawn(
    process.execPath,
    ['--import', TSX, '--conditions=@agent-canary/source', BIN, 'serve', ...args, '--json'],
    { cwd, env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
