import type { GateResult } from '@agent-canary/gate';
import { CONTROLLER_ERROR_CODE, ControllerError } from '../errors.js';
import { type RolloutConfig, splitForPercent } from './config.js';
import {
  ALERT_KIND,
  type AlertKind,
  isFinalPhase,
  type ManualEvent,
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
  type SplitShares,
  type TransitionRecord,
} from './state.js';

/** Output of {@link reduce}. */
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

/** Human label of a state, as stored in transitions: `draft`, `canary@5%`, `paused@20%`, `awaiting_approval@50%`, ... */
export function stateLabel(state: RolloutState): string {
  const percent = `${state.canaryBasisPoints / 100}%`;
  if (state.phase === ROLLOUT_PHASE.canary)
    return state.awaitingApproval ? `awaiting_approval@${percent}` : `canary@${percent}`;
  if (state.phase === ROLLOUT_PHASE.paused) return `paused@${percent}`;
  return state.phase;
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

function tick(state: RolloutState, gate: GateResult, now: number, config: RolloutConfig): ReduceResult {
  if (state.phase !== ROLLOUT_PHASE.canary && state.phase !== ROLLOUT_PHASE.paused) return { state, effects: [] };
  const canaryRequests = gate.requests.canary;
  // A count below the previous one means the window was reset (gate restarted, sliding window).
  const windowReset = canaryRequests < state.lastCanaryRequests;
  const newTraffic = windowReset ? canaryRequests > 0 : canaryRequests > state.lastCanaryRequests;
  const stepSample =
    canaryRequests >= state.stepBaselineCanaryRequests
      ? canaryRequests - state.stepBaselineCanaryRequests
      : canaryRequests;
  const observed: RolloutState = {
    ...state,
    lastVerdict: gate.verdict,
    lastTrafficAtMillis: newTraffic ? now : state.lastTrafficAtMillis,
    lastCanaryRequests: canaryRequests,
    updatedAtMillis: now,
  };
  const cause = { atMillis: now, actor: CONTROLLER_ACTOR, trigger: 'tick' as const, evidence: gate };

  // Rollback protection stays on while paused: a pause stops advancing, not watching.
  if (gate.sequentialFailure) {
    return rollBack(state, observed, `sequential test crossed its boundary: ${gate.reason}`, cause);
  }
  const warm = warmupDone(observed, gate, now, config);
  // Absolute thresholds on warm-up-sized samples are noise; only the sequential test counts then.
  const failures = gate.thresholdFailure ? (warm ? state.consecutiveThresholdFailures + 1 : 0) : 0;
  if (failures >= config.consecutiveFailuresBeforeRollback) {
    return rollBack(
      state,
      observed,
      `absolute threshold failed in ${failures} consecutive evaluations: ${gate.reason}`,
      cause,
    );
  }
  const activeMillis = now - (state.startedAtMillis ?? now) - pausedMillis(state, now);
  if (activeMillis > config.maxDurationMillis && !state.awaitingApproval) {
    return rollBack(
      state,
      observed,
      `max duration exceeded (${activeMillis} ms active > ${config.maxDurationMillis} ms) without reaching 100%`,
      cause,
    );
  }

  const step = config.steps[state.stepIndex];
  const stepElapsed =
    now - (state.stepStartedAtMillis ?? now) - (state.pausedAtMillis === undefined ? 0 : now - state.pausedAtMillis);
  const stepTimeReached = step !== undefined && stepElapsed >= step.minDurationMillis;
  const enoughCanary = step !== undefined && stepSample >= step.minCanaryRequests;
  const lastTraffic = observed.lastTrafficAtMillis ?? state.stepStartedAtMillis ?? now;

  const wanted = new Set<AlertKind>();
  if (state.alerts.includes(ALERT_KIND.routingConflict)) wanted.add(ALERT_KIND.routingConflict);
  // Raised and cleared by routing events only: a tick knows nothing about the flag system.
  if (state.alerts.includes(ALERT_KIND.routingPending)) wanted.add(ALERT_KIND.routingPending);
  if (gate.sampleRatioMismatch) wanted.add(ALERT_KIND.sampleRatioMismatch);
  if (now - lastTraffic >= config.noDataTimeoutMillis) wanted.add(ALERT_KIND.noData);
  if (failures > 0) wanted.add(ALERT_KIND.thresholdFailure);
  if (state.phase === ROLLOUT_PHASE.canary && !state.awaitingApproval && stepTimeReached) {
    if (gate.verdict === 'inconclusive') wanted.add(ALERT_KIND.inconclusive);
    if (!enoughCanary) wanted.add(ALERT_KIND.insufficientTraffic);
  }
  const { alerts, effects } = diffAlerts(state.alerts, wanted, gate, failures, config);
  const held: RolloutState = { ...observed, consecutiveThresholdFailures: failures, alerts };

  const canAdvance =
    state.phase === ROLLOUT_PHASE.canary &&
    !state.awaitingApproval &&
    warm &&
    gate.verdict === 'pass' &&
    !gate.sampleRatioMismatch &&
    !gate.thresholdFailure &&
    stepTimeReached &&
    enoughCanary &&
    !wanted.has(ALERT_KIND.noData) &&
    !wanted.has(ALERT_KIND.routingConflict) &&
    // The step's evidence is about a split the flag system must show first: never widen or
    // promote past a write it has not acknowledged.
    state.routingPending === undefined;
  if (!canAdvance) return { state: held, effects };

  const nextIndex = state.stepIndex + 1;
  const nextStep = config.steps[nextIndex];
  if (nextStep === undefined || nextStep.percent >= 100) {
    // A pass says no regression was found, not that the canary is safe: promote only once the
    // gate says the evidence suffices (maximum exposure or tight bounds); until then, hold.
    if (gate.promotionReady === false) {
      return { state: { ...held, reason: `holding at ${step?.percent}%: ${gate.reason}` }, effects };
    }
    if (config.requireApproval) {
      const waiting: RolloutState = {
        ...held,
        awaitingApproval: true,
        reason: `gate passed at ${step?.percent}%: waiting for approval to promote ${config.canaryRelease} to 100%`,
      };
      const request: NotificationDraft = {
        kind: NOTIFICATION_KIND.approvalRequested,
        severity: SEVERITY.warn,
        title: `Approve promotion of ${config.canaryRelease}?`,
        reason: waiting.reason,
        verdict: gate.verdict,
      };
      return transitionTo(state, waiting, cause, [...effects, { type: 'notify', notification: request }]);
    }
    return promote(state, held, `gate passed at the last step (${step?.percent}%): ${gate.reason}`, cause, effects);
  }
  const advanced: RolloutState = {
    ...held,
    stepIndex: nextIndex,
    ...splitForPercent(nextStep.percent),
    stepStartedAtMillis: now,
    stepBaselineCanaryRequests: canaryRequests,
    consecutiveThresholdFailures: 0,
    reason: `gate passed at ${step?.percent}% for ${stepElapsed} ms with ${stepSample} canary requests in the step: advancing to ${nextStep.percent}%`,
  };
  return transitionTo(state, advanced, cause, [...effects, applySplit(advanced)]);
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

function routingApplied(state: RolloutState, event: Extract<RolloutEvent, { type: 'routingApplied' }>): ReduceResult {
  if (!isCurrentSplit(state, event)) {
    // An acknowledgement of an older split (a newer one is on its way): nothing to record.
    return { state, effects: [] };
  }
  const pending = state.routingPending;
  const { routingPending: _landed, ...rest } = state;
  const next: RolloutState = {
    ...rest,
    alerts: state.alerts.filter((alert) => alert !== ALERT_KIND.routingPending),
    routingSeenAtMillis: event.seenAtMillis,
    updatedAtMillis: event.atMillis,
  };
  if (pending === undefined || !state.alerts.includes(ALERT_KIND.routingPending)) return { state: next, effects: [] };
  const waitedMillis = Math.max(0, event.seenAtMillis - pending.sinceMillis);
  const rollback = pending.canaryBasisPoints === 0;
  const before = pending.observed === undefined ? 'the previous split' : describeShares(pending.observed);
  const reason = rollback
    ? `the flag system acknowledged canary 0% ${formatDuration(waitedMillis)} after the decision; until then it kept routing users to the canary (${before})`
    : `the flag system acknowledged ${describeShares(pending)} ${formatDuration(waitedMillis)} after the decision (until then: ${before})`;
  const notification: NotificationDraft = {
    kind: NOTIFICATION_KIND.alertCleared,
    severity: SEVERITY.info,
    title: rollback
      ? `Rollback applied: users were routed to the canary for ${formatDuration(waitedMillis)} after the decision`
      : `Routing applied after ${formatDuration(waitedMillis)}: ${describeShares(pending)}`,
    reason,
    alert: ALERT_KIND.routingPending,
    routingPendingMillis: waitedMillis,
  };
  return { state: next, effects: [{ type: 'notify', notification }] };
}

function routingFailed(state: RolloutState, event: Extract<RolloutEvent, { type: 'routingFailed' }>): ReduceResult {
  // A failure of an older split (a newer one replaced it): the newer one reports its own.
  if (!isCurrentSplit(state, event)) return { state, effects: [] };
  const now = event.atMillis;
  const previous = state.routingPending ?? freshPending(event.canaryBasisPoints, event.controlBasisPoints, now);
  const due =
    previous.alertedAtMillis === undefined || now - previous.alertedAtMillis >= Math.max(0, event.alertRepeatMillis);
  const { observed: _stale, ...kept } = previous;
  const pending = {
    ...kept,
    failedAttempts: previous.failedAttempts + 1,
    firstFailedAtMillis: previous.firstFailedAtMillis ?? now,
    lastFailedAtMillis: now,
    lastError: event.reason,
    ...(event.observed === undefined ? {} : { observed: { ...pick(event.observed), atMillis: now } }),
    ...(due ? { alertedAtMillis: now } : {}),
  };
  const next: RolloutState = {
    ...state,
    routingPending: pending,
    alerts: state.alerts.includes(ALERT_KIND.routingPending)
      ? state.alerts
      : [...state.alerts, ALERT_KIND.routingPending],
    updatedAtMillis: now,
  };
  if (!due) return { state: next, effects: [] };
  const waitedMillis = Math.max(0, now - pending.sinceMillis);
  const rollback = pending.canaryBasisPoints === 0 && isFinalPhase(state.phase);
  const routed =
    event.observed === undefined
      ? 'the flag system could not be read back'
      : `the flag system still routes ${describeShares(event.observed)}`;
  const first = previous.alertedAtMillis === undefined;
  const title = rollback
    ? first
      ? 'Rollback not applied: the flag system did not take canary 0%'
      : `Rollback still not applied after ${formatDuration(waitedMillis)}`
    : first
      ? `Routing write not applied: ${describeShares(pending)}`
      : `Routing write still not applied after ${formatDuration(waitedMillis)}: ${describeShares(pending)}`;
  const notification: NotificationDraft = {
    kind: NOTIFICATION_KIND.alert,
    severity: SEVERITY.error,
    title,
    reason: `${routed}; last error: ${event.reason}; retrying with back-off until it is acknowledged (failed attempts: ${pending.failedAttempts})`,
    alert: ALERT_KIND.routingPending,
    routingPendingMillis: waitedMillis,
  };
  return { state: next, effects: [{ type: 'notify', notification }] };
}

function isCurrentSplit(state: RolloutState, shares: SplitShares): boolean {
  return shares.canaryBasisPoints === state.canaryBasisPoints && shares.controlBasisPoints === state.controlBasisPoints;
}

function freshPending(canaryBasisPoints: number, controlBasisPoints: number, now: number): PendingRouting {
  return { canaryBasisPoints, controlBasisPoints, sinceMillis: now, failedAttempts: 0 };
}

function pick(shares: SplitShares): SplitShares {
  return { canaryBasisPoints: shares.canaryBasisPoints, controlBasisPoints: shares.controlBasisPoints };
}

/** `canary 20%, control 20%` */
function describeShares(shares: SplitShares): string {
  return `canary ${shares.canaryBasisPoints / 100}%, control ${shares.controlBasisPoints / 100}%`;
}

/** `850 ms`, `42 s`, `3 min 5 s`, `2 h 10 min` */
function formatDuration(millis: number): string {
  if (millis < 1_000) return `${Math.round(millis)} ms`;
  const seconds = Math.round(millis / 1_000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}

function routingConflict(state: RolloutState, event: Extract<RolloutEvent, { type: 'routingConflict' }>): ReduceResult {
  const seen = event.observed
    ? `canary ${event.observed.canaryBasisPoints} bp / control ${event.observed.controlBasisPoints} bp`
    : 'no flag';
  const reason = `routing changed outside the controller (found ${seen}); holding instead of overwriting it`;
  // The write is withheld on purpose (never widen over a hand change): nothing is pending any more.
  const { routingPending: _withheld, ...rest } = state;
  state = { ...rest, alerts: state.alerts.filter((alert) => alert !== ALERT_KIND.routingPending) };
  const alerts = state.alerts.includes(ALERT_KIND.routingConflict)
    ? state.alerts
    : [...state.alerts, ALERT_KIND.routingConflict];
  const alert: RolloutEffect[] = state.alerts.includes(ALERT_KIND.routingConflict)
    ? []
    : [
        {
          type: 'notify',
          notification: {
            kind: NOTIFICATION_KIND.alert,
            severity: SEVERITY.error,
            title: 'Routing changed by hand',
            reason,
            alert: ALERT_KIND.routingConflict,
          },
        },
      ];
  if (state.phase !== ROLLOUT_PHASE.canary) {
    return { state: { ...state, alerts, updatedAtMillis: event.atMillis }, effects: alert };
  }
  const next: RolloutState = {
    ...state,
    phase: ROLLOUT_PHASE.paused,
    pausedAtMillis: event.atMillis,
    alerts,
    reason,
    updatedAtMillis: event.atMillis,
  };
  return transitionTo(
    state,
    next,
    { atMillis: event.atMillis, actor: CONTROLLER_ACTOR, trigger: event.type },
    alert,
    SEVERITY.error,
  );
}

interface Cause {
  readonly atMillis: number;
  readonly actor: string;
  readonly trigger: RolloutEvent['type'];
  readonly evidence?: GateResult;
}

function promote(
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

function rollBack(before: RolloutState, base: RolloutState, reason: string, cause: Cause): ReduceResult {
  const next: RolloutState = { ...finish(base, ROLLOUT_PHASE.rolledBack, cause.atMillis), reason };
  // Routing first: every millisecond before the split lands serves the bad release.
  return transitionTo(before, next, cause, [applySplit(next), { type: 'snapshotPostMortem', reason }], SEVERITY.error);
}

function finish(state: RolloutState, phase: RolloutPhase, now: number): RolloutState {
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

function withoutPause(state: RolloutState): RolloutState {
  const { pausedAtMillis: _dropped, ...rest } = state;
  return rest;
}

function transitionTo(
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

function applySplit(state: RolloutState, overrideHandChange = false): RolloutEffect {
  return {
    type: 'applySplit',
    canaryBasisPoints: state.canaryBasisPoints,
    controlBasisPoints: state.controlBasisPoints,
    reason: state.reason,
    ...(overrideHandChange ? { overrideHandChange } : {}),
  };
}

function reject(state: RolloutState, action: string, code: ControllerError['code']): ReduceResult {
  const message =
    code === CONTROLLER_ERROR_CODE.notAwaitingApproval
      ? `cannot ${action}: rollout ${state.rolloutId} is not waiting for an approval`
      : `cannot ${action}: rollout ${state.rolloutId} is ${stateLabel(state)}`;
  return { state, effects: [], rejected: new ControllerError(code, message) };
}

function pausedMillis(state: RolloutState, now: number): number {
  return state.pausedTotalMillis + (state.pausedAtMillis === undefined ? 0 : now - state.pausedAtMillis);
}

/** Same rule as the gate's: after the minimum time, or earlier once both request minimums are met. */
function warmupDone(state: RolloutState, gate: GateResult, now: number, config: RolloutConfig): boolean {
  const active = now - (state.startedAtMillis ?? now) - pausedMillis(state, now);
  if (active >= config.warmup.minDurationMillis) return true;
  return (
    gate.requests.stable >= config.warmup.minStableRequests && gate.requests.canary >= config.warmup.minCanaryRequests
  );
}

const ALERT_TEXT: Record<AlertKind, { title: string; severity: (typeof SEVERITY)[keyof typeof SEVERITY] }> = {
  sample_ratio_mismatch: { title: 'Sample ratio mismatch: verdicts frozen, holding', severity: SEVERITY.error },
  no_data: { title: 'No canary traffic: holding', severity: SEVERITY.warn },
  inconclusive: { title: 'Gate still inconclusive after the step time: holding', severity: SEVERITY.warn },
  insufficient_traffic: { title: 'Too little canary traffic for this step: holding', severity: SEVERITY.warn },
  threshold_failure: { title: 'Absolute threshold failing', severity: SEVERITY.warn },
  routing_conflict: { title: 'Routing changed by hand', severity: SEVERITY.error },
  routing_pending: { title: 'Routing write not acknowledged by the flag system', severity: SEVERITY.error },
};

function diffAlerts(
  current: readonly AlertKind[],
  wanted: ReadonlySet<AlertKind>,
  gate: GateResult,
  failures: number,
  config: RolloutConfig,
): { alerts: readonly AlertKind[]; effects: RolloutEffect[] } {
  const effects: RolloutEffect[] = [];
  for (const alert of wanted) {
    if (current.includes(alert)) continue;
    const text = ALERT_TEXT[alert];
    const detail =
      alert === ALERT_KIND.thresholdFailure
        ? `failing evaluation ${failures} of ${config.consecutiveFailuresBeforeRollback}: ${gate.reason}`
        : gate.reason;
    effects.push({
      type: 'notify',
      notification: {
        kind: NOTIFICATION_KIND.alert,
        severity: text.severity,
        title: text.title,
        reason: detail,
        alert,
        verdict: gate.verdict,
      },
    });
  }
  for (const alert of current) {
    if (wanted.has(alert)) continue;
    effects.push({
      type: 'notify',
      notification: {
        kind: NOTIFICATION_KIND.alertCleared,
        severity: SEVERITY.info,
        title: `Cleared: ${ALERT_TEXT[alert].title}`,
        reason: gate.reason,
        alert,
        verdict: gate.verdict,
      },
    });
  }
  return { alerts: [...wanted], effects };
}
