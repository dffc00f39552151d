import type { RoutingSplit, Verdict } from '@agent-canary/conventions';
import type { GateResult, JsonValue } from '@agent-canary/gate';
import Database from 'better-sqlite3';
import { CONTROLLER_ERROR_CODE, ControllerError } from '../errors.js';
import type { RolloutConfig } from '../rollout/config.js';
import type {
  ManualAction,
  NotificationKind,
  RolloutEffect,
  RolloutState,
  Severity,
  TransitionRecord,
} from '../rollout/state.js';

/**
 * A release as stored: the release registry of `@agent-canary/monitor` gives it its full
 * shape; the store needs only its id and creation time.
 */
export interface StoredReleaseShape {
  readonly id: string;
  readonly createdAtMillis: number;
}

/** A status change of a release as stored (the registry gives `status` its values). */
export interface StoredReleaseEvent<Status extends string = string> {
  readonly status: Status;
  readonly atMillis: number;
  readonly reason: string;
  /** Who registered the change (`controller` for rollout-driven ones). */
  readonly actor: string;
  readonly rolloutId?: string;
}

/** Evidence of a drift alert as stored: the monitor gives it its full shape. */
export interface StoredAlertEvidence {
  readonly release: string;
  readonly firstSeenAtMillis: number;
}

/** A drift alert as stored. */
export interface StoredMonitorAlert<
  Signal extends string = string,
  Evidence extends StoredAlertEvidence = StoredAlertEvidence,
> {
  readonly id: number;
  readonly monitorId: string;
  readonly release: string;
  readonly signal: Signal;
  readonly raisedAtMillis: number;
  readonly clearedAtMillis?: number;
  readonly clearReason?: string;
  readonly evidence: Evidence;
}

/** A frozen behaviour baseline as stored. */
export interface StoredBaselineShape {
  readonly release: string;
  readonly frozenAtMillis: number;
}

/** One rollout as stored. */
export interface RolloutRecord {
  readonly id: string;
  readonly flagKey: string;
  readonly config: RolloutConfig;
  readonly state: RolloutState;
  /** The gate's opaque state from its last evaluation. */
  readonly gateState?: JsonValue;
  /** The last split the flag system acknowledged for this rollout. */
  readonly appliedSplit?: RoutingSplit;
  /** True while a routing write of this rollout waits in the outbox (set by the store when reading). */
  readonly routingWritePending?: boolean;
  readonly createdAtMillis: number;
  readonly updatedAtMillis: number;
}

/** A transition in the audit log. */
export interface StoredTransition extends TransitionRecord {
  readonly rolloutId: string;
  /** 1, 2, 3, ... per rollout. */
  readonly seq: number;
  /** Canary share after the transition, basis points (absent in stores written before schema 3). */
  readonly canaryBasisPoints?: number;
  /** Control share after the transition, basis points (absent like `canaryBasisPoints`). */
  readonly controlBasisPoints?: number;
}

/** One gate evaluation in the verdict history. */
export interface StoredVerdict {
  readonly rolloutId: string;
  readonly seq: number;
  readonly atMillis: number;
  readonly verdict: Verdict;
  readonly reason: string;
  readonly result: GateResult;
}

/** A manual action (accepted or refused) with who and why. */
export interface StoredManualAction {
  readonly rolloutId: string;
  readonly atMillis: number;
  readonly action: ManualAction;
  readonly actor: string;
  readonly reason: string;
  readonly accepted: boolean;
  /** The transition reason when accepted, the refusal message otherwise. */
  readonly outcome: string;
}

/** A notification and what happened to it. */
export interface StoredNotification {
  readonly id: number;
  readonly rolloutId: string;
  readonly atMillis: number;
  readonly kind: NotificationKind;
  readonly severity: Severity;
  readonly title: string;
  readonly notifier: string;
  readonly delivered: boolean;
  readonly attempts: number;
  readonly error?: string;
}

/** What is kept after a rollback to understand it later. */
export interface PostMortem {
  readonly rolloutId: string;
  readonly atMillis: number;
  readonly reason: string;
  readonly config: RolloutConfig;
  readonly state: RolloutState;
  readonly transitions: readonly StoredTransition[];
  readonly verdicts: readonly StoredVerdict[];
  /** `GateEvaluator.snapshot()` at the time of the rollback (absent when the gate has none or it failed). */
  readonly gateSnapshot?: JsonValue;
}

/** A side effect persisted with the state that produced it, removed once it has run. */
export interface PendingEffect {
  readonly id: number;
  readonly rolloutId: string;
  readonly effect: RolloutEffect;
}

