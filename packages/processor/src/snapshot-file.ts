import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
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

/** @internal Writes snapshots to one file atomically (temporary file, then rename), one at a time. */
export class SnapshotFileWriter {
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  /** Queues a write of the snapshot `take` returns when its turn comes; failures go to diag. */
  write(take: () => ProcessorSnapshot): Promise<void> {
    const path = this.path;
    this.writes = this.writes.then(async () => {
      const temporary = `${path}.${process.pid}.tmp`;
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
