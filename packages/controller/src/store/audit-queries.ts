/**
 * Queries of the audit log: transitions, verdicts, manual actions, notifications and
 * post-mortems. Writes run inside the caller's transaction when it has one.
 */
import type { Verdict } from '@agent-canary/conventions';
import type { GateResult } from '@agent-canary/gate';
import type Database from 'better-sqlite3';
import type { ManualAction, NotificationKind, RolloutState, Severity, TransitionRecord } from '../rollout/state.js';
import type { PostMortem, StoredManualAction, StoredNotification, StoredTransition, StoredVerdict } from './records.js';

/** Appends a transition with the next sequence number and the split `state` leaves in place. */
export function insertTransition(
  db: Database.Database,
  rolloutId: string,
  t: TransitionRecord,
  state: Pick<RolloutState, 'canaryBasisPoints' | 'controlBasisPoints'>,
): void {
  db.prepare(
    `INSERT INTO transitions (rollout_id, seq, at_millis, from_state, to_state, reason, actor, trigger, evidence_json, canary_bp, control_bp)
     VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM transitions WHERE rollout_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    rolloutId,
    rolloutId,
    t.atMillis,
    t.from,
    t.to,
    t.reason,
    t.actor,
    t.trigger,
    t.evidence === undefined ? null : JSON.stringify(t.evidence),
    state.canaryBasisPoints,
    state.controlBasisPoints,
  );
}

/** Appends a gate evaluation with the next sequence number. */
export function insertVerdict(db: Database.Database, rolloutId: string, v: GateResult): void {
  db.prepare(
    `INSERT INTO verdicts (rollout_id, seq, at_millis, verdict, reason, result_json)
     VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM verdicts WHERE rollout_id = ?), ?, ?, ?, ?)`,
  ).run(rolloutId, rolloutId, v.evaluatedAtMillis, v.verdict, v.reason, JSON.stringify(v));
}

/** Appends a manual action (accepted or refused). */
export function insertManualAction(
  db: Database.Database,
  rolloutId: string,
  a: Omit<StoredManualAction, 'rolloutId'>,
): void {
  db.prepare(
    'INSERT INTO manual_actions (rollout_id, at_millis, action, actor, reason, accepted, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ).run(rolloutId, a.atMillis, a.action, a.actor, a.reason, a.accepted ? 1 : 0, a.outcome);
}

/** The audit log of a rollout, in order. */
export function selectTransitions(db: Database.Database, rolloutId: string): StoredTransition[] {
  const rows = db.prepare('SELECT * FROM transitions WHERE rollout_id = ? ORDER BY seq').all(rolloutId) as {
    rollout_id: string;
    seq: number;
    at_millis: number;
    from_state: string;
    to_state: string;
    reason: string;
    actor: string;
    trigger: TransitionRecord['trigger'];
    evidence_json: string | null;
    canary_bp: number | null;
    control_bp: number | null;
  }[];
  return rows.map((row) => ({
    rolloutId: row.rollout_id,
    seq: row.seq,
    atMillis: row.at_millis,
    from: row.from_state,
    to: row.to_state,
    reason: row.reason,
    actor: row.actor,
    trigger: row.trigger,
    ...(row.evidence_json === null ? {} : { evidence: JSON.parse(row.evidence_json) as GateResult }),
    ...(row.canary_bp === null || row.control_bp === null
      ? {}
      : { canaryBasisPoints: row.canary_bp, controlBasisPoints: row.control_bp }),
  }));
}

/** Verdict history of a rollout, oldest first (`limit`: only the latest n). */
export function selectVerdicts(db: Database.Database, rolloutId: string, limit?: number): StoredVerdict[] {
  const rows = db
    .prepare(`SELECT * FROM (SELECT * FROM verdicts WHERE rollout_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`)
    .all(rolloutId, limit ?? -1) as {
    rollout_id: string;
    seq: number;
    at_millis: number;
    verdict: Verdict;
    reason: string;
    result_json: string;
  }[];
  return rows.map((row) => ({
    rolloutId: row.rollout_id,
    seq: row.seq,
    atMillis: row.at_millis,
    verdict: row.verdict,
    reason: row.reason,
    result: JSON.parse(row.result_json) as GateResult,
  }));
}

/** Manual actions of a rollout, oldest first. */
export function selectManualActions(db: Database.Database, rolloutId: string): StoredManualAction[] {
  const rows = db.prepare('SELECT * FROM manual_actions WHERE rollout_id = ? ORDER BY id').all(rolloutId) as {
    rollout_id: string;
    at_millis: number;
    action: ManualAction;
    actor: string;
    reason: string;
    accepted: number;
    outcome: string;
  }[];
  return rows.map((row) => ({
    rolloutId: row.rollout_id,
    atMillis: row.at_millis,
    action: row.action,
    actor: row.actor,
    reason: row.reason,
    accepted: row.accepted === 1,
    outcome: row.outcome,
  }));
}

/** Appends a notification attempt (one row per notifier). */
export function insertNotification(
  db: Database.Database,
  entry: Omit<StoredNotification, 'id'> & { readonly payload: unknown },
): void {
  db.prepare(
    `INSERT INTO notifications (rollout_id, at_millis, kind, severity, title, notifier, delivered, attempts, error, payload_json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    entry.rolloutId,
    entry.atMillis,
    entry.kind,
    entry.severity,
    entry.title,
    entry.notifier,
    entry.delivered ? 1 : 0,
    entry.attempts,
    entry.error ?? null,
    JSON.stringify(entry.payload),
  );
}

/** Notifications of a rollout, oldest first. */
export function selectNotifications(db: Database.Database, rolloutId: string): StoredNotification[] {
  const rows = db.prepare('SELECT * FROM notifications WHERE rollout_id = ? ORDER BY id').all(rolloutId) as {
    id: number;
    rollout_id: string;
    at_millis: number;
    kind: NotificationKind;
    severity: Severity;
    title: string;
    notifier: string;
    delivered: number;
    attempts: number;
    error: string | null;
  }[];
  return rows.map((row) => ({
    id: row.id,
    rolloutId: row.rollout_id,
    atMillis: row.at_millis,
    kind: row.kind,
    severity: row.severity,
    title: row.title,
    notifier: row.notifier,
    delivered: row.delivered === 1,
    attempts: row.attempts,
    ...(row.error === null ? {} : { error: row.error }),
  }));
}

/** Stores (or replaces) the post-mortem of a rollout. */
export function upsertPostMortem(db: Database.Database, postMortem: PostMortem): void {
  db.prepare('INSERT OR REPLACE INTO post_mortems (rollout_id, at_millis, snapshot_json) VALUES (?, ?, ?)').run(
    postMortem.rolloutId,
    postMortem.atMillis,
    JSON.stringify(postMortem),
  );
}

/** The post-mortem of a rolled-back rollout, or undefined. */
export function selectPostMortem(db: Database.Database, rolloutId: string): PostMortem | undefined {
  const row = db.prepare('SELECT snapshot_json FROM post_mortems WHERE rollout_id = ?').get(rolloutId) as
    | { snapshot_json: string }
    | undefined;
  return row === undefined ? undefined : (JSON.parse(row.snapshot_json) as PostMortem);
}
