import { randomUUID } from 'node:crypto';
import {
  ConfigError,
  ROUTING_ERROR_CODE,
  type RoutingAdapter,
  RoutingError,
  type RoutingSplit,
  retryDelayMillis,
  sameSplit,
} from '@agent-canary/conventions';
import type { GateContext, GateEvaluator, GateResult, JsonValue } from '@agent-canary/gate';
import { diag } from '@opentelemetry/api';
import { CONTROLLER_ERROR_CODE, ControllerError } from '../errors.js';
import { deliverAndRecord, type Notification, type Notifier } from '../notify/notifier.js';
import { type RolloutConfig, type RolloutOptions, resolveRolloutConfig } from '../rollout/config.js';
import { initialRolloutState, reduce } from '../rollout/reducer.js';
import {
  type AlertKind,
  isFinalPhase,
  type ManualAction,
  type RolloutEffect,
  type RolloutEvent,
  type RolloutPhase,
  type SplitShares,
} from '../rollout/state.js';
import type { RolloutRecord } from '../store/records.js';
import type { RolloutStore } from '../store/store.js';

/** Timer functions the driver schedules ticks with (inject fakes in tests). */
export interface Scheduler {
  setTimeout(callback: () => void, delayMillis: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** How the controller retries a routing write the flag system has not acknowledged. */
export interface RoutingRetryOptions {
  /** Delay before the first retry; doubles with each failed retry. @default 1000 */
  readonly initialDelayMillis?: number;
  /** Cap of one delay: the longest a recovered flag system waits for the write. @default 10000 */
  readonly maxDelayMillis?: number;
  /** Random share of each delay removed, 0..1 (spreads retries of many controllers). @default 0.5 */
  readonly jitter?: number;
  /** Injected for tests. @default Math.random */
  readonly random?: () => number;
}

/** Defaults of {@link RolloutControllerOptions}. */
export const CONTROLLER_DEFAULTS = Object.freeze({
  routingRetry: Object.freeze({ initialDelayMillis: 1_000, maxDelayMillis: 10_000, jitter: 0.5 }),
  routingAlertRepeatMillis: 10 * 60_000,
});

/** Options of {@link RolloutController}. */
export interface RolloutControllerOptions {
  readonly store: RolloutStore;
  readonly routing: RoutingAdapter;
  readonly gate: GateEvaluator;
  /** @default [] */
  readonly notifiers?: readonly Notifier[];
  /** Epoch-milliseconds clock. @default Date.now */
  readonly clock?: () => number;
  /** @default the global setTimeout / clearTimeout */
  readonly scheduler?: Scheduler;
  /** Environment read when resolving rollout options. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Back-off of the retries `run()` makes of a routing write the flag system has not
   * acknowledged, whatever the rollout's phase (a rollback above all), until it lands.
   * @default { initialDelayMillis: 1000, maxDelayMillis: 10000, jitter: 0.5 }
   */
  readonly routingRetry?: RoutingRetryOptions;
  /** While a routing write keeps failing, the `routing_pending` alert is sent again this often. @default 600000 (10 min) */
  readonly routingAlertRepeatMillis?: number;
}

/** A manual action's who and why (stored in the audit log). */
export interface ActionInput {
  readonly actor: string;
  readonly reason: string;
}

/** Where the flag system stands with the controller's split (part of {@link RolloutStatus}). */
export interface RolloutRoutingStatus {
  /**
   * True while the flag system has not acknowledged the split the controller decided: after
   * a rollback, users are still routed to the canary ("rolled back — routing pending").
   */
  readonly pending: boolean;
  /**
   * What the flag system routes, as far as the controller knows: read back after the last
   * failed write (`read_back`), else the last split it acknowledged (`acknowledged`).
   * Absent when nothing is known (no split acknowledged yet and no read-back).
   */
  readonly routed?: SplitShares & { readonly source: 'acknowledged' | 'read_back'; readonly atMillis?: number };
  /** When the pending split was decided. */
  readonly pendingSinceMillis?: number;
  /** Failed write attempts of the pending split. */
  readonly failedAttempts: number;
  readonly lastFailedAtMillis?: number;
  /** The adapter's message of the last failure. */
  readonly lastError?: string;
}

/** What `status()` reports. */
export interface RolloutStatus {
  readonly rolloutId: string;
  readonly flagKey: string;
  readonly canaryRelease: string;
  readonly stableRelease: string;
  readonly phase: RolloutPhase;
  /** True while the flag system has not acknowledged the controller's split (see `routing`). */
  readonly routingPending: boolean;
  readonly stepIndex: number;
  /** Canary percentage of the current step. */
  readonly stepPercent: number;
  /** Canary share the controller decided (what the flag system routes is in `routing`). */
  readonly canaryBasisPoints: number;
  /** Control share the controller decided. */
  readonly controlBasisPoints: number;
  readonly awaitingApproval: boolean;
  readonly alerts: readonly AlertKind[];
  readonly reason: string;
  readonly lastVerdict?: GateResult['verdict'];
  /** When the flag system acknowledged the current split. */
  readonly routingSeenAtMillis?: number;
  readonly routing: RolloutRoutingStatus;
  readonly startedAtMillis?: number;
  readonly updatedAtMillis: number;
  readonly config: RolloutConfig;
}

/** Result of a manual action: refused actions are results, not exceptions. */
export type ActionResult =
  | { readonly ok: true; readonly status: RolloutStatus }
  | { readonly ok: false; readonly error: ControllerError; readonly status: RolloutStatus };

/** Result of one tick. */
export interface TickResult {
  /** False when nothing was evaluated (final phase, or the gate failed). */
  readonly evaluated: boolean;
  readonly status: RolloutStatus;
  readonly gate?: GateResult;
}

/**
 * The {@link RolloutStatus} of a stored rollout: the same shape {@link RolloutController.status}
 * returns, for rollouts this process does not drive (an API listing history, a report).
 *
 * @example
 * const record = store.getRollout('r-42');
 * const status = record === undefined ? undefined : rolloutStatusOf(record);
 */
export function rolloutStatusOf(record: RolloutRecord): RolloutStatus {
  const state = record.state;
  const routing = routingStatusOf(record);
  return {
    rolloutId: record.id,
    flagKey: record.flagKey,
    canaryRelease: record.config.canaryRelease,
    stableRelease: record.config.stableRelease,
    phase: state.phase,
    routingPending: routing.pending,
    stepIndex: state.stepIndex,
    stepPercent: record.config.steps[state.stepIndex]?.percent ?? 0,
    canaryBasisPoints: state.canaryBasisPoints,
    controlBasisPoints: state.controlBasisPoints,
    awaitingApproval: state.awaitingApproval,
    alerts: state.alerts,
    reason: state.reason,
    ...(state.lastVerdict === undefined ? {} : { lastVerdict: state.lastVerdict }),
    ...(state.routingSeenAtMillis === undefined ? {} : { routingSeenAtMillis: state.routingSeenAtMillis }),
    routing,
    ...(state.startedAtMillis === undefined ? {} : { startedAtMillis: state.startedAtMillis }),
    updatedAtMillis: state.updatedAtMillis,
    config: record.config,
  };
}

function routingStatusOf(record: RolloutRecord): RolloutRoutingStatus {
  const pending = record.state.routingPending;
  const routed = routedSharesOf(record);
  return {
    // A write still in the outbox counts too (stores written before the state kept `routingPending`).
    pending: pending !== undefined || record.routingWritePending === true,
    ...(routed === undefined ? {} : { routed }),
    ...(pending === undefined ? {} : { pendingSinceMillis: pending.sinceMillis }),
    failedAttempts: pending?.failedAttempts ?? 0,
    ...(pending?.lastFailedAtMillis === undefined ? {} : { lastFailedAtMillis: pending.lastFailedAtMillis }),
    ...(pending?.lastError === undefined ? {} : { lastError: pending.lastError }),
  };
}

function routedSharesOf(record: RolloutRecord): RolloutRoutingStatus['routed'] {
  const observed = record.state.routingPending?.observed;
  if (observed !== undefined) {
    return {
      canaryBasisPoints: observed.canaryBasisPoints,
      controlBasisPoints: observed.controlBasisPoints,
      source: 'read_back',
      atMillis: observed.atMillis,
    };
  }
  const applied = record.appliedSplit;
  if (applied === undefined) return undefined;
  return {
    canaryBasisPoints: applied.canaryBasisPoints,
    controlBasisPoints: applied.controlBasisPoints,
    source: 'acknowledged',
  };
}

/**
 * The thin driver around the pure reducer: evaluates the gate, reduces, persists state,
 * transition and verdict in one transaction, then runs the effects (routing writes,
 * notifications, post-mortem) from a persisted outbox, so a crash between persisting and
 * acting is repaired by {@link RolloutController.restore}.
 *
 * @example
 * const controller = new RolloutController({ store, routing, gate, notifiers: [webhookNotifier({ url })] });
 * await controller.start({ flagKey: 'agent-release', canaryRelease: 'v2', stableRelease: 'v1' });
 * controller.run();
 */
export class RolloutController {
  private readonly store: RolloutStore;
  private readonly routing: RoutingAdapter;
  private readonly gate: GateEvaluator;
  private readonly notifiers: readonly Notifier[];
  private readonly clock: () => number;
  private readonly scheduler: Scheduler;
  private readonly env: Readonly<Record<string, string | undefined>> | undefined;
  private readonly routingRetry: RoutingRetryOptions;
  private readonly routingAlertRepeatMillis: number;
  private rolloutId: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: unknown;
  private retryTimer: unknown;
  private retryAttempts = 0;
  /** `run()` was called and `stop()` was not: ticks and routing retries may be scheduled. */
  private running = false;
  /** The tick loop is scheduled (until the rollout ends). */
  private ticking = false;
  private draining = false;
  /** Restored without an id: once a finished rollout's pending write lands, continue with the active one. */
  private follow = false;

  constructor(options: RolloutControllerOptions) {
    this.store = options.store;
    this.routing = options.routing;
    this.gate = options.gate;
    this.notifiers = options.notifiers ?? [];
    this.clock = options.clock ?? Date.now;
    this.scheduler = options.scheduler ?? {
      setTimeout: (callback, delayMillis) => setTimeout(callback, delayMillis),
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    this.env = options.env;
    this.routingRetry = { ...CONTROLLER_DEFAULTS.routingRetry, ...options.routingRetry };
    this.routingAlertRepeatMillis = options.routingAlertRepeatMillis ?? CONTROLLER_DEFAULTS.routingAlertRepeatMillis;
    for (const [path, value] of [
      ['routingRetry.initialDelayMillis', this.routingRetry.initialDelayMillis],
      ['routingRetry.maxDelayMillis', this.routingRetry.maxDelayMillis],
      ['routingAlertRepeatMillis', this.routingAlertRepeatMillis],
    ] as const) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new ConfigError({ path, expected: 'a positive number of milliseconds', received: value });
      }
    }
  }

  /**
   * Creates a rollout and starts it: routes the first step's share to the canary.
   * Throws {@link ConfigError} for bad options and {@link ControllerError} when another
   * rollout of the same flag is running (`AGENT_CANARY_ROLLOUT_ACTIVE`) or has a routing
   * write the flag system has not acknowledged (`AGENT_CANARY_ROUTING_PENDING`).
   */
  start(options: RolloutOptions, actor = 'controller'): Promise<RolloutStatus> {
    return this.serialize(async () => {
      const config = resolveRolloutConfig(options, this.env);
      const active = this.store.listRollouts({ activeOnly: true, flagKey: config.flagKey });
      if (active.length > 0) {
        throw new ControllerError(
          CONTROLLER_ERROR_CODE.rolloutActive,
          `rollout ${active[0]?.id} of flag ${config.flagKey} is still ${active[0]?.state.phase}; finish or abort it first`,
        );
      }
      const unsettled = this.store.listRollouts({ routingPending: true, flagKey: config.flagKey })[0];
      if (unsettled !== undefined) {
        throw new ControllerError(
          CONTROLLER_ERROR_CODE.routingPending,
          `rollout ${unsettled.id} of flag ${config.flagKey} (${unsettled.state.phase}) has a routing write the flag system has not acknowledged; ` +
            'a controller running it retries until it lands (or re-assert it with a rollback); start the new rollout after that',
        );
      }
      const now = this.clock();
      const id = config.id ?? `${config.flagKey}-${randomUUID().slice(0, 8)}`;
      const state = initialRolloutState(id, now);
      this.store.createRollout({
        id,
        flagKey: config.flagKey,
        config,
        state,
        createdAtMillis: now,
        updatedAtMillis: now,
      });
      this.rolloutId = id;
      await this.dispatch({ type: 'start', atMillis: now, actor });
      return this.status();
    });
  }

  /**
   * Continues a rollout from the store after a restart: runs effects that were persisted but
   * not completed, and re-applies the split of an active rollout, idempotently. Without an
   * id it first takes the newest rollout with a routing write the flag system has not
   * acknowledged, whatever its phase (a rollback that has not landed comes before anything
   * else), then the newest active one; `run()` retries the pending write and, once it lands,
   * moves on to the active rollout. Returns undefined when there is nothing to continue.
   */
  restore(rolloutId?: string): Promise<RolloutStatus | undefined> {
    return this.serialize(async () => {
      this.follow = rolloutId === undefined;
      if (rolloutId !== undefined) {
        const record = this.store.getRollout(rolloutId);
        if (record === undefined) return undefined;
        await this.load(record.id);
        return this.status();
      }
      const unsettled = this.store.listRollouts({ routingPending: true })[0];
      if (unsettled !== undefined) {
        await this.load(unsettled.id);
        if (this.writePending() || !isFinalPhase(this.record().state.phase)) return this.status();
      }
      const active = this.store.listRollouts({ activeOnly: true })[0];
      if (active === undefined) return undefined;
      await this.load(active.id);
      return this.status();
    });
  }

  /** Makes `rolloutId` the driven rollout: runs its leftover effects, re-applies an active rollout's split. */
  private async load(rolloutId: string): Promise<void> {
    this.rolloutId = rolloutId;
    this.retryAttempts = 0;
    await this.runPendingEffects();
    const current = this.record();
    if (current.state.phase === 'draft' || isFinalPhase(current.state.phase) || this.writePending()) return;
    // The crash may have hit between persisting a state and writing its split, or the flag
    // may have been changed meanwhile: write it again through the outbox, like any write.
    this.store.commit({
      rolloutId: current.id,
      state: current.state,
      effects: [
        {
          type: 'applySplit',
          canaryBasisPoints: current.state.canaryBasisPoints,
          controlBasisPoints: current.state.controlBasisPoints,
          reason: 'restore: re-applying the current split',
        },
      ],
    });
    await this.runPendingEffects();
  }

  /**
   * Retries unfinished routing writes, then evaluates the gate once and acts on its verdict
   * (not for a finished rollout). Never throws for gate or routing failures.
   */
  tick(): Promise<TickResult> {
    return this.serialize(async () => {
      const record = this.record();
      if (record.state.phase === 'draft') return { evaluated: false, status: this.status() };
      await this.runPendingEffects();
      if (isFinalPhase(this.record().state.phase)) return { evaluated: false, status: this.status() };
      const now = this.clock();
      const context = this.gateContext(this.record(), now);
      let evaluation: { result: GateResult; state: JsonValue };
      try {
        evaluation = await this.gate.evaluate(context);
      } catch (error) {
        diag.error(`agent-canary: gate evaluation of rollout ${record.id} failed; holding`, error);
        return { evaluated: false, status: this.status() };
      }
      await this.dispatch({ type: 'tick', atMillis: now, gate: evaluation.result }, evaluation);
      return { evaluated: true, status: this.status(), gate: evaluation.result };
    });
  }

  /** Stops advancing (rollback protection stays on). */
  pause(input: ActionInput): Promise<ActionResult> {
    return this.manual('pause', input);
  }

  /** Resumes a paused rollout; after a routing conflict, re-asserts the controller's split. */
  resume(input: ActionInput): Promise<ActionResult> {
    return this.manual('resume', input);
  }

  /** Promotes to 100% now, skipping the remaining steps. */
  promote(input: ActionInput): Promise<ActionResult> {
    return this.manual('promote', input);
  }

  /** Approves a promotion the rollout is waiting for (`requireApproval`). */
  approve(input: ActionInput): Promise<ActionResult> {
    return this.manual('approve', input);
  }

  /**
   * Rolls back now (canary and control to 0) and keeps a post-mortem. On a rollout that
   * already rolled back or was aborted it writes the stable split again (re-asserts it),
   * unless a newer rollout of the flag is running.
   */
  rollback(input: ActionInput): Promise<ActionResult> {
    return this.manual('rollback', input);
  }

  /** Cancels the rollout; routes everything to stable if it had started. */
  abort(input: ActionInput): Promise<ActionResult> {
    return this.manual('abort', input);
  }

  /** The current rollout's status. Throws {@link ControllerError} when no rollout is loaded. */
  status(): RolloutStatus {
    return rolloutStatusOf(this.record());
  }

  /**
   * Ticks every `tickIntervalMillis` until the rollout ends, and retries a routing write the
   * flag system has not acknowledged (with `routingRetry` back-off) until it lands, also
   * after the rollout ended, until {@link RolloutController.stop} is called.
   */
  run(): void {
    this.running = true;
    if (!this.ticking && !isFinalPhase(this.record().state.phase)) {
      this.ticking = true;
      this.schedule();
    }
    this.scheduleRoutingRetry();
  }

  /** Stops the tick loop and the routing retries (idempotent). The store and the routing adapter stay open: their owner closes them. */
  stop(): void {
    this.running = false;
    this.ticking = false;
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.retryTimer !== undefined) this.scheduler.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Resolves when queued ticks and actions have finished. */
  async idle(): Promise<void> {
    await this.queue.catch(() => undefined);
  }

  private schedule(): void {
    const interval = this.record().config.tickIntervalMillis;
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = undefined;
      void this.tick()
        .catch((error: unknown) => diag.error('agent-canary: controller tick failed', error))
        .then(() => {
          if (this.running && !isFinalPhase(this.record().state.phase)) this.schedule();
          else this.ticking = false;
        });
    }, interval);
  }

  /** True while a routing write of the driven rollout waits for the flag system. */
  private writePending(): boolean {
    return this.rolloutId !== undefined && this.record().routingWritePending === true;
  }

  /** Schedules the next retry of a pending routing write (one at a time), or resets the back-off once none is left. */
  private scheduleRoutingRetry(): void {
    if (!this.running || this.retryTimer !== undefined || this.rolloutId === undefined) return;
    if (!this.writePending()) {
      this.retryAttempts = 0;
      return;
    }
    this.retryAttempts++;
    const delay = retryDelayMillis(this.retryAttempts, this.routingRetry);
    // The handle stays set while the retry runs, so no second loop starts meanwhile.
    const handle = this.scheduler.setTimeout(() => {
      void this.serialize(() => this.retryRouting())
        .catch((error: unknown) => diag.error('agent-canary: routing retry failed', error))
        .then(() => {
          // stop() (and a later run()) may have replaced this loop: then it ends here.
          if (this.retryTimer !== handle) return;
          this.retryTimer = undefined;
          this.scheduleRoutingRetry();
        });
    }, delay);
    this.retryTimer = handle;
  }

  private async retryRouting(): Promise<void> {
    await this.runPendingEffects();
    if (!this.follow || this.writePending() || !isFinalPhase(this.record().state.phase)) return;
    // The finished rollout's write landed: continue with the active rollout, as restore() would have.
    this.follow = false;
    const active = this.store.listRollouts({ activeOnly: true })[0];
    if (active === undefined) return;
    await this.load(active.id);
    if (this.running && !this.ticking && !isFinalPhase(this.record().state.phase)) {
      this.ticking = true;
      this.schedule();
    }
  }

  private manual(action: ManualAction, input: ActionInput): Promise<ActionResult> {
    return this.serialize(async () => {
      const now = this.clock();
      const record = this.record();
      if (action === 'rollback' && isFinalPhase(record.state.phase)) {
        // Re-asserting an ended rollout's stable split would overwrite a newer rollout's routing.
        const newer = this.store
          .listRollouts({ activeOnly: true, flagKey: record.flagKey })
          .find((other) => other.id !== record.id);
        if (newer !== undefined) {
          const error = new ControllerError(
            CONTROLLER_ERROR_CODE.rolloutActive,
            `cannot rollback: rollout ${record.id} is ${record.state.phase} and rollout ${newer.id} of flag ${record.flagKey} is ${newer.state.phase}; roll back ${newer.id} instead`,
          );
          this.store.recordManualAction(record.id, {
            atMillis: now,
            action,
            actor: input.actor,
            reason: input.reason,
            accepted: false,
            outcome: error.message,
          });
          return { ok: false, error, status: this.status() };
        }
      }
      const rejected = await this.dispatch({
        type: action,
        atMillis: now,
        actor: input.actor,
        reason: input.reason,
      });
      if (rejected) return { ok: false, error: rejected, status: this.status() };
      return { ok: true, status: this.status() };
    });
  }

  /** Reduces one event, commits it with its effects, runs them. Returns the refusal of a manual action. */
  private async dispatch(
    event: RolloutEvent,
    evaluation?: { result: GateResult; state: JsonValue },
  ): Promise<ControllerError | undefined> {
    const record = this.record();
    const result = reduce(record.state, event, record.config);
    const manual =
      'actor' in event && event.type !== 'start'
        ? { atMillis: event.atMillis, action: event.type, actor: event.actor, reason: event.reason }
        : undefined;
    if (result.rejected) {
      if (manual)
        this.store.recordManualAction(record.id, { ...manual, accepted: false, outcome: result.rejected.message });
      return result.rejected;
    }
    this.store.commit({
      rolloutId: record.id,
      state: result.state,
      ...(evaluation ? { gateState: evaluation.state, verdict: evaluation.result } : {}),
      ...(result.transition ? { transition: result.transition } : {}),
      ...(manual ? { manualAction: { ...manual, accepted: true, outcome: result.state.reason } } : {}),
      effects: result.effects,
    });
    await this.runPendingEffects();
    return undefined;
  }

  private async runPendingEffects(): Promise<void> {
    const rolloutId = this.rolloutId;
    // Effects can dispatch events (routing acknowledged / failed / conflict) whose effects join
    // the outbox; the outer drain picks them up, so a nested call has nothing to do.
    if (rolloutId === undefined || this.draining) return;
    this.draining = true;
    try {
      await this.drainOutbox(rolloutId);
    } finally {
      this.draining = false;
    }
    // A write the flag system did not take is retried with back-off, whatever the phase.
    this.scheduleRoutingRetry();
  }

  private async drainOutbox(rolloutId: string): Promise<void> {
    const attempted = new Set<number>();
    for (;;) {
      const pending = this.store.pendingEffects(rolloutId);
      const next = pending.find((p) => !attempted.has(p.id));
      if (next === undefined) return;
      attempted.add(next.id);
      const { id, effect } = next;
      if (effect.type === 'applySplit') {
        const lastApply = pending.filter((p) => p.effect.type === 'applySplit').at(-1);
        // A newer split supersedes an older one that never landed.
        const done = id !== lastApply?.id || (await this.applySplit(this.record(), effect));
        if (done) this.store.completeEffect(id);
      } else if (effect.type === 'notify') {
        await this.notify(this.record(), effect);
        this.store.completeEffect(id);
      } else {
        await this.snapshotPostMortem(this.record(), effect.reason);
        this.store.completeEffect(id);
      }
    }
  }

  /** Returns true when the effect is settled (applied, or refused because of a hand change). */
  private async applySplit(
    record: RolloutRecord,
    effect: Extract<RolloutEffect, { type: 'applySplit' }>,
  ): Promise<boolean> {
    const desired: RoutingSplit = {
      flagKey: record.flagKey,
      rolloutId: record.id,
      canaryRelease: record.config.canaryRelease,
      stableRelease: record.config.stableRelease,
      canaryBasisPoints: effect.canaryBasisPoints,
      controlBasisPoints: effect.controlBasisPoints,
    };
    const exposing = effect.canaryBasisPoints > 0 && record.state.phase !== 'promoted';
    if (exposing && !effect.overrideHandChange && record.appliedSplit !== undefined) {
      let current: RoutingSplit | undefined;
      try {
        current = await this.routing.read(record.flagKey);
      } catch (error) {
        if (error instanceof RoutingError && error.code === ROUTING_ERROR_CODE.flagShape) {
          // A flag we cannot read as a split was edited outside the controller: hold, do not guess.
          await this.dispatch({ type: 'routingConflict', atMillis: this.clock(), expected: record.appliedSplit });
          return true;
        }
        diag.warn(`agent-canary: reading routing of ${record.flagKey} failed; will retry`, error);
        await this.routingFailed(desired, describeError(error), false);
        return false;
      }
      // Rollbacks always go through (safety first); wider exposure never overwrites a hand edit.
      if (!sameSplit(current, record.appliedSplit) && !sameSplit(current, desired)) {
        await this.dispatch({
          type: 'routingConflict',
          atMillis: this.clock(),
          ...(current ? { observed: current } : {}),
          expected: record.appliedSplit,
        });
        return true;
      }
    }
    let result: Awaited<ReturnType<RoutingAdapter['apply']>>;
    try {
      result = await this.routing.apply(desired);
    } catch (error) {
      // Even "permanent" errors (permissions, a token, a missing flag) are an operator's to
      // fix: the write stays pending, is retried with back-off and alerted until it lands.
      diag.error(`agent-canary: routing apply for ${record.flagKey} threw; will retry`, error);
      await this.routingFailed(desired, describeError(error));
      return false;
    }
    if (!result.acknowledged) {
      const reason = `not acknowledged after ${result.attempts} attempts: ${result.reason ?? 'no reason given'}`;
      diag.warn(`agent-canary: routing apply for ${record.flagKey} ${reason}; will retry`);
      await this.routingFailed(desired, reason);
      return false;
    }
    this.store.setAppliedSplit(record.id, {
      ...desired,
      ...(result.version === undefined ? {} : { version: result.version }),
    });
    const seenAtMillis = result.acknowledgedAtMillis ?? this.clock();
    await this.dispatch({
      type: 'routingApplied',
      atMillis: this.clock(),
      canaryBasisPoints: desired.canaryBasisPoints,
      controlBasisPoints: desired.controlBasisPoints,
      seenAtMillis,
    });
    return true;
  }

  /**
   * Records a failed write (the reducer raises and repeats the alert) with what the flag
   * system still routes, read back here unless the caller knows the read fails.
   */
  private async routingFailed(desired: RoutingSplit, reason: string, readBack = true): Promise<void> {
    let seen: SplitShares | undefined;
    if (readBack) {
      try {
        const current = await this.routing.read(desired.flagKey);
        // No flag at all: the app falls back to its default, the stable release.
        seen = current ?? { canaryBasisPoints: 0, controlBasisPoints: 0 };
      } catch (error) {
        diag.warn(`agent-canary: reading routing of ${desired.flagKey} back failed too`, error);
      }
    }
    await this.dispatch({
      type: 'routingFailed',
      atMillis: this.clock(),
      canaryBasisPoints: desired.canaryBasisPoints,
      controlBasisPoints: desired.controlBasisPoints,
      reason,
      ...(seen === undefined
        ? {}
        : { observed: { canaryBasisPoints: seen.canaryBasisPoints, controlBasisPoints: seen.controlBasisPoints } }),
      alertRepeatMillis: this.routingAlertRepeatMillis,
    });
  }

  private async notify(record: RolloutRecord, effect: Extract<RolloutEffect, { type: 'notify' }>): Promise<void> {
    // What users get, not what was decided: the decision rides along while it is pending.
    const routed = routedSharesOf(record);
    const pending = record.state.routingPending;
    const notification: Notification = {
      ...effect.notification,
      rolloutId: record.id,
      flagKey: record.flagKey,
      canaryRelease: record.config.canaryRelease,
      stableRelease: record.config.stableRelease,
      canaryBasisPoints: routed?.canaryBasisPoints ?? 0,
      controlBasisPoints: routed?.controlBasisPoints ?? 0,
      ...(pending === undefined
        ? {}
        : {
            pendingSplit: {
              canaryBasisPoints: pending.canaryBasisPoints,
              controlBasisPoints: pending.controlBasisPoints,
              sinceMillis: pending.sinceMillis,
            },
          }),
      atMillis: this.clock(),
    };
    await deliverAndRecord(this.notifiers, notification, this.store, record.id, 'agent-canary');
  }

  private async snapshotPostMortem(record: RolloutRecord, reason: string): Promise<void> {
    let gateSnapshot: JsonValue | undefined;
    if (this.gate.snapshot) {
      try {
        gateSnapshot = await this.gate.snapshot(this.gateContext(record, this.clock()));
      } catch (error) {
        diag.warn(`agent-canary: gate snapshot for the post-mortem of ${record.id} failed`, error);
      }
    }
    this.store.savePostMortem({
      rolloutId: record.id,
      atMillis: this.clock(),
      reason,
      config: record.config,
      state: record.state,
      transitions: this.store.transitions(record.id),
      verdicts: this.store.verdicts(record.id),
      ...(gateSnapshot === undefined ? {} : { gateSnapshot }),
    });
  }

  private gateContext(record: RolloutRecord, now: number): GateContext {
    return {
      rolloutId: record.id,
      flagKey: record.flagKey,
      canaryRelease: record.config.canaryRelease,
      stableRelease: record.config.stableRelease,
      startedAtMillis: record.state.startedAtMillis ?? record.createdAtMillis,
      nowMillis: now,
      canaryBasisPoints: record.state.canaryBasisPoints,
      controlBasisPoints: record.state.controlBasisPoints,
      ...(record.gateState === undefined ? {} : { state: record.gateState }),
    };
  }

  private record(): RolloutRecord {
    const record = this.rolloutId === undefined ? undefined : this.store.getRollout(this.rolloutId);
    if (record === undefined) {
      throw new ControllerError(
        CONTROLLER_ERROR_CODE.rolloutNotFound,
        this.rolloutId === undefined
          ? 'no rollout: call start() or restore() first'
          : `no rollout ${this.rolloutId} in the store`,
      );
    }
    return record;
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