/** Everything one reduce step writes, committed in ONE transaction. */
export interface CommitInput {
  readonly rolloutId: string;
  readonly state: RolloutState;
  /** Omit to keep the stored gate state. */
  readonly gateState?: JsonValue;
  readonly transition?: TransitionRecord;
  readonly verdict?: GateResult;
  readonly manualAction?: Omit<StoredManualAction, 'rolloutId'>;
  readonly effects?: readonly RolloutEffect[];
}

/** Options of {@link RolloutStore}. */
export interface RolloutStoreOptions {
  /** SQLite file, or `:memory:` for tests. @default ':memory:'. Env `AGENT_CANARY_STORE` is read by the CLI, not here. */
  readonly path?: string;
  /**
   * `normal` (WAL + synchronous=NORMAL) survives a killed process with every committed
   * tick; a power cut may lose the last few, which `restore()` reconciles (a routing
   * mismatch is held and alerted, never overwritten). `full` also fsyncs every commit,
   * which puts a disk flush between a rollback decision and its routing write.
   * @default 'normal'
   */
  readonly durability?: 'normal' | 'full';
}

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

/**
 * Durable rollout store: one SQLite file (WAL), schema versioned through `user_version`
 * and migrated on open. Every reduce step is committed in one transaction
 * ({@link RolloutStore.commit}), so a controller killed at any moment restarts from a
 * consistent state.
 *
 * @example
 * const store = new RolloutStore({ path: './agent-canary.db' });
 */
export class RolloutStore {
  private readonly db: Database.Database;

