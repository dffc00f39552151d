/**
 * The building blocks every event handler of the reducer shares: a transition with its
 * audit record and notification, the two ends of a rollout (promote, roll back), the
 * routing write effect and the refusal of an action.
 */
import type { GateResult } from '@agent-canary/gate';
import { CONTROLLER_ERROR_CODE, ControllerError } from '../errors.js';
import {
  ALERT_KIND,
  NOTIFICATION_KIND,
  type NotificationDraft,
  type NotifiedCheck,
  type PendingRouting,
  ROLLOUT_PHASE,
  type RolloutEffect,
  type RolloutEvent,
  type RolloutPhase,
  type RolloutState,
  SEVERITY,
  type TransitionRecord,
} from './state.js';

/** Output of `reduce` (and of each of its event handlers). */
export interface ReduceResult {
  readonly state: RolloutState;
  /** Run by the driver, in order, after the state is persisted. */
  readonly effects: readonly RolloutEffect[];
  /** Present when the phase, step or approval sub-state changed. */
  readonly transition?: TransitionRecord;
  /** Present when a manual action was refused (the state is then unchanged). */
  readonly rejected?: ControllerError;
}

/** Actor recorded for the controller's own decisions. */
export const CONTROLLER_ACTOR = 'controller';

/** Human label of a state, as stored in transitions: `draft`, `canary@5%`, `paused@20%`, `awaiting_approval@50%`, ... */
export function stateLabel(state: RolloutState): string {
  const percent = `${state.canaryBasisPoints / 100}%`;
  if (state.phase === ROLLOUT_PHASE.canary)
    return state.awaitingApproval ? `awaiting_approval@${percent}` : `canary@${percent}`;
  if (state.phase === ROLLOUT_PHASE.paused) return `paused@${percent}`;
  return state.phase;
}

/** What caused a transition: when, who, which event, and the gate result behind it. */
export interface Cause {
  readonly atMillis: number;
  readonly actor: string;
  readonly trigger: RolloutEvent['type'];
  readonly evidence?: GateResult;
}

/** Ends `base` promoted: the canary takes all traffic (after `effects`). */
export function promote(
  before: RolloutState,
  base: RolloutState,
  reason: string,
  cause: Cause,
  effects: readonly RolloutEffect[],
): ReduceResult {
  const next: RolloutState = {
    ...finish(base, ROLLOUT_PHASE.promoted, cause.atMillis),
    canaryBasisPoints: 10_000,
    controlBasisPoints: 0,
    reason,
  };
  return transitionTo(before, next, cause, [...effects, applySplit(next)]);
}

/** Ends `base` rolled back: stable takes all traffic, then a post-mortem is kept. */
export function rollBack(before: RolloutState, base: RolloutState, reason: string, cause: Cause): ReduceResult {
  const next: RolloutState = { ...finish(base, ROLLOUT_PHASE.rolledBack, cause.atMillis), reason };
  // Routing first: every millisecond before the split lands serves the bad release.
  return transitionTo(before, next, cause, [applySplit(next), { type: 'snapshotPostMortem', reason }], SEVERITY.error);
}

/** `state` ended in `phase` at `now`: no traffic to the canary, pause time counted, canary alerts closed. */
export function finish(state: RolloutState, phase: RolloutPhase, now: number): RolloutState {
  const paused = state.pausedAtMillis === undefined ? 0 : now - state.pausedAtMillis;
  return {
    ...withoutPause(state),
    phase,
    canaryBasisPoints: 0,
    controlBasisPoints: 0,
    awaitingApproval: false,
    pausedTotalMillis: state.pausedTotalMillis + paused,
    // Every alert about the running canary ends with it, except a routing write still pending.
    alerts: state.alerts.filter((alert) => alert === ALERT_KIND.routingPending),
    endedAtMillis: now,
    updatedAtMillis: now,
  };
}

/** `state` without its pause start. */
export function withoutPause(state: RolloutState): RolloutState {
  const { pausedAtMillis: _dropped, ...rest } = state;
  return rest;
}

/**
 * The move from `before` to `after`: its audit record, its notification after `effects`,
 * and a pending routing write when `effects` hold one.
 */
export function transitionTo(
  before: RolloutState,
  after: RolloutState,
  cause: Cause,
  effects: readonly RolloutEffect[],
  severity: (typeof SEVERITY)[keyof typeof SEVERITY] = SEVERITY.info,
): ReduceResult {
  const transition: TransitionRecord = {
    atMillis: cause.atMillis,
    from: stateLabel(before),
    to: stateLabel(after),
    reason: after.reason,
    actor: cause.actor,
    trigger: cause.trigger,
    ...(cause.evidence ? { evidence: cause.evidence } : {}),
  };
  const notification: NotificationDraft = {
    kind: NOTIFICATION_KIND.transition,
    severity,
    title: `${transition.from} -> ${transition.to}`,
    reason: after.reason,
    from: transition.from,
    to: transition.to,
    actor: cause.actor,
    ...(cause.evidence ? { verdict: cause.evidence.verdict, checks: notifiedChecks(cause.evidence) } : {}),
  };
  // Every routing write starts pending; the flag system's acknowledgement clears it.
  const write = effects.find((effect) => effect.type === 'applySplit');
  const tracked: RolloutState =
    write === undefined
      ? after
      : { ...after, routingPending: freshPending(write.canaryBasisPoints, write.controlBasisPoints, cause.atMillis) };
  return { state: tracked, effects: [...effects, { type: 'notify', notification }], transition };
}

/** The checks a notification names: those that failed or warned, or all of them on a pass. */
function notifiedChecks(result: GateResult): NotifiedCheck[] {
  const notable = result.checks.filter((check) => check.verdict === 'fail' || check.verdict === 'warn');
  return (notable.length > 0 ? notable : result.checks).map((check) => {
    const samples = (cohort: string) => check.measurements.find((m) => m.cohort === cohort)?.samples;
    const canary = samples('canary');
    const control = samples('control');
    return {
      check: check.check,
      method: check.method,
      verdict: check.verdict,
      unit: check.unit,
      ...(canary === undefined ? {} : { canarySamples: canary }),
      ...(control === undefined ? {} : { controlSamples: control }),
      reason: check.reason,
      ...(check.observeOnly ? { observeOnly: true } : {}),
    };
  });
}

/** The routing write of the split `state` decides (`overrideHandChange`: write even over a hand edit). */
export function applySplit(state: RolloutState, overrideHandChange = false): RolloutEffect {
  return {
    type: 'applySplit',
    canaryBasisPoints: state.canaryBasisPoints,
    controlBasisPoints: state.controlBasisPoints,
    reason: state.reason,
    ...(overrideHandChange ? { overrideHandChange } : {}),
  };
}

/** A refused action: the state is unchanged and the error says why. */
export function reject(state: RolloutState, action: string, code: ControllerError['code']): ReduceResult {
  const message =
    code === CONTROLLER_ERROR_CODE.notAwaitingApproval
      ? `cannot ${action}: rollout ${state.rolloutId} is not waiting for an approval`
      : `cannot ${action}: rollout ${state.rolloutId} is ${stateLabel(state)}`;
  return { state, effects: [], rejected: new ControllerError(code, message) };
}

/** A routing write that has just been decided and not yet acknowledged. */
export function freshPending(canaryBasisPoints: number, controlBasisPoints: number, now: number): PendingRouting {
  return { canaryBasisPoints, controlBasisPoints, sinceMillis: now, failedAttempts: 0 };
}
