/**
 * The rollout driver: `RolloutController` feeds events to the pure reducer, commits each
 * step with its effects in one transaction, runs the effects from the outbox
 * (`effects.ts`), and keeps the tick loop and the routing-write retries going.
 */
import { randomUUID } from 'node:crypto';
import { retryDelayMillis } from '@agent-canary/conventions';
import type { GateEvaluator, GateResult, JsonValue } from '@agent-canary/gate';
import { diag } from '@opentelemetry/api';
import { CONTROLLER_ERROR_CODE, ControllerError } from '../errors.js';
import { type RolloutOptions, resolveRolloutConfig } from '../rollout/config.js';
import { initialRolloutState, reduce } from '../rollout/reducer.js';
import { isFinalPhase, type ManualAction, type RolloutEvent } from '../rollout/state.js';
import type { RolloutRecord } from '../store/records.js';
import type { RolloutStore } from '../store/store.js';
import { drainOutbox, type EffectContext, gateContext } from './effects.js';
import { staleRollbackRefusal, startRefusal } from './flag-guard.js';
import {
  type RolloutControllerOptions,
  type RoutingRetryOptions,
  resolveRoutingRetrySettings,
  type Scheduler,
} from './options.js';
import { type ActionInput, type ActionResult, type RolloutStatus, rolloutStatusOf, type TickResult } from './status.js';

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
  private readonly gate: GateEvaluator;
  private readonly clock: () => number;
  private readonly scheduler: Scheduler;
  private readonly env: Readonly<Record<string, string | undefined>> | undefined;
  private readonly routingRetry: RoutingRetryOptions;
  /** What the effect runners of `effects.ts` work with. */
  private readonly effects: EffectContext;
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
    this.gate = options.gate;
    this.clock = options.clock ?? Date.now;
    this.scheduler = options.scheduler ?? {
      setTimeout: (callback, delayMillis) => setTimeout(callback, delayMillis),
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    this.env = options.env;
    const { routingRetry, routingAlertRepeatMillis } = resolveRoutingRetrySettings(options);
    this.routingRetry = routingRetry;
    this.effects = {
      store: options.store,
      routing: options.routing,
      gate: options.gate,
      notifiers: options.notifiers ?? [],
      clock: this.clock,
      routingAlertRepeatMillis,
      dispatch: (event) => this.dispatch(event),
    };
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
      const refusal = startRefusal(this.store, config.flagKey);
      if (refusal) throw refusal;
      const now = this.clock();
      const id = config.id ?? `${config.flagKey}-${randomUUID().slice(0, 8)}`;
      const state = initialRolloutState(id, now);
      const started = reduce(state, { type: 'start', atMillis: now, actor }, config);
      if (started.rejected) throw started.rejected;
      // Created and started in one transaction: a crash leaves no draft behind.
      this.store.createRollout(
        { id, flagKey: config.flagKey, config, state, createdAtMillis: now, updatedAtMillis: now },
        {
          state: started.state,
          ...(started.transition ? { transition: started.transition } : {}),
          effects: started.effects,
        },
      );
      this.rolloutId = id;
      await this.runPendingEffects();
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
      const context = gateContext(this.record(), now);
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
        const error = staleRollbackRefusal(this.store, record);
        if (error !== undefined) {
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
      await drainOutbox(this.effects, rolloutId, () => this.record());
    } finally {
      this.draining = false;
    }
    // A write the flag system did not take is retried with back-off, whatever the phase.
    this.scheduleRoutingRetry();
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
