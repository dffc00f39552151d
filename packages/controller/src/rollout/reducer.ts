/**
 * The rollout state machine as one pure function: `reduce` hands each event to its
 * handler — start and manual actions here, gate ticks in `tick.ts`, the flag system's
 * answers in `routing-events.ts` — built from the blocks of `transition.ts`.
 */
import { CONTROLLER_ERROR_CODE } from '../errors.js';
import { type RolloutConfig, splitForPercent } from './config.js';
import { routingApplied, routingConflict, routingFailed } from './routing-events.js';
import {
  ALERT_KIND,
  isFinalPhase,
  type ManualEvent,
  NOTIFICATION_KIND,
  type NotificationDraft,
  ROLLOUT_PHASE,
  type RolloutEffect,
  type RolloutEvent,
  type RolloutState,
  SEVERITY,
} from './state.js';
import { tick } from './tick.js';
import {
  applySplit,
  CONTROLLER_ACTOR,
  finish,
  freshPending,
  promote,
  type ReduceResult,
  reject,
  rollBack,
  transitionTo,
  withoutPause,
} from './transition.js';

/** The state of a rollout that has not started yet. */
export function initialRolloutState(rolloutId: string, atMillis: number): RolloutState {
  return {
    rolloutId,
    phase: ROLLOUT_PHASE.draft,
    stepIndex: 0,
    canaryBasisPoints: 0,
    controlBasisPoints: 0,
    awaitingApproval: false,
    createdAtMillis: atMillis,
    pausedTotalMillis: 0,
    consecutiveThresholdFailures: 0,
    alerts: [],
    lastCanaryRequests: 0,
    stepBaselineCanaryRequests: 0,
    reason: 'created',
    updatedAtMillis: atMillis,
  };
}

/**
 * The rollout state machine: a pure function of the state, one event and the config.
 * Time comes only from `event.atMillis`. See the package README for the transition table.
 */
export function reduce(state: RolloutState, event: RolloutEvent, config: RolloutConfig): ReduceResult {
  switch (event.type) {
    case 'start':
      return start(state, event.atMillis, event.actor ?? CONTROLLER_ACTOR, config);
    case 'tick':
      return tick(state, event.gate, event.atMillis, config);
    case 'routingApplied':
      return routingApplied(state, event);
    case 'routingFailed':
      return routingFailed(state, event);
    case 'routingConflict':
      return routingConflict(state, event);
    default:
      return manual(state, event);
  }
}

function start(state: RolloutState, atMillis: number, actor: string, config: RolloutConfig): ReduceResult {
  if (state.phase !== ROLLOUT_PHASE.draft) return reject(state, 'start', CONTROLLER_ERROR_CODE.invalidTransition);
  const first = config.steps[0];
  const split = splitForPercent(first?.percent ?? 0);
  const next: RolloutState = {
    ...state,
    phase: ROLLOUT_PHASE.canary,
    stepIndex: 0,
    ...split,
    startedAtMillis: atMillis,
    stepStartedAtMillis: atMillis,
    reason: `started: canary ${config.canaryRelease} at ${first?.percent}% vs control ${config.stableRelease}`,
    updatedAtMillis: atMillis,
  };
  return transitionTo(state, next, { atMillis, actor, trigger: 'start' }, [applySplit(next)]);
}

