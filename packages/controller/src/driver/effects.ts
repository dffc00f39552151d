/**
 * Runs the effects the reducer decides, once they are persisted in the outbox: routing
 * writes (with hand-change detection and a read-back when a write fails), notifications,
 * and post-mortems. Outcomes go back to the reducer through `dispatch`.
 */
import {
  ROUTING_ERROR_CODE,
  type RoutingAdapter,
  RoutingError,
  type RoutingSplit,
  sameSplit,
} from '@agent-canary/conventions';
import type { GateContext, GateEvaluator, JsonValue } from '@agent-canary/gate';
import { diag } from '@opentelemetry/api';
import { deliverAndRecord, type Notification, type Notifier } from '../notify/notifier.js';
import type { RolloutEffect, RolloutEvent, SplitShares } from '../rollout/state.js';
import type { RolloutRecord } from '../store/records.js';
import type { RolloutStore } from '../store/store.js';
import { routedSharesOf } from './status.js';

/** What the effect runners use: the controller's collaborators and its way to reduce an event. */
export interface EffectContext {
  readonly store: RolloutStore;
  readonly routing: RoutingAdapter;
  readonly gate: GateEvaluator;
  readonly notifiers: readonly Notifier[];
  readonly clock: () => number;
  readonly routingAlertRepeatMillis: number;
  /** Reduces an event, commits it and runs its effects. */
  readonly dispatch: (event: RolloutEvent) => Promise<unknown>;
}

/**
 * Runs the effects of a rollout waiting in the outbox, oldest first, each once per drain,
 * and removes each one that is settled; effects they cause join the outbox and run in the
 * same drain. `current` reads the rollout fresh from the store before each effect.
 */
export async function drainOutbox(ctx: EffectContext, rolloutId: string, current: () => RolloutRecord): Promise<void> {
  const attempted = new Set<number>();
  for (;;) {
    const pending = ctx.store.pendingEffects(rolloutId);
    const next = pending.find((p) => !attempted.has(p.id));
    if (next === undefined) return;
    attempted.add(next.id);
    const { id, effect } = next;
    if (effect.type === 'applySplit') {
      const lastApply = pending.filter((p) => p.effect.type === 'applySplit').at(-1);
      // A newer split supersedes an older one that never landed.
      const done = id !== lastApply?.id || (await applySplit(ctx, current(), effect));
      if (done) ctx.store.completeEffect(id);
    } else if (effect.type === 'notify') {
      await notify(ctx, current(), effect);
      ctx.store.completeEffect(id);
    } else {
      await snapshotPostMortem(ctx, current(), effect.reason);
      ctx.store.completeEffect(id);
    }
  }
}

/**
 * Writes the effect's split unless a wider exposure would overwrite a hand edit (then
 * dispatches `routingConflict`). Returns true when the effect is settled (applied, or
 * refused because of a hand change), false when the write must be retried.
 */
async function applySplit(
  ctx: EffectContext,
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
      current = await ctx.routing.read(record.flagKey);
    } catch (error) {
      if (error instanceof RoutingError && error.code === ROUTING_ERROR_CODE.flagShape) {
        // A flag we cannot read as a split was edited outside the controller: hold, do not guess.
        await ctx.dispatch({ type: 'routingConflict', atMillis: ctx.clock(), expected: record.appliedSplit });
        return true;
      }
      diag.warn(`agent-canary: reading routing of ${record.flagKey} failed; will retry`, error);
      await routingFailed(ctx, desired, describeError(error), false);
      return false;
    }
    // Rollbacks always go through (safety first); wider exposure never overwrites a hand edit.
    if (!sameSplit(current, record.appliedSplit) && !sameSplit(current, desired)) {
      await ctx.dispatch({
        type: 'routingConflict',
        atMillis: ctx.clock(),
        ...(current ? { observed: current } : {}),
        expected: record.appliedSplit,
      });
      return true;
    }
  }
  let result: Awaited<ReturnType<RoutingAdapter['apply']>>;
  try {
    result = await ctx.routing.apply(desired);
  } catch (error) {
    // Even "permanent" errors (permissions, a token, a missing flag) are an operator's to
    // fix: the write stays pending, is retried with back-off and alerted until it lands.
    diag.error(`agent-canary: routing apply for ${record.flagKey} threw; will retry`, error);
    await routingFailed(ctx, desired, describeError(error));
    return false;
  }
  if (!result.acknowledged) {
    const reason = `not acknowledged after ${result.attempts} attempts: ${result.reason ?? 'no reason given'}`;
    diag.warn(`agent-canary: routing apply for ${record.flagKey} ${reason}; will retry`);
    await routingFailed(ctx, desired, reason);
    return false;
  }
  ctx.store.setAppliedSplit(record.id, {
    ...desired,
    ...(result.version === undefined ? {} : { version: result.version }),
  });
  const seenAtMillis = result.acknowledgedAtMillis ?? ctx.clock();
  await ctx.dispatch({
    type: 'routingApplied',
    atMillis: ctx.clock(),
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
async function routingFailed(
  ctx: EffectContext,
  desired: RoutingSplit,
  reason: string,
  readBack = true,
): Promise<void> {
  let seen: SplitShares | undefined;
  if (readBack) {
    try {
      const current = await ctx.routing.read(desired.flagKey);
      // No flag at all: the app falls back to its default, the stable release.
      seen = current ?? { canaryBasisPoints: 0, controlBasisPoints: 0 };
    } catch (error) {
      diag.warn(`agent-canary: reading routing of ${desired.flagKey} back failed too`, error);
    }
  }
  await ctx.dispatch({
    type: 'routingFailed',
    atMillis: ctx.clock(),
    canaryBasisPoints: desired.canaryBasisPoints,
    controlBasisPoints: desired.controlBasisPoints,
    reason,
    ...(seen === undefined
      ? {}
      : { observed: { canaryBasisPoints: seen.canaryBasisPoints, controlBasisPoints: seen.controlBasisPoints } }),
    alertRepeatMillis: ctx.routingAlertRepeatMillis,
  });
}

/** Sends a notification effect to every notifier, with what users are routed to, and records the outcome. */
async function notify(
  ctx: EffectContext,
  record: RolloutRecord,
  effect: Extract<RolloutEffect, { type: 'notify' }>,
): Promise<void> {
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
    atMillis: ctx.clock(),
  };
  await deliverAndRecord(ctx.notifiers, notification, ctx.store, record.id, 'agent-canary');
}

/** Stores a rollback's post-mortem: config, state, audit log, verdicts and the gate's snapshot. */
async function snapshotPostMortem(ctx: EffectContext, record: RolloutRecord, reason: string): Promise<void> {
  let gateSnapshot: JsonValue | undefined;
  if (ctx.gate.snapshot) {
    try {
      gateSnapshot = await ctx.gate.snapshot(gateContext(record, ctx.clock()));
    } catch (error) {
      diag.warn(`agent-canary: gate snapshot for the post-mortem of ${record.id} failed`, error);
    }
  }
  ctx.store.savePostMortem({
    rolloutId: record.id,
    atMillis: ctx.clock(),
    reason,
    config: record.config,
    state: record.state,
    transitions: ctx.store.transitions(record.id),
    verdicts: ctx.store.verdicts(record.id),
    ...(gateSnapshot === undefined ? {} : { gateSnapshot }),
  });
}

/** What the gate is told about a rollout at `now`. */
export function gateContext(record: RolloutRecord, now: number): GateContext {
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

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
