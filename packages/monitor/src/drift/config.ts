import { ConfigError } from '@agent-canary/conventions';
import { MONITOR_SIGNALS, type MonitorSignal } from './types.js';

/** Options of the behaviour monitor's statistics and alerting. */
export interface BehaviorMonitorOptions {
  /**
   * Release to watch. By default the monitor follows the stable release recorded in the
   * store (promotions of `flagKey`'s rollouts, releases marked stable).
   */
  readonly release?: string;
  /** Release flag whose promotions the monitor follows. @default every flag in the store */
  readonly flagKey?: string;
  /** Id under which state and alerts are stored. @default `monitor:<flagKey or release or 'default'>` */
  readonly monitorId?: string;
  /**
   * Length of a monitoring window. Each window is a fresh test against the baseline
   * (looked at every tick, valid at any cadence); the next window starts afresh, so a
   * change that starts weeks after the freeze is not diluted by weeks of normal data.
   * @default 3_600_000 (1 h)
   */
  readonly windowMillis?: number;
  /** How long to observe a newly promoted release before freezing its baseline. @default 3_600_000 (1 h) */
  readonly baselineMillis?: number;
  /** Fewest turns a baseline needs; collection goes on past `baselineMillis` until reached. @default 1000 */
  readonly minBaselineTurns?: number;
  /** Fewest observations of a signal (in baseline and window) before it may alarm or clear. @default 200 */
  readonly minSamples?: number;
  /**
   * Type-I error budget of ONE window over all enabled signals (Bonferroni split). With
   * 1 h windows, 0.001 means at most one false alert per ~1000 h of stable behaviour.
   * @default 0.001
   */
  readonly alphaPerWindow?: number;
  /** Miscoverage of the baseline rates' upper bounds (the baseline is an estimate, not the truth). @default 0.001 */
  readonly baselineAlpha?: number;
  /** Largest tolerated absolute change of one tool's share (the article's threshold). @default 0.15 */
  readonly maxToolShareChange?: number;
  /** Largest tolerated absolute change of one topic's share. @default 0.15 */
  readonly maxTopicShareChange?: number;
  /** Total-variation distance the mix test's anytime lower bound must exceed. @default 0.05 */
  readonly tvTolerance?: number;
  /** KS distance the length / latency lower bound must exceed. @default 0.1 */
  readonly ksTolerance?: number;
  /** Largest tolerated absolute increase of a rate (refusal, error, feedback), fraction. @default 0.02 */
  readonly maxRateIncrease?: number;
  /** Closed windows judged clear, in a row, before an alert clears and re-arms. @default 2 */
  readonly rearmAfterCleanWindows?: number;
  /** Signals to watch. @default every signal */
  readonly signals?: readonly MonitorSignal[];
  /** Interval of `run()`'s ticks. @default 60_000 */
  readonly tickIntervalMillis?: number;
}

/** Resolved {@link BehaviorMonitorOptions}. */
export interface BehaviorMonitorConfig {
  readonly release?: string;
  readonly flagKey?: string;
  readonly monitorId: string;
  readonly windowMillis: number;
  readonly baselineMillis: number;
  readonly minBaselineTurns: number;
  readonly minSamples: number;
  readonly alphaPerWindow: number;
  readonly baselineAlpha: number;
  readonly maxToolShareChange: number;
  readonly maxTopicShareChange: number;
  readonly tvTolerance: number;
  readonly ksTolerance: number;
  readonly maxRateIncrease: number;
  readonly rearmAfterCleanWindows: number;
  readonly signals: readonly MonitorSignal[];
  readonly tickIntervalMillis: number;
}

/** Defaults of {@link BehaviorMonitorOptions}. */
export const MONITOR_DEFAULTS = Object.freeze({
  windowMillis: 3_600_000,
  baselineMillis: 3_600_000,
  minBaselineTurns: 1000,
  minSamples: 200,
  alphaPerWindow: 0.001,
  baselineAlpha: 0.001,
  maxToolShareChange: 0.15,
  maxTopicShareChange: 0.15,
  tvTolerance: 0.05,
  ksTolerance: 0.1,
  maxRateIncrease: 0.02,
  rearmAfterCleanWindows: 2,
  tickIntervalMillis: 60_000,
});

type NumericField = keyof typeof MONITOR_DEFAULTS;
const POSITIVE_INTEGERS: readonly NumericField[] = [
  'windowMillis',
  'baselineMillis',
  'minBaselineTurns',
  'minSamples',
  'rearmAfterCleanWindows',
  'tickIntervalMillis',
];
const OPEN_UNIT: readonly NumericField[] = [
  'alphaPerWindow',
  'baselineAlpha',
  'maxToolShareChange',
  'maxTopicShareChange',
  'tvTolerance',
  'ksTolerance',
  'maxRateIncrease',
];

/**
 * Resolves monitor options over {@link MONITOR_DEFAULTS}.
 * @throws ConfigError naming the offending field, what was expected and what was received.
 */
export function resolveMonitorConfig(options: BehaviorMonitorOptions = {}): BehaviorMonitorConfig {
  const numbers: Record<NumericField, number> = { ...MONITOR_DEFAULTS };
  for (const field of Object.keys(MONITOR_DEFAULTS) as NumericField[]) {
    const value = options[field];
    if (value !== undefined) numbers[field] = value;
  }
  for (const field of POSITIVE_INTEGERS) {
    const value = numbers[field];
    if (!Number.isInteger(value) || value <= 0)
      throw new ConfigError({ path: field, expected: 'a positive integer', received: value });
  }
  for (const field of OPEN_UNIT) {
    const value = numbers[field];
    if (typeof value !== 'number' || !(value > 0 && value < 1))
      throw new ConfigError({ path: field, expected: 'a fraction in (0, 1)', received: value });
  }
  const signals = options.signals ?? MONITOR_SIGNALS;
  signals.forEach((signal, index) => {
    if (!MONITOR_SIGNALS.includes(signal))
      throw new ConfigError({
        path: `signals[${index}]`,
        expected: `one of ${MONITOR_SIGNALS.join(', ')}`,
        received: signal,
      });
  });
  if (signals.length === 0)
    throw new ConfigError({ path: 'signals', expected: 'at least one signal', received: signals });
  for (const field of ['release', 'flagKey', 'monitorId'] as const) {
    const value = options[field];
    if (value !== undefined && (typeof value !== 'string' || value === ''))
      throw new ConfigError({ path: field, expected: 'a non-empty string', received: value });
  }
  return Object.freeze({
    ...(options.release === undefined ? {} : { release: options.release }),
    ...(options.flagKey === undefined ? {} : { flagKey: options.flagKey }),
    monitorId: options.monitorId ?? `monitor:${options.flagKey ?? options.release ?? 'default'}`,
    ...numbers,
    signals: Object.freeze([...new Set(signals)]),
  });
}
