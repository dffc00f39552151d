import {
  type BehaviorBaseline,
  type DriftEvidence,
  type MonitorSignal,
  type MonitorState,
  SIGNAL_STATUS,
  type SignalAlertState,
  type SignalEvaluation,
} from './types.js';

/** @internal An alert to raise, with its evidence. */
export interface AlertRaise {
  signal: MonitorSignal;
  evidence: DriftEvidence;
}

/** @internal An open alert to clear. */
export interface AlertClear {
  id: number;
  atMillis: number;
  reason: string;
  signal: MonitorSignal;
}

/** @internal The alert changes of one tick, accumulated window by window. */
export interface AlertChanges {
  readonly signals: Partial<Record<MonitorSignal, SignalAlertState>>;
  readonly raises: AlertRaise[];
  readonly clears: AlertClear[];
}

/** @internal Where a window's evaluations come from, for the evidence and re-arming. */
export interface EvaluatedWindow {
  readonly release: string;
  readonly baseline: BehaviorBaseline;
  readonly range: { readonly sinceMillis: number; readonly untilMillis: number };
  /** True for a closed window: only closed windows count towards re-arming. */
  readonly closing: boolean;
  readonly now: number;
  readonly rearmAfterCleanWindows: number;
}

/** @internal Clears of every open alert of `state`, for `reason`. */
export function openAlertClears(state: MonitorState, now: number, reason: string): AlertClear[] {
  const clears: AlertClear[] = [];
  for (const [signal, alert] of Object.entries(state.signals) as [MonitorSignal, SignalAlertState | undefined][]) {
    if (alert?.alertId !== undefined) clears.push({ id: alert.alertId, atMillis: now, reason, signal });
  }
  return clears;
}

/**
 * @internal The alert state machine of one window's evaluations: an alarm raises an
 * alert unless one is open (once per signal until it clears); an open alert clears after
 * `rearmAfterCleanWindows` closed windows judged clear in a row, and an alarm resets that
 * count.
 */
export function applyEvaluations(
  changes: AlertChanges,
  evaluations: readonly SignalEvaluation[],
  window: EvaluatedWindow,
): void {
  const { signals, raises, clears } = changes;
  const { baseline, now } = window;
  for (const evaluation of evaluations) {
    const current = signals[evaluation.signal] ?? { cleanWindows: 0 };
    const open = current.alertId !== undefined || raises.some((r) => r.signal === evaluation.signal);
    if (evaluation.status === SIGNAL_STATUS.alarm) {
      if (!open) {
        raises.push({
          signal: evaluation.signal,
          evidence: {
            ...evaluation,
            release: window.release,
            windowSinceMillis: window.range.sinceMillis,
            windowUntilMillis: window.range.untilMillis,
            firstSeenAtMillis: now,
            baselineFrozenAtMillis: baseline.frozenAtMillis,
            baselineSinceMillis: baseline.sinceMillis,
            baselineUntilMillis: baseline.untilMillis,
          },
        });
        signals[evaluation.signal] = { raisedAtMillis: now, cleanWindows: 0 };
      } else {
        signals[evaluation.signal] = { ...current, cleanWindows: 0 };
      }
    } else if (window.closing && current.alertId !== undefined && evaluation.status === SIGNAL_STATUS.clear) {
      const cleanWindows = current.cleanWindows + 1;
      if (cleanWindows >= window.rearmAfterCleanWindows) {
        clears.push({
          id: current.alertId,
          atMillis: now,
          reason: `${cleanWindows} clean windows in a row: ${evaluation.reason}`,
          signal: evaluation.signal,
        });
        signals[evaluation.signal] = { cleanWindows: 0 };
      } else {
        signals[evaluation.signal] = { ...current, cleanWindows };
      }
    }
  }
}
