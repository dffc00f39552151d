/**
 * Queries of the release registry's tables (`@agent-canary/monitor` gives releases and
 * their statuses their full shape; the store keeps them as JSON).
 */
import type Database from 'better-sqlite3';
import type { StoredReleaseEvent, StoredReleaseShape } from './records.js';

/** Inserts a release and its first status in one transaction; throws when the id exists. */
export function insertReleaseRow(
  db: Database.Database,
  release: StoredReleaseShape,
  initial: StoredReleaseEvent,
): void {
  db.transaction(() => {
    db.prepare('INSERT INTO releases (id, release_json, created_at) VALUES (?, ?, ?)').run(
      release.id,
      JSON.stringify(release),
      release.createdAtMillis,
    );
    insertReleaseEvent(db, release.id, initial);
  })();
}

/** The release with this id, or undefined. */
export function selectRelease<Release extends StoredReleaseShape>(
  db: Database.Database,
  id: string,
): Release | undefined {
  const row = db.prepare('SELECT release_json FROM releases WHERE id = ?').get(id) as
    | { release_json: string }
    | undefined;
  return row === undefined ? undefined : (JSON.parse(row.release_json) as Release);
}

/** Every release, newest first. */
export function selectReleases<Release extends StoredReleaseShape>(db: Database.Database): Release[] {
  const rows = db.prepare('SELECT release_json FROM releases ORDER BY created_at DESC, rowid DESC').all() as {
    release_json: string;
  }[];
  return rows.map((row) => JSON.parse(row.release_json) as Release);
}

/** Appends a status change of a release. */
export function insertReleaseEvent(db: Database.Database, releaseId: string, change: StoredReleaseEvent): void {
  db.prepare(
    'INSERT INTO release_events (release_id, at_millis, status, reason, actor, rollout_id) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(releaseId, change.atMillis, change.status, change.reason, change.actor, change.rolloutId ?? null);
}

/** Status changes recorded for a release, oldest first. */
export function selectReleaseEvents<Status extends string>(
  db: Database.Database,
  releaseId: string,
): StoredReleaseEvent<Status>[] {
  const rows = db
    .prepare('SELECT * FROM release_events WHERE release_id = ? ORDER BY at_millis, id')
    .all(releaseId) as {
    at_millis: number;
    status: Status;
    reason: string;
    actor: string;
    rollout_id: string | null;
  }[];
  return rows.map((row) => ({
    status: row.status,
    atMillis: row.at_millis,
    reason: row.reason,
    actor: row.actor,
    ...(row.rollout_id === null ? {} : { rolloutId: row.rollout_id }),
  }));
}
