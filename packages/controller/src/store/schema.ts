/**
 * The store's schema: the DDL of every version and the upgrade that runs on open. The
 * schema version lives in SQLite's `user_version`.
 */
import type Database from 'better-sqlite3';
import { CONTROLLER_ERROR_CODE, ControllerError } from '../errors.js';

/** Schema version this code writes. */
export const STORE_SCHEMA_VERSION = 3;

// Each entry migrates from version (index) to (index + 1). Append only; never edit a shipped one.
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    flag_key TEXT NOT NULL,
    phase TEXT NOT NULL,
    config_json TEXT NOT NULL,
    state_json TEXT NOT NULL,
    gate_state_json TEXT,
    applied_split_json TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX rollouts_flag ON rollouts (flag_key, phase);
  CREATE TABLE transitions (
    rollout_id TEXT NOT NULL REFERENCES rollouts (id),
    seq INTEGER NOT NULL,
    at_millis INTEGER NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    trigger TEXT NOT NULL,
    evidence_json TEXT,
    PRIMARY KEY (rollout_id, seq)
  );
  CREATE TABLE verdicts (
    rollout_id TEXT NOT NULL REFERENCES rollouts (id),
    seq INTEGER NOT NULL,
    at_millis INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT NOT NULL,
    result_json TEXT NOT NULL,
    PRIMARY KEY (rollout_id, seq)
  );
  CREATE TABLE manual_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT NOT NULL,
    at_millis INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    outcome TEXT NOT NULL
  );
  CREATE TABLE post_mortems (
    rollout_id TEXT PRIMARY KEY REFERENCES rollouts (id),
    at_millis INTEGER NOT NULL,
    snapshot_json TEXT NOT NULL
  );
  CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT NOT NULL,
    at_millis INTEGER NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    notifier TEXT NOT NULL,
    delivered INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT,
    payload_json TEXT NOT NULL
  );
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT NOT NULL,
    effect_json TEXT NOT NULL
  );
  `,
  // 2: release registry and behaviour monitoring.
  `
  CREATE TABLE releases (
    id TEXT PRIMARY KEY,
    release_json TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE release_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id TEXT NOT NULL REFERENCES releases (id),
    at_millis INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    rollout_id TEXT
  );
  CREATE INDEX release_events_release ON release_events (release_id, at_millis);
  CREATE TABLE monitor_state (
    monitor_id TEXT PRIMARY KEY,
    state_json TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE behavior_baselines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id TEXT NOT NULL,
    release_id TEXT NOT NULL,
    frozen_at INTEGER NOT NULL,
    baseline_json TEXT NOT NULL
  );
  CREATE TABLE monitor_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id TEXT NOT NULL,
    release_id TEXT NOT NULL,
    signal TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    cleared_at INTEGER,
    clear_reason TEXT,
    evidence_json TEXT NOT NULL
  );
  CREATE INDEX monitor_alerts_monitor ON monitor_alerts (monitor_id, raised_at);
  `,
  // 3: the split each transition left in place, so reports need not parse state labels.
  `
  ALTER TABLE transitions ADD COLUMN canary_bp INTEGER;
  ALTER TABLE transitions ADD COLUMN control_bp INTEGER;
  `,
];

/** Schema version of an open database file (`user_version`). */
export function schemaVersionOf(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings an open database to {@link STORE_SCHEMA_VERSION}, one transaction per step;
 * throws `schemaTooNew` when the file was written by a newer version.
 */
export function migrate(db: Database.Database): void {
  const current = schemaVersionOf(db);
  if (current > MIGRATIONS.length) {
    throw new ControllerError(
      CONTROLLER_ERROR_CODE.schemaTooNew,
      `store schema version ${current} is newer than this controller (${MIGRATIONS.length}); upgrade agent-canary`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] ?? '');
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
