import { NOTIFICATION_KIND, SEVERITY } from '@agent-canary/controller';
import { type AlertChanges, applyEvaluations } from './alerts.js';
import { ceilToWindow, type DriftNotification, type MonitorRuntime, notificationBase, notifyAll } from './runtime.js';
import { evaluateSignals } from './signals.js';
import { MONITOR_PHASE, type MonitorTickResult, tickResult } from './status.js';
import {
  type BehaviorBaseline,
  type MonitorAlertRecord,
  type MonitorState,
  SIGNAL_STATUS,
  type SignalEvaluation,
} from './types.js';

/** Longest catch-up after downtime: older windows are skipped, not evaluated. */
const MAX_CATCH_UP_WINDOWS = 24;

/**
 * @internal One monitoring tick against a frozen baseline: evaluates the windows closed
 * since the last tick (at most {@link MAX_CATCH_UP_WINDOWS}) and the current partial one,
 * runs the alert state machine over them, commits state and alerts in one transaction,
 * then notifies raises and clears. A failed read of a closed window stops there, to be
 * retried on the next tick.
 */
export async function monitorWindows(
  runtime: MonitorRuntime,
  state: MonitorState,
  baseline: BehaviorBaseline,
  now: number,
): Promise<MonitorTickResult> {
  const { config, store, source, windowMillis, alphaPerSignal } = runtime;
  const monitorId = config.monitorId;
  const release = baseline.release;
  const origin = ceilToWindow(runtime, baseline.untilMillis);
  if (now < origin) {
    return tickResult(MONITOR_PHASE.monitoring, state, `the first window starts at ${new Date(origin).toISOString()}`);
  }
  const sample = { window: baseline.window, periods: baseline.periods };
  const currentIndex = Math.floor((now - origin) / windowMillis);
  const changes: AlertChanges = { signals: { ...state.signals }, raises: [], clears: [] };
  const { signals, raises, clears } = changes;
  let windowIndex = Math.max(state.windowIndex, currentIndex - MAX_CATCH_UP_WINDOWS);

  const apply = (
    evaluations: readonly SignalEvaluation[],
    range: { sinceMillis: number; untilMillis: number },
    closing: boolean,
  ) =>
    applyEvaluations(changes, evaluations, {
      release,
      baseline,
      range,
      closing,
      now,
      rearmAfterCleanWindows: config.rearmAfterCleanWindows,
    });

  let reason = '';
  let evaluations: SignalEvaluation[] = [];
  let range = { sinceMillis: origin + currentIndex * windowMillis, untilMillis: now };
  let readFailed = false;
  for (; windowIndex < currentIndex; windowIndex += 1) {
    const closed = {
      sinceMillis: origin + windowIndex * windowMillis,
      untilMillis: origin + (windowIndex + 1) * windowMillis,
    };
    const read = await source.read({ release, ...closed });
    if (!read.ok) {
      reason = `closing window ${windowIndex} failed (source ${source.name}: ${read.reason}); will retry`;
      readFailed = true;
      break;
    }
    apply(evaluateSignals(sample, read.window, config, alphaPerSignal), closed, true);
  }
  if (!readFailed) {
    const read = await source.read({ release, ...range });
    if (read.ok) {
      evaluations = evaluateSignals(sample, read.window, config, alphaPerSignal);
      apply(evaluations, range, false);
      const alarms = evaluations.filter((e) => e.status === SIGNAL_STATUS.alarm).map((e) => e.signal);
      reason = alarms.length > 0 ? `drift in ${alarms.join(', ')}` : 'no drift proven';
    } else {
      reason = `source ${source.name}: ${read.reason}`;
      range = { sinceMillis: range.sinceMillis, untilMillis: range.sinceMillis };
    }
  }
  const ids = store.commitMonitor({
    monitorId,
    raise: raises,
    clear: clears,
    state: (raised) => {
      const withIds = { ...signals };
      raises.forEach((raise, index) => {
        const id = raised[index];
        if (id !== undefined)
          withIds[raise.signal] = { ...(withIds[raise.signal] ?? { cleanWindows: 0 }), alertId: id };
      });
      return { ...state, signals: withIds, windowIndex, updatedAtMillis: now };
    },
  });
  const raisedRecords: MonitorAlertRecord[] = raises.map((raise, index) => ({
    id: ids[index] ?? -1,
    monitorId,
    release,
    signal: raise.signal,
    raisedAtMillis: raise.evidence.firstSeenAtMillis,
    evidence: raise.evidence,
  }));
  for (const record of raisedRecords) {
    const drift: DriftNotification = {
      ...notificationBase(runtime, release, now),
      kind: NOTIFICATION_KIND.alert,
      severity: SEVERITY.warn,
      title: `behaviour drift of ${release}: ${record.signal}`,
      reason: record.evidence.reason,
      drift: record.evidence,
    };
    await notifyAll(runtime, drift);
  }
  for (const clear of clears) {
    await notifyAll(runtime, {
      ...notificationBase(runtime, release, now),
      kind: NOTIFICATION_KIND.alertCleared,
      severity: SEVERITY.info,
      title: `behaviour drift of ${release}: ${clear.signal} cleared`,
      reason: clear.reason,
    });
  }
  return tickResult(MONITOR_PHASE.monitoring, { ...state, release }, reason, {
    evaluations,
    window: range,
    raised: raisedRecords,
    cleared: clears.map((clear) => clear.signal),
  });
}
