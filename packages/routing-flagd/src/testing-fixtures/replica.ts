/** Starts sync-replica children and turns their JSON lines into awaitable messages (tests and bench). */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A line printed by a replica. */
export type ReplicaMessage =
  | { type: 'ready'; values: Record<string, string> }
  | { type: 'change'; key: string; value: string; variant: string; atMillis: number };

/** A running replica. */
export interface Replica {
  readonly process: ChildProcess;
  /** Resolves with the first message (from now on, or already buffered) matching `predicate`. */
  next(predicate: (message: ReplicaMessage) => boolean, timeoutMillis?: number): Promise<ReplicaMessage>;
  stop(): Promise<void>;
}

/** Options of {@link startSyncReplica}. */
export interface ReplicaOptions {
  readonly host?: string;
  readonly port: number;
  readonly flagKey: string;
  readonly subjects: readonly string[];
  /** The provider's `retryBackoffMaxMs` (its wait before reconnecting after a stream error). */
  readonly retryBackoffMaxMs?: number;
}

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');

/** Spawns an app replica (tsx, source export condition) synced from the flagd sync server at `host:port`. */
export function startSyncReplica(options: ReplicaOptions): Replica {
  const args = [
    '--conditions=@agent-canary/source',
    join(import.meta.dirname, 'sync-replica.ts'),
    options.host ?? '127.0.0.1',
    String(options.port),
    options.flagKey,
    options.subjects.join(','),
    ...(options.retryBackoffMaxMs === undefined ? [] : [String(options.retryBackoffMaxMs)]),
  ];
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const buffered: ReplicaMessage[] = [];
  const waiters: { predicate: (m: ReplicaMessage) => boolean; resolve: (m: ReplicaMessage) => void }[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = `${stderr}${String(chunk)}`.slice(-4_000);
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const message = JSON.parse(line) as ReplicaMessage;
    const index = waiters.findIndex((w) => w.predicate(message));
    if (index >= 0) waiters.splice(index, 1)[0]?.resolve(message);
    else buffered.push(message);
  });
  return {
    process: child,
    next(predicate, timeoutMillis = 30_000) {
      const index = buffered.findIndex(predicate);
      if (index >= 0) return Promise.resolve(buffered.splice(index, 1)[0] as ReplicaMessage);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`replica did not report in ${timeoutMillis} ms; stderr: ${stderr}`)),
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
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.stdin?.end();
        child.kill('SIGTERM');
      });
    },
  };
}