function manual(state: RolloutState, event: ManualEvent): ReduceResult {
  const cause = { atMillis: event.atMillis, actor: event.actor, trigger: event.type };
  const why = event.reason.length > 0 ? event.reason : 'no reason given';
  const now = event.atMillis;
  const running = state.phase === ROLLOUT_PHASE.canary || state.phase === ROLLOUT_PHASE.paused;
  switch (event.type) {
    case 'pause': {
      if (state.phase !== ROLLOUT_PHASE.canary)
        return reject(state, event.type, CONTROLLER_ERROR_CODE.invalidTransition);
      const next: RolloutState = {
        ...state,
        phase: ROLLOUT_PHASE.paused,
        pausedAtMillis: now,
        reason: `paused by ${event.actor}: ${why}`,
        updatedAtMillis: now,
      };
      return transitionTo(state, next, cause, []);
    }
    case 'resume': {
      if (state.phase !== ROLLOUT_PHASE.paused)
        return reject(state, event.type, CONTROLLER_ERROR_CODE.invalidTransition);
      const paused = now - (state.pausedAtMillis ?? now);
      const next: RolloutState = {
        ...withoutPause(state),
        phase: ROLLOUT_PHASE.canary,
        pausedTotalMillis: state.pausedTotalMillis + paused,
        stepStartedAtMillis: (state.stepStartedAtMillis ?? now) + paused,
        // Resuming is the operator's answer to a hand change: the controller's split wins again.
        alerts: state.alerts.filter((alert) => alert !== ALERT_KIND.routingConflict),
        reason: `resumed by ${event.actor}: ${why}`,
        updatedAtMillis: now,
      };
      return transitionTo(state, next, cause, [applySplit(next, true)]);
    }
    case 'promote':
      if (!running) return reject(state, event.type, CONTROLLER_ERROR_CODE.invalidTransition);
      return promote(state, { ...state, updatedAtMillis: now }, `promoted by ${event.actor}: ${why}`, cause, []);
    case 'approve':
      if (!running) return reject(state, event.type, CONTROLLER_ERROR_CODE.invalidTransition);
      if (!state.awaitingApproval) return reject(state, event.type, CONTROLLER_ERROR_CODE.notAwaitingApproval);
      return promote(
        state,
        { ...state, updatedAtMillis: now },
        `promotion approved by ${event.actor}: ${why}`,
        cause,
        [],
      );
    case 'rollback':
      if (state.phase === ROLLOUT_PHASE.rolledBack || state.phase === ROLLOUT_PHASE.aborted) {
        return reassertRollback(state, event, why);
      }
      if (!running) return reject(state, event.type, CONTROLLER_ERROR_CODE.invalidTransition);
      return rollBack(state, { ...state, updatedAtMillis: now }, `rolled back by ${event.actor}: ${why}`, cause);
    case 'abort': {
      if (isFinalPhase(state.phase)) return reject(state, event.type, CONTROLLER_ERROR_CODE.invalidTransition);
      const next: RolloutState = {
        ...finish(state, ROLLOUT_PHASE.aborted, now),
        reason: `aborted by ${event.actor}: ${why}`,
      };
      const effects: RolloutEffect[] = state.phase === ROLLOUT_PHASE.draft ? [] : [applySplit(next)];
      return transitionTo(state, next, cause, effects, SEVERITY.warn);
    }
  }
}

/**
 * `rollback` on a rollout that already ended rolled back or aborted: writes the stable split
 * again (a flag system that missed the rollback, or a hand edit that re-exposed the canary).
 * No transition: the phase stays; the write is tracked like any other.
 */
function reassertRollback(state: RolloutState, event: ManualEvent, why: string): ReduceResult {
  const now = event.atMillis;
  const reason = `rollback re-asserted by ${event.actor}: ${why}`;
  const next: RolloutState = {
    ...state,
    canaryBasisPoints: 0,
    controlBasisPoints: 0,
    // Still pending from the original decision: the users' wait runs from then, not from now.
    routingPending:
      state.routingPending !== undefined &&
      state.routingPending.canaryBasisPoints === 0 &&
      state.routingPending.controlBasisPoints === 0
        ? state.routingPending
        : freshPending(0, 0, now),
    reason,
    updatedAtMillis: now,
  };
  const notification: NotificationDraft = {
    kind: NOTIFICATION_KIND.action,
    severity: SEVERITY.warn,
    title: 'Rollback re-asserted: writing canary 0% again',
    reason,
    actor: event.actor,
  };
  return { state: next, effects: [applySplit(next), { type: 'notify', notification }] };
}
