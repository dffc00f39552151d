/**
 * Queries of the drift monitor's tables: its persisted state, the alerts it raised and
 * cleared, and the behaviour baselines it froze (`@agent-canary/monitor` gives them their
 * full shape; the store keeps them as JSON).
 */
import type Database from 'better-sqlite3';
import type { StoredAlertEvidence, StoredBaselineShape, StoredMonitorAlert } from './records.js';

/** Everything one monitor tick writes (see {@link commitMonitorTick}). */
export interface MonitorCommitInput<State extends { readonly updatedAtMillis: number }> {
  readonly state: (raised: readonly number[]) => State;
  readonly raise?: readonly { readonly signal: string; readonly evidence: StoredAlertEvidence }[];
  readonly clear?: readonly { readonly id: number; readonly atMillis: number; readonly reason: string }[];
  readonly baseline?: StoredBaselineShape;
  readonly monitorId: string;
}

/** Ids of the monitors that persisted a state, most recently updated first. */
export function selectMonitorIds(db: Database.Database): string[] {
  const rows = db.prepare('SELECT monitor_id FROM monitor_state ORDER BY updated_at DESC, monitor_id').all() as {
    monitor_id: string;
  }[];
  return rows.map((row) => row.monitor_id);
}

/** The persisted state of a monitor, or undefined before its first tick. */
export function selectMonitorState<State>(db: Database.Database, monitorId: string): State | undefined {
  const row = db.prepare('SELECT state_json FROM monitor_state WHERE monitor_id = ?').get(monitorId) as
    | { state_json: string }
    | undefined;
  return row === undefined ? undefined : (JSON.parse(row.state_json) as State);
}

/**
 * Persists a monitor's state with the alerts it raises and clears and the baseline it
 * froze, in one transaction. Returns the ids of the raised alerts, in order.
 */
export function commitMonitorTick<State extends { readonly updatedAtMillis: number }>(
  db: Database.Database,
  input: MonitorCommitInput<State>,
): number[] {
  return db.transaction(() => {
    const raised: number[] = [];
    const insert = db.prepare(
      'INSERT INTO monitor_alerts (monitor_id, release_id, signal, raised_at, evidence_json) VALUES (?, ?, ?, ?, ?)',
    );
    for (const alert of input.raise ?? []) {
      const info = insert.run(
        input.monitorId,
        alert.evidence.release,
        alert.signal,
        alert.evidence.firstSeenAtMillis,
        JSON.stringify(alert.evidence),
      );
      raised.push(Number(info.lastInsertRowid));
    }
    const clear = db.prepare(
      'UPDATE monitor_alerts SET cleared_at = ?, clear_reason = ? WHERE id = ? AND cleared_at IS NULL',
    );
    for (const entry of input.clear ?? []) clear.run(entry.atMillis, entry.reason, entry.id);
    if (input.baseline) {
      db.prepare(
        'INSERT INTO behavior_baselines (monitor_id, release_id, frozen_at, baseline_json) VALUES (?, ?, ?, ?)',
      ).run(input.monitorId, input.baseline.release, input.baseline.frozenAtMillis, JSON.stringify(input.baseline));
    }
    const state = input.state(raised);
    db.prepare('INSERT OR REPLACE INTO monitor_state (monitor_id, state_json, updated_at) VALUES (?, ?, ?)').run(
      input.monitorId,
      JSON.stringify(state),
      state.updatedAtMillis,
    );
    return raised;
  })();
}

/** Drift alerts of a monitor, oldest first (`openOnly`: not yet cleared). */
export function selectMonitorAlerts<Signal extends string, Evidence extends StoredAlertEvidence>(
  db: Database.Database,
  monitorId: string,
  openOnly: boolean,
): StoredMonitorAlert<Signal, Evidence>[] {
  const rows = db
    .prepare(
      `SELECT * FROM monitor_alerts WHERE monitor_id = ? ${openOnly ? 'AND cleared_at IS NULL' : ''} ORDER BY id`,
    )
    .all(monitorId) as {
    id: number;
    monitor_id: string;
    release_id: string;
    signal: Signal;
    raised_at: number;
    cleared_at: number | null;
    clear_reason: string | null;
    evidence_json: string;
  }[];
  return rows.map((row) => ({
    id: row.id,
    monitorId: row.monitor_id,
    release: row.release_id,
    signal: row.signal,
    raisedAtMillis: row.raised_at,
    ...(row.cleared_at === null ? {} : { clearedAtMillis: row.cleared_at }),
    ...(row.clear_reason === null ? {} : { clearReason: row.clear_reason }),
    evidence: JSON.parse(row.evidence_json) as Evidence,
  }));
}

/** Baselines frozen for a release (any monitor), oldest first. */
export function selectBaselines<Baseline extends StoredBaselineShape>(
  db: Database.Database,
  releaseId: string,
): Baseline[] {
  const rows = db
    .prepare('SELECT baseline_json FROM behavior_baselines WHERE release_id = ? ORDER BY id')
    .all(releaseId) as { baseline_json: string }[];
  return rows.map((row) => JSON.parse(row.baseline_json) as Baseline);
}
