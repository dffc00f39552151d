/**
 * The durable rollout store: opens the SQLite file, migrates it (`schema.ts`) and
 * gives one method per query; the SQL lives in the `*-queries.ts` modules of this folder.
 */
import type { RoutingSplit } from '@agent-canary/conventions';
import Database from 'better-sqlite3';
import {
  insertManualAction,
  insertNotification,
  selectManualActions,
  selectNotifications,
  selectPostMortem,
  selectTransitions,
  selectVerdicts,
  upsertPostMortem,
} from './audit-queries.js';
import {
  commitMonitorTick,
  selectBaselines,
  selectMonitorAlerts,
  selectMonitorIds,
  selectMonitorState,
} from './monitor-queries.js';
import type {
  CommitInput,
  PendingEffect,
  PostMortem,
  RolloutRecord,
  StoredAlertEvidence,
  StoredBaselineShape,
  StoredManualAction,
  StoredMonitorAlert,
  StoredNotification,
  StoredReleaseEvent,
  StoredReleaseShape,
  StoredTransition,
  StoredVerdict,
} from './records.js';
import {
  insertReleaseEvent,
  insertReleaseRow,
  selectRelease,
  selectReleaseEvents,
  selectReleases,
} from './release-queries.js';
import {
  commitStep,
  deleteEffect,
  insertRollout,
  selectPendingEffects,
  selectRollout,
  selectRollouts,
  updateAppliedSplit,
} from './rollout-queries.js';
import { migrate, schemaVersionOf } from './schema.js';

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
    migrate(this.db);
  }

  /** Schema version of the open file. */
  get schemaVersion(): number {
    return schemaVersionOf(this.db);
  }

  /**
   * Inserts a new rollout; with `firstStep`, also its first reduce step (the start), in the
   * same transaction, so a crash never leaves a rollout that was created but not started.
   */
  createRollout(record: RolloutRecord, firstStep?: Omit<CommitInput, 'rolloutId'>): void {
    this.db.transaction(() => {
      insertRollout(this.db, record);
      if (firstStep !== undefined) commitStep(this.db, { ...firstStep, rolloutId: record.id });
    })();
  }

  /** The rollout with this id, or undefined. */
  getRollout(id: string): RolloutRecord | undefined {
    return selectRollout(this.db, id);
  }

  /**
   * All rollouts, newest first. `activeOnly` keeps those not yet promoted, rolled back or
   * aborted; `routingPending` those whose latest split the flag system has not acknowledged
   * (in any phase: a rollback that has not landed yet).
   */
  listRollouts(
    options: { readonly activeOnly?: boolean; readonly flagKey?: string; readonly routingPending?: boolean } = {},
  ): RolloutRecord[] {
    return selectRollouts(this.db, options);
  }

  /**
   * Persists one reduce step atomically: state, gate state, transition, verdict, manual
   * action and the effects still to run.
   */
  commit(input: CommitInput): void {
    commitStep(this.db, input);
  }

  /** Records a manual action on its own (a refused one changes no state). */
  recordManualAction(rolloutId: string, action: Omit<StoredManualAction, 'rolloutId'>): void {
    insertManualAction(this.db, rolloutId, action);
  }

  /** Effects committed but not yet completed, oldest first. */
  pendingEffects(rolloutId: string): PendingEffect[] {
    return selectPendingEffects(this.db, rolloutId);
  }

  /** Marks an effect as done. */
  completeEffect(id: number): void {
    deleteEffect(this.db, id);
  }

  /** Records the split the flag system acknowledged. */
  setAppliedSplit(rolloutId: string, split: RoutingSplit): void {
    updateAppliedSplit(this.db, rolloutId, split);
  }

  /** The audit log of a rollout, in order. */
  transitions(rolloutId: string): StoredTransition[] {
    return selectTransitions(this.db, rolloutId);
  }

  /** Verdict history of a rollout, oldest first (`limit`: only the latest n). */
  verdicts(rolloutId: string, limit?: number): StoredVerdict[] {
    return selectVerdicts(this.db, rolloutId, limit);
  }

  /** Manual actions of a rollout, oldest first. */
  manualActions(rolloutId: string): StoredManualAction[] {
    return selectManualActions(this.db, rolloutId);
  }

  /** Records a notification attempt (one row per notifier). */
  recordNotification(entry: Omit<StoredNotification, 'id'> & { readonly payload: unknown }): void {
    insertNotification(this.db, entry);
  }

  /** Notifications of a rollout, oldest first. */
  notifications(rolloutId: string): StoredNotification[] {
    return selectNotifications(this.db, rolloutId);
  }

  /** Stores (or replaces) the post-mortem of a rollout. */
  savePostMortem(postMortem: PostMortem): void {
    upsertPostMortem(this.db, postMortem);
  }

  /** The post-mortem of a rolled-back rollout, or undefined. */
  getPostMortem(rolloutId: string): PostMortem | undefined {
    return selectPostMortem(this.db, rolloutId);
  }

  // --- release registry ---

  /** Inserts a release and its first status; throws when the id exists. */
  insertRelease<Release extends StoredReleaseShape>(release: Release, initial: StoredReleaseEvent): void {
    insertReleaseRow(this.db, release, initial);
  }

  /** The release with this id, or undefined. */
  getRelease<Release extends StoredReleaseShape = StoredReleaseShape>(id: string): Release | undefined {
    return selectRelease<Release>(this.db, id);
  }

  /** Every release, newest first. */
  listStoredReleases<Release extends StoredReleaseShape = StoredReleaseShape>(): Release[] {
    return selectReleases<Release>(this.db);
  }

  /** Appends a status change recorded by hand (rollout-driven changes are derived from rollouts). */
  appendReleaseEvent(releaseId: string, change: StoredReleaseEvent): void {
    insertReleaseEvent(this.db, releaseId, change);
  }

  /** Status changes recorded for a release, oldest first. */
  releaseEvents<Status extends string = string>(releaseId: string): StoredReleaseEvent<Status>[] {
    return selectReleaseEvents<Status>(this.db, releaseId);
  }

  // --- behaviour monitor ---

  /** Ids of the monitors that persisted a state, most recently updated first. */
  monitorIds(): string[] {
    return selectMonitorIds(this.db);
  }

  /** The persisted state of a monitor, or undefined before its first tick. */
  getMonitorState<State>(monitorId: string): State | undefined {
    return selectMonitorState<State>(this.db, monitorId);
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
    return commitMonitorTick(this.db, input);
  }

  /** Drift alerts of a monitor, oldest first (`openOnly`: not yet cleared). */
  monitorAlerts<Signal extends string = string, Evidence extends StoredAlertEvidence = StoredAlertEvidence>(
    monitorId: string,
    options: { readonly openOnly?: boolean } = {},
  ): StoredMonitorAlert<Signal, Evidence>[] {
    return selectMonitorAlerts<Signal, Evidence>(this.db, monitorId, options.openOnly === true);
  }

  /** Baselines frozen for a release (any monitor), oldest first. */
  baselines<Baseline extends StoredBaselineShape = StoredBaselineShape>(releaseId: string): Baseline[] {
    return selectBaselines<Baseline>(this.db, releaseId);
  }

  /** Closes the database (idempotent). */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
