/** Starts the evaluate-loop child and turns its JSON lines into awaitable messages (tests and bench). */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A line printed by the child. */
export type ChildMessage =
  | { type: 'ready'; values: Record<string, string> }
  | { type: 'change'; key: string; value: string; variant: string; atMillis: number };

/** A running evaluate-loop child. */
export interface EvaluatingChild {
  readonly process: ChildProcess;
  /** Resolves with the first message (from now on, or already buffered) matching `predicate`. */
  next(predicate: (message: ChildMessage) => boolean, timeoutMillis?: number): Promise<ChildMessage>;
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');

/** Spawns the child with tsx and the source export condition. */
export function startEvaluatingChild(path: string, flagKey: string, keys: readonly string[]): EvaluatingChild {
  const child = spawn(
    join(ROOT, 'node_modules', '.bin', 'tsx'),
    ['--conditions=@agent-canary/source', join(import.meta.dirname, 'evaluate-loop.ts'), path, flagKey, keys.join(',')],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const buffered: ChildMessage[] = [];
  const waiters: { predicate: (m: ChildMessage) => boolean; resolve: (m: ChildMessage) => void }[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const message = JSON.parse(line) as ChildMessage;
    const index = waiters.findIndex((w) => w.predicate(message));
    if (index >= 0) waiters.splice(index, 1)[0]?.resolve(message);
    else buffered.push(message);
  });
  return {
    process: child,
    next(predicate, timeoutMillis = 20_000) {
      const index = buffered.findIndex(predicate);
      if (index >= 0) return Promise.resolve(buffered.splice(index, 1)[0] as ChildMessage);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`child did not report in ${timeoutMillis} ms; stderr: ${stderr}`)),
          timeoutMillis,
        );
        waiters.push({
          predicate,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin?.end();
        child.kill('SIGTERM');
      });
    },
  };
}
