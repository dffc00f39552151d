/**
 * Queries of the rollouts table and its outbox: create, read, list, the one-transaction
 * commit of a reduce step, and the effects still to run.
 */
import type { RoutingSplit } from '@agent-canary/conventions';
import type { JsonValue } from '@agent-canary/gate';
import type Database from 'better-sqlite3';
import { CONTROLLER_ERROR_CODE, ControllerError } from '../errors.js';
import type { RolloutConfig } from '../rollout/config.js';
import type { RolloutEffect, RolloutState } from '../rollout/state.js';
import { insertManualAction, insertTransition, insertVerdict } from './audit-queries.js';
import type { CommitInput, PendingEffect, RolloutRecord } from './records.js';

// A routing write still in the outbox (stores written before `routingPending` was kept in the state have only this).
const WRITE_PENDING = `EXISTS (SELECT 1 FROM outbox WHERE outbox.rollout_id = rollouts.id AND json_extract(outbox.effect_json, '$.type') = 'applySplit')`;
const ROLLOUT_COLUMNS = `rollouts.*, ${WRITE_PENDING} AS routing_write_pending`;

interface RolloutRow {
  routing_write_pending: number;
  id: string;
  flag_key: string;
  config_json: string;
  state_json: string;
  gate_state_json: string | null;
  applied_split_json: string | null;
  created_at: number;
  updated_at: number;
}

/** Filters of {@link selectRollouts}. */
export interface RolloutFilter {
  readonly activeOnly?: boolean;
  readonly flagKey?: string;
  readonly routingPending?: boolean;
}

/** Inserts a new rollout. */
export function insertRollout(db: Database.Database, record: RolloutRecord): void {
  db.prepare(
    `INSERT INTO rollouts (id, flag_key, phase, config_json, state_json, gate_state_json, applied_split_json, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    record.id,
    record.flagKey,
    record.state.phase,
    JSON.stringify(record.config),
    JSON.stringify(record.state),
    record.gateState === undefined ? null : JSON.stringify(record.gateState),
    record.appliedSplit === undefined ? null : JSON.stringify(record.appliedSplit),
    record.createdAtMillis,
    record.updatedAtMillis,
  );
}

/** The rollout with this id, or undefined. */
export function selectRollout(db: Database.Database, id: string): RolloutRecord | undefined {
  const row = db.prepare(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts WHERE id = ?`).get(id) as RolloutRow | undefined;
  return row === undefined ? undefined : toRecord(row);
}

/** Rollouts matching `filter`, newest first. */
export function selectRollouts(db: Database.Database, filter: RolloutFilter): RolloutRecord[] {
  const where: string[] = [];
  const params: string[] = [];
  if (filter.activeOnly) where.push(`phase IN ('draft', 'canary', 'paused')`);
  if (filter.routingPending) {
    where.push(`(${WRITE_PENDING} OR json_extract(state_json, '$.routingPending') IS NOT NULL)`);
  }
  if (filter.flagKey !== undefined) {
    where.push('flag_key = ?');
    params.push(filter.flagKey);
  }
  const sql = `SELECT ${ROLLOUT_COLUMNS} FROM rollouts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC`;
  return (db.prepare(sql).all(...params) as RolloutRow[]).map(toRecord);
}

/**
 * Persists one reduce step in one transaction: state, gate state, transition, verdict,
 * manual action and the effects still to run. Throws `rolloutNotFound` (and writes
 * nothing) when the rollout is not in the store.
 */
export function commitStep(db: Database.Database, input: CommitInput): void {
  db.transaction(() => {
    const state = input.state;
    const update =
      input.gateState === undefined
        ? db.prepare('UPDATE rollouts SET phase = ?, state_json = ?, updated_at = ? WHERE id = ?')
        : db.prepare('UPDATE rollouts SET phase = ?, state_json = ?, updated_at = ?, gate_state_json = ? WHERE id = ?');
    const changes =
      input.gateState === undefined
        ? update.run(state.phase, JSON.stringify(state), state.updatedAtMillis, input.rolloutId).changes
        : update.run(
            state.phase,
            JSON.stringify(state),
            state.updatedAtMillis,
            JSON.stringify(input.gateState),
            input.rolloutId,
          ).changes;
    if (changes !== 1) {
      throw new ControllerError(CONTROLLER_ERROR_CODE.rolloutNotFound, `no rollout ${input.rolloutId} in the store`);
    }
    if (input.transition) insertTransition(db, input.rolloutId, input.transition, state);
    if (input.verdict) insertVerdict(db, input.rolloutId, input.verdict);
    if (input.manualAction) insertManualAction(db, input.rolloutId, input.manualAction);
    const outbox = db.prepare('INSERT INTO outbox (rollout_id, effect_json) VALUES (?, ?)');
    for (const effect of input.effects ?? []) outbox.run(input.rolloutId, JSON.stringify(effect));
  })();
}

/** Effects committed but not yet completed, oldest first. */
export function selectPendingEffects(db: Database.Database, rolloutId: string): PendingEffect[] {
  const rows = db
    .prepare('SELECT id, rollout_id, effect_json FROM outbox WHERE rollout_id = ? ORDER BY id')
    .all(rolloutId) as { id: number; rollout_id: string; effect_json: string }[];
  return rows.map((row) => ({
    id: row.id,
    rolloutId: row.rollout_id,
    effect: JSON.parse(row.effect_json) as RolloutEffect,
  }));
}

/** Removes a completed effect from the outbox. */
export function deleteEffect(db: Database.Database, id: number): void {
  db.prepare('DELETE FROM outbox WHERE id = ?').run(id);
}

/** Records the split the flag system acknowledged. */
export function updateAppliedSplit(db: Database.Database, rolloutId: string, split: RoutingSplit): void {
  db.prepare('UPDATE rollouts SET applied_split_json = ? WHERE id = ?').run(JSON.stringify(split), rolloutId);
}

function toRecord(row: RolloutRow): RolloutRecord {
  return {
    id: row.id,
    flagKey: row.flag_key,
    config: JSON.parse(row.config_json) as RolloutConfig,
    state: JSON.parse(row.state_json) as RolloutState,
    ...(row.gate_state_json === null ? {} : { gateState: JSON.parse(row.gate_state_json) as JsonValue }),
    ...(row.applied_split_json === null ? {} : { appliedSplit: JSON.parse(row.applied_split_json) as RoutingSplit }),
    ...(row.routing_write_pending === 1 ? { routingWritePending: true } : {}),
    createdAtMillis: row.created_at,
    updatedAtMillis: row.updated_at,
  };
}