  constructor(options: RolloutStoreOptions = {}) {
    this.db = new Database(options.path ?? ':memory:');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(options.durability === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  /** Schema version of the open file. */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(): void {
    const current = this.schemaVersion;
    if (current > MIGRATIONS.length) {
      throw new ControllerError(
        CONTROLLER_ERROR_CODE.schemaTooNew,
        `store schema version ${current} is newer than this controller (${MIGRATIONS.length}); upgrade agent-canary`,
      );
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[version] ?? '');
        this.db.pragma(`user_version = ${version + 1}`);
      })();
    }
  }

  /** Inserts a new rollout. */
  createRollout(record: RolloutRecord): void {
    this.db
      .prepare(
        `INSERT INTO rollouts (id, flag_key, phase, config_json, state_json, gate_state_json, applied_split_json, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
  getRollout(id: string): RolloutRecord | undefined {
    const row = this.db.prepare(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts WHERE id = ?`).get(id) as
      | RolloutRow
      | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  /**
   * All rollouts, newest first. `activeOnly` keeps those not yet promoted, rolled back or
   * aborted; `routingPending` those whose latest split the flag system has not acknowledged
   * (in any phase: a rollback that has not landed yet).
   */
  listRollouts(
    options: { readonly activeOnly?: boolean; readonly flagKey?: string; readonly routingPending?: boolean } = {},
  ): RolloutRecord[] {
    const where: string[] = [];
    const params: string[] = [];
    if (options.activeOnly) where.push(`phase IN ('draft', 'canary', 'paused')`);
    if (options.routingPending) {
      where.push(`(${WRITE_PENDING} OR json_extract(state_json, '$.routingPending') IS NOT NULL)`);
    }
    if (options.flagKey !== undefined) {
      where.push('flag_key = ?');
      params.push(options.flagKey);
    }
    const sql = `SELECT ${ROLLOUT_COLUMNS} FROM rollouts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC`;
    return (this.db.prepare(sql).all(...params) as RolloutRow[]).map(toRecord);
  }

  /**
   * Persists one reduce step atomically: state, gate state, transition, verdict, manual
   * action and the effects still to run.
   */
  commit(input: CommitInput): void {
    this.db.transaction(() => {
      const state = input.state;
      const update =
        input.gateState === undefined
          ? this.db.prepare('UPDATE rollouts SET phase = ?, state_json = ?, updated_at = ? WHERE id = ?')
          : this.db.prepare(
              'UPDATE rollouts SET phase = ?, state_json = ?, updated_at = ?, gate_state_json = ? WHERE id = ?',
            );
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
      if (input.transition) {
        const t = input.transition;
        this.db
          .prepare(
            `INSERT INTO transitions (rollout_id, seq, at_millis, from_state, to_state, reason, actor, trigger, evidence_json, canary_bp, control_bp)
             VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM transitions WHERE rollout_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            input.rolloutId,
            input.rolloutId,
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
      if (input.verdict) {
        const v = input.verdict;
        this.db
          .prepare(
            `INSERT INTO verdicts (rollout_id, seq, at_millis, verdict, reason, result_json)
             VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM verdicts WHERE rollout_id = ?), ?, ?, ?, ?)`,
          )
          .run(input.rolloutId, input.rolloutId, v.evaluatedAtMillis, v.verdict, v.reason, JSON.stringify(v));
      }
      if (input.manualAction) {
        this.insertManualAction(input.rolloutId, input.manualAction);
      }
      const outbox = this.db.prepare('INSERT INTO outbox (rollout_id, effect_json) VALUES (?, ?)');
      for (const effect of input.effects ?? []) outbox.run(input.rolloutId, JSON.stringify(effect));
    })();
  }

  /** Records a manual action on its own (a refused one changes no state). */
  recordManualAction(rolloutId: string, action: Omit<StoredManualAction, 'rolloutId'>): void {
    this.insertManualAction(rolloutId, action);
  }

  private insertManualAction(rolloutId: string, a: Omit<StoredManualAction, 'rolloutId'>): void {
    this.db
      .prepare(
        'INSERT INTO manual_actions (rollout_id, at_millis, action, actor, reason, accepted, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(rolloutId, a.atMillis, a.action, a.actor, a.reason, a.accepted ? 1 : 0, a.outcome);
  }

  /** Effects committed but not yet completed, oldest first. */
  pendingEffects(rolloutId: string): PendingEffect[] {
    const rows = this.db
      .prepare('SELECT id, rollout_id, effect_json FROM outbox WHERE rollout_id = ? ORDER BY id')
      .all(rolloutId) as { id: number; rollout_id: string; effect_json: string }[];
    return rows.map((row) => ({
      id: row.id,
      rolloutId: row.rollout_id,
      effect: JSON.parse(row.effect_json) as RolloutEffect,
    }));
  }

  /** Marks an effect as done. */
  completeEffect(id: number): void {
    this.db.prepare('DELETE FROM outbox WHERE id = ?').run(id);
  }

  /** Records the split the flag system acknowledged. */
  setAppliedSplit(rolloutId: string, split: RoutingSplit): void {
    this.db.prepare('UPDATE rollouts SET applied_split_json = ? WHERE id = ?').run(JSON.stringify(split), rolloutId);
  }

  /** The audit log of a rollout, in order. */
  transitions(rolloutId: string): StoredTransition[] {
    const rows = this.db.prepare('SELECT * FROM transitions WHERE rollout_id = ? ORDER BY seq').all(rolloutId) as {
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
  verdicts(rolloutId: string, limit?: number): StoredVerdict[] {
    const rows = this.db
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
  manualActions(rolloutId: string): StoredManualAction[] {
    const rows = this.db.prepare('SELECT * FROM manual_actions WHERE rollout_id = ? ORDER BY id').all(rolloutId) as {
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

  /** Records a notification attempt (one row per notifier). */
  recordNotification(entry: Omit<StoredNotification, 'id'> & { readonly payload: unknown }): void {
    this.db
      .prepare(
        `INSERT INTO notifications (rollout_id, at_millis, kind, severity, title, notifier, delivered, attempts, error, payload_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
  notifications(rolloutId: string): StoredNotification[] {
    const rows = this.db.prepare('SELECT * FROM notifications WHERE rollout_id = ? ORDER BY id').all(rolloutId) as {
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
  savePostMortem(postMortem: PostMortem): void {
    this.db
      .prepare('INSERT OR REPLACE INTO post_mortems (rollout_id, at_millis, snapshot_json) VALUES (?, ?, ?)')
      .run(postMortem.rolloutId, postMortem.atMillis, JSON.stringify(postMortem));
  }

  /** The post-mortem of a rolled-back rollout, or undefined. */
  getPostMortem(rolloutId: string): PostMortem | undefined {
    const row = this.db.prepare('SELECT snapshot_json FROM post_mortems WHERE rollout_id = ?').get(rolloutId) as
      | { snapshot_json: string }
      | undefined;
    return row === undefined ? undefined : (JSON.parse(row.snapshot_json) as PostMortem);
  }

  // --- release registry ---

  /** Inserts a release and its first status; throws when the id exists. */
  insertRelease<Release extends StoredReleaseShape>(release: Release, initial: StoredReleaseEvent): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO releases (id, release_json, created_at) VALUES (?, ?, ?)')
        .run(release.id, JSON.stringify(release), release.createdAtMillis);
      this.insertReleaseEvent(release.id, initial);
    })();
  }

  /** The release with this id, or undefined. */
  getRelease<Release extends StoredReleaseShape = StoredReleaseShape>(id: string): Release | undefined {
    const row = this.db.prepare('SELECT release_json FROM releases WHERE id = ?').get(id) as
      | { release_json: string }
      | undefined;
    return row === undefined ? undefined : (JSON.parse(row.release_json) as Release);
  }

  /** Every release, newest first. */
  listStoredReleases<Release extends StoredReleaseShape = StoredReleaseShape>(): Release[] {
    const rows = this.db.prepare('SELECT release_json FROM releases ORDER BY created_at DESC, rowid DESC').all() as {
      release_json: string;
    }[];
    return rows.map((row) => JSON.parse(row.release_json) as Release);
  }

  /** Appends a status change recorded by hand (rollout-driven changes are derived from rollouts). */
  appendReleaseEvent(releaseId: string, change: StoredReleaseEvent): void {
    this.insertReleaseEvent(releaseId, change);
  }

  private insertReleaseEvent(releaseId: string, change: StoredReleaseEvent): void {
    this.db
      .prepare(
        'INSERT INTO release_events (release_id, at_millis, status, reason, actor, rollout_id) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(releaseId, change.atMillis, change.status, change.reason, change.actor, change.rolloutId ?? null);
  }

  /** Status changes recorded for a release, oldest first. */
  releaseEvents<Status extends string = string>(releaseId: string): StoredReleaseEvent<Status>[] {
    const rows = this.db
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

  // --- behaviour monitor ---

  /** Ids of the monitors that persisted a state, most recently updated first. */
  monitorIds(): string[] {
    const rows = this.db.prepare('SELECT monitor_id FROM monitor_state ORDER BY updated_at DESC, monitor_id').all() as {
      monitor_id: string;
    }[];
    return rows.map((row) => row.monitor_id);
  }

  /** The persisted state of a monitor, or undefined before its first tick. */
  getMonitorState<State>(monitorId: string): State | undefined {
    const row = this.db.prepare('SELECT state_json FROM monitor_state WHERE monitor_id = ?').get(monitorId) as
      | { state_json: string }
      | undefined;
    return row === undefined ? undefined : (JSON.parse(row.state_json) as State);
  }

  /**
   * Persists a monitor's state with the alerts it raises and clears and the baseline it
   * froze, in ONE transaction, so a restarted monitor neither repeats nor loses an alert.
   * Returns the ids of the raised alerts, in order.
   */
  commitMonitor<State extends { readonly updatedAtMillis: number }>(input: {
    readonly state: (raised: readonly number[]) => State;
    readonly raise?: readonly { readonly signal: string; readonly evidence: StoredAlertEvidence }[];
    readonly clear?: readonly { readonly id: number; readonly atMillis: number; readonly reason: string }[];
    readonly baseline?: StoredBaselineShape;
    readonly monitorId: string;
  }): number[] {
    return this.db.transaction(() => {
      const raised: number[] = [];
      const insert = this.db.prepare(
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
      const clear = this.db.prepare(
        'UPDATE monitor_alerts SET cleared_at = ?, clear_reason = ? WHERE id = ? AND cleared_at IS NULL',
      );
      for (const entry of input.clear ?? []) clear.run(entry.atMillis, entry.reason, entry.id);
      if (input.baseline) {
        this.db
          .prepare(
            'INSERT INTO behavior_baselines (monitor_id, release_id, frozen_at, baseline_json) VALUES (?, ?, ?, ?)',
          )
          .run(input.monitorId, input.baseline.release, input.baseline.frozenAtMillis, JSON.stringify(input.baseline));
      }
      const state = input.state(raised);
      this.db
        .prepare('INSERT OR REPLACE INTO monitor_state (monitor_id, state_json, updated_at) VALUES (?, ?, ?)')
        .run(input.monitorId, JSON.stringify(state), state.updatedAtMillis);
      return raised;
    })();
  }

  /** Drift alerts of a monitor, oldest first (`openOnly`: not yet cleared). */
  monitorAlerts<Signal extends string = string, Evidence extends StoredAlertEvidence = StoredAlertEvidence>(
    monitorId: string,
    options: { readonly openOnly?: boolean } = {},
  ): StoredMonitorAlert<Signal, Evidence>[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM monitor_alerts WHERE monitor_id = ? ${options.openOnly ? 'AND cleared_at IS NULL' : ''} ORDER BY id`,
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
  baselines<Baseline extends StoredBaselineShape = StoredBaselineShape>(releaseId: string): Baseline[] {
    const rows = this.db
      .prepare('SELECT baseline_json FROM behavior_baselines WHERE release_id = ? ORDER BY id')
      .all(releaseId) as { baseline_json: string }[];
    return rows.map((row) => JSON.parse(row.baseline_json) as Baseline);
  }

  /** Closes the database (idempotent). */
  close(): void {
    if (this.db.open) this.db.close();
  }
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
