import type { RolloutStore } from '@agent-canary/controller';
import type {
  BehaviorBaseline,
  DriftEvidence,
  MonitorAlertRecord,
  MonitorSignal,
  MonitorState,
  SignalEvaluation,
} from './types.js';

/** Phases of the monitor. */
export const MONITOR_PHASE = {
  /** No stable release known yet. */
  idle: 'idle',
  /** Observing a newly stable release before freezing its baseline. */
  collectingBaseline: 'collecting_baseline',
  /** Comparing windows of the release against its baseline. */
  monitoring: 'monitoring',
} as const;
/** One of {@link MONITOR_PHASE}. */
export type MonitorPhase = (typeof MONITOR_PHASE)[keyof typeof MONITOR_PHASE];

/** Result of one `BehaviorMonitor.tick`. */
export interface MonitorTickResult {
  readonly phase: MonitorPhase;
  readonly release?: string;
  /** Evaluations of the current (partial) window; empty outside `monitoring`. */
  readonly evaluations: readonly SignalEvaluation[];
  /** Window the evaluations cover. */
  readonly window?: { readonly sinceMillis: number; readonly untilMillis: number };
  /** Alerts raised by this tick. */
  readonly raised: readonly MonitorAlertRecord[];
  /** Signals whose alert cleared (re-armed) in this tick. */
  readonly cleared: readonly MonitorSignal[];
  /** True when a baseline was frozen in this tick. */
  readonly baselineFrozen: boolean;
  readonly reason: string;
}

/** @internal A tick result: nothing evaluated, raised, cleared or frozen unless `extra` says so. */
export function tickResult(
  phase: MonitorPhase,
  state: MonitorState,
  reason: string,
  extra: Partial<Omit<MonitorTickResult, 'phase' | 'reason'>> = {},
): MonitorTickResult {
  return {
    phase,
    ...(state.release === undefined ? {} : { release: state.release }),
    evaluations: [],
    raised: [],
    cleared: [],
    baselineFrozen: false,
    reason,
    ...extra,
  };
}

/** What `BehaviorMonitor.status` reports. */
export interface MonitorStatus {
  readonly monitorId: string;
  readonly phase: MonitorPhase;
  readonly release?: string;
  readonly baseline?: Omit<BehaviorBaseline, 'window'> & { readonly turns: number; readonly users: number };
  readonly windowIndex: number;
  readonly openAlerts: readonly MonitorAlertRecord[];
}

/**
 * The status of a monitor as persisted in the store, read without running it (what
 * `BehaviorMonitor.status` returns; the dashboard shows it for every monitor of a store).
 *
 * @example
 * for (const id of store.monitorIds()) console.log(readMonitorStatus(store, id).openAlerts.length);
 */
export function readMonitorStatus(store: RolloutStore, monitorId: string): MonitorStatus {
  const state = store.getMonitorState<MonitorState>(monitorId);
  const phase =
    state?.release === undefined
      ? MONITOR_PHASE.idle
      : state.baseline === undefined || state.pendingBaseline !== undefined
        ? MONITOR_PHASE.collectingBaseline
        : MONITOR_PHASE.monitoring;
  const baseline = state?.baseline;
  return {
    monitorId,
    phase,
    ...(state?.release === undefined ? {} : { release: state.release }),
    ...(baseline === undefined
      ? {}
      : {
          baseline: {
            release: baseline.release,
            sinceMillis: baseline.sinceMillis,
            untilMillis: baseline.untilMillis,
            frozenAtMillis: baseline.frozenAtMillis,
            reason: baseline.reason,
            actor: baseline.actor,
            periods: baseline.periods,
            turns: baseline.window.turns,
            users: baseline.window.users,
          },
        }),
    windowIndex: state?.windowIndex ?? 0,
    openAlerts: store.monitorAlerts<MonitorSignal, DriftEvidence>(monitorId, { openOnly: true }),
  };
}
