/**
 * The reducer's answer to a gate evaluation: rollback protection, warm-up, the alerts a
 * holding rollout raises and clears, and the step math that advances, waits for approval
 * or promotes.
 */
import type { GateResult } from '@agent-canary/gate';
import { type RolloutConfig, splitForPercent } from './config.js';
import {
  ALERT_KIND,
  type AlertKind,
  NOTIFICATION_KIND,
  type NotificationDraft,
  ROLLOUT_PHASE,
  type RolloutEffect,
  type RolloutState,
  SEVERITY,
} from './state.js';
import { applySplit, CONTROLLER_ACTOR, promote, type ReduceResult, rollBack, transitionTo } from './transition.js';

/** Reduces a `tick`: acts on the gate result `gate` evaluated at `now`. */
export function tick(state: RolloutState, gate: GateResult, now: number, config: RolloutConfig): ReduceResult {
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
