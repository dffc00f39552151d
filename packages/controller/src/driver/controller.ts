import { randomUUID } from 'node:crypto';
import {
  ROUTING_ERROR_CODE,
  type RoutingAdapter,
  RoutingError,
  type RoutingSplit,
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
} from '../rollout/state.js';
import type { RolloutRecord, RolloutStore } from '../store/store.js';

/** Timer functions the driver schedules ticks with (inject fakes in tests). */
export interface Scheduler {
  setTimeout(callback: () => void, delayMillis: number): unknown;
  clearTimeout(handle: unknown): void;
}

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
}

/** A manual action's who and why (stored in the audit log). */
export interface ActionInput {
  readonly actor: string;
  readonly reason: string;
}

/** What `status()` reports. */
export interface RolloutStatus {
  readonly rolloutId: string;
  readonly flagKey: string;
  readonly canaryRelease: string;
  readonly stableRelease: string;
  readonly phase: RolloutPhase;
  readonly stepIndex: number;
  /** Canary percentage of the current step. */
  readonly stepPercent: number;
  readonly canaryBasisPoints: number;
  readonly controlBasisPoints: number;
  readonly awaitingApproval: boolean;
  readonly alerts: readonly AlertKind[];
  readonly reason: string;
  readonly lastVerdict?: GateResult['verdict'];
  /** When the flag system acknowledged the current split. */
  readonly routingSeenAtMillis?: number;
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
  return {
    rolloutId: record.id,
    flagKey: record.flagKey,
    canaryRelease: record.config.canaryRelease,
    stableRelease: record.config.stableRelease,
    phase: state.phase,
    stepIndex: state.stepIndex,
    stepPercent: record.config.steps[state.stepIndex]?.percent ?? 0,
    canaryBasisPoints: state.canaryBasisPoints,
    controlBasisPoints: state.controlBasisPoints,
    awaitingApproval: state.awaitingApproval,
    alerts: state.alerts,
    reason: state.reason,
    ...(state.lastVerdict === undefined ? {} : { lastVerdict: state.lastVerdict }),
    ...(state.routingSeenAtMillis === undefined ? {} : { routingSeenAtMillis: state.routingSeenAtMillis }),
    ...(state.startedAtMillis === undefined ? {} : { startedAtMillis: state.startedAtMillis }),
    updatedAtMillis: state.updatedAtMillis,
    config: record.config,
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
  private rolloutId: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: unknown;
  private running = false;
  private draining = false;

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
  }

  /**
   * Creates a rollout and starts it: routes the first step's share to the canary.
   * Throws {@link ConfigError} for bad options and {@link ControllerError} when another
   * rollout of the same flag is running.
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
   * Continues a rollout from the store after a restart (the newest active one when no id
   * is given): runs effects that were persisted but not completed, and re-applies the
   * current split, idempotently. Returns undefined when there is nothing to continue.
   */
  restore(rolloutId?: string): Promise<RolloutStatus | undefined> {
    return this.serialize(async () => {
      const record =
        rolloutId === undefined ? this.store.listRollouts({ activeOnly: true })[0] : this.store.getRollout(rolloutId);
      if (record === undefined) return undefined;
      this.rolloutId = record.id;
      await this.runPendingEffects();
      const current = this.record();
      if (current.state.phase !== 'draft') {
        // The crash may have hit between persisting a state and writing its split.
        await this.applySplit(current, {
          type: 'applySplit',
          canaryBasisPoints: current.state.canaryBasisPoints,
          controlBasisPoints: current.state.controlBasisPoints,
          reason: 'restore: re-applying the current split',
        });
      }
      return this.status();
    });
  }

  /** Evaluates the gate once and acts on its verdict. Never throws for gate or routing failures. */
  tick(): Promise<TickResult> {
    return this.serialize(async () => {
      const record = this.record();
      if (isFinalPhase(record.state.phase) || record.state.phase === 'draft') {
        return { evaluated: false, status: this.status() };
      }
      await this.runPendingEffects();
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

  /** Rolls back now (canary and control to 0) and keeps a post-mortem. */
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

  /** Ticks every `tickIntervalMillis` until the rollout ends or {@link RolloutController.stop} is called. */
  run(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  /** Stops the tick loop (idempotent). The store and the routing adapter stay open: their owner closes them. */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
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
          else this.running = false;
        });
    }, interval);
  }

  private manual(action: ManualAction, input: ActionInput): Promise<ActionResult> {
    return this.serialize(async () => {
      const now = this.clock();
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
    // Effects can dispatch events (routing acknowledged / conflict) whose effects join the
    // outbox; the outer drain picks them up, so a nested call has nothing to do.
    if (rolloutId === undefined || this.draining) return;
    this.draining = true;
    try {
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
    } finally {
      this.draining = false;
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
      diag.error(`agent-canary: routing apply for ${record.flagKey} threw; will retry next tick`, error);
      return false;
    }
    if (!result.acknowledged) {
      diag.warn(
        `agent-canary: routing apply for ${record.flagKey} not acknowledged after ${result.attempts} attempts (${result.reason ?? 'no reason'}); will retry next tick`,
      );
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

  private async notify(record: RolloutRecord, effect: Extract<RolloutEffect, { type: 'notify' }>): Promise<void> {
    const notification: Notification = {
      ...effect.notification,
      rolloutId: record.id,
      flagKey: record.flagKey,
      canaryRelease: record.config.canaryRelease,
      stableRelease: record.config.stableRelease,
      canaryBasisPoints: record.state.canaryBasisPoints,
      controlBasisPoints: record.state.controlBasisPoints,
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
