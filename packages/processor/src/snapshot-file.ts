import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { diag } from '@opentelemetry/api';
import type { ProcessorSnapshot } from './snapshot.js';

/**
 * @internal Reads the snapshot at `path` into `merge`; a missing file is no snapshot, an
 * unreadable one (or one `merge` refuses) is reported through diag and skipped.
 */
export function restoreSnapshotFile(path: string, merge: (snapshot: ProcessorSnapshot) => void): void {
  if (!existsSync(path)) return;
  try {
    merge(JSON.parse(readFileSync(path, 'utf8')) as ProcessorSnapshot);
  } catch (error) {
    diag.warn(`agent-canary behaviour processor: could not restore the snapshot at ${path}; starting empty`, error);
  }
}

/** The temporary file a write goes through before its rename: `<path>.<pid>.tmp`. */
function temporaryPathOf(path: string, pid: number): string {
  return `${path}.${pid}.tmp`;
}

/** False only when no process has this pid; a process we may not signal (EPERM) exists. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * @internal Removes the temporary files of writes to `path` that never reached their
 * rename (the process was killed in between): `<path>.<pid>.tmp` of this process, which
 * has not written yet, or of a process that no longer exists. Other files, and those of
 * live processes, are left alone. Failures go to diag.
 */
export function removeStaleTemporaryFiles(path: string): void {
  const directory = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    // A missing directory holds no stale file; the first write reports it.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      diag.warn(`agent-canary behaviour processor: could not list ${directory} for stale snapshot files`, error);
    }
    return;
  }
  for (const name of names) {
    const pidText = name.startsWith(prefix) && name.endsWith('.tmp') ? name.slice(prefix.length, -'.tmp'.length) : '';
    if (!/^[1-9][0-9]{0,9}$/.test(pidText)) continue;
    const pid = Number(pidText);
    if (pid !== process.pid && processExists(pid)) continue;
    const stale = join(directory, name);
    try {
      unlinkSync(stale);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        diag.warn(`agent-canary behaviour processor: could not remove the stale snapshot file ${stale}`, error);
      }
    }
  }
}

/** @internal Writes snapshots to one file atomically (temporary file, then rename), one at a time. */
export class SnapshotFileWriter {
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  /** Queues a write of the snapshot `take` returns when its turn comes; failures go to diag. */
  write(take: () => ProcessorSnapshot): Promise<void> {
    const path = this.path;
    this.writes = this.writes.then(async () => {
      const temporary = temporaryPathOf(path, process.pid);
      try {
        await writeFile(temporary, JSON.stringify(take()));
        await rename(temporary, path);
      } catch (error) {
        diag.error(`agent-canary behaviour processor: could not write the snapshot to ${path}`, error);
      }
    });
    return this.writes;
  }
}
