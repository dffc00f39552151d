/**
 * The reducer's answer to the flag system: a routing write acknowledged, failed (with
 * repeated alerts while it stays pending) or refused because the flag was changed by hand.
 */
import {
  ALERT_KIND,
  isFinalPhase,
  NOTIFICATION_KIND,
  type NotificationDraft,
  ROLLOUT_PHASE,
  type RolloutEffect,
  type RolloutEvent,
  type RolloutState,
  SEVERITY,
  type SplitShares,
} from './state.js';
import { CONTROLLER_ACTOR, freshPending, type ReduceResult, transitionTo } from './transition.js';

/** Reduces `routingApplied`: clears the pending write and says how long users waited for it. */
export function routingApplied(
  state: RolloutState,
  event: Extract<RolloutEvent, { type: 'routingApplied' }>,
): ReduceResult {
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

/** Reduces `routingFailed`: keeps the write pending and alerts, again every `alertRepeatMillis`. */
export function routingFailed(
  state: RolloutState,
  event: Extract<RolloutEvent, { type: 'routingFailed' }>,
): ReduceResult {
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

/** Reduces `routingConflict`: holds (pauses a running canary) instead of overwriting a hand edit. */
export function routingConflict(
  state: RolloutState,
  event: Extract<RolloutEvent, { type: 'routingConflict' }>,
): ReduceResult {
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

function isCurrentSplit(state: RolloutState, shares: SplitShares): boolean {
  return shares.canaryBasisPoints === state.canaryBasisPoints && shares.controlBasisPoints === state.controlBasisPoints;
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
