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
   * Length of a monitoring window: one subject period of the source (the processor's
   * `subjectPeriodMillis`), aligned to the epoch, so each user counts once per window.
   * Each window is a fresh test against the baseline (looked at every tick, valid at any
   * cadence). Must equal the source's subject period when the source states one.
   * @default the source's `subjectPeriodMillis`, else 3_600_000 (1 h)
   */
  readonly windowMillis?: number;
  /**
   * How long to observe a newly stable release before freezing its baseline; rounded up
   * to whole windows (subject periods), which is what the baseline is made of.
   * @default 3_600_000 (1 h)
   */
  readonly baselineMillis?: number;
  /** Fewest users a baseline needs; collection goes on, a window at a time, until reached. @default 1000 */
  readonly minBaselineUsers?: number;
  /** Fewest users behind a signal (in baseline and window) before it may alarm or clear. @default 200 */
  readonly minUsers?: number;
  /**
   * Type-I error budget of ONE window over all enabled signals (Bonferroni split). With
   * 1 h windows, 0.001 means at most one false alert per ~1000 h of stable behaviour.
   * @default 0.001
   */
  readonly alphaPerWindow?: number;
  /**
   * Miscoverage of each signal's baseline bounds (the baseline is an estimate, not the
   * truth), spent once for the baseline's life.
   * @default 0.001
   */
  readonly baselineAlpha?: number;
  /** Largest tolerated change of one tool's share among users' first tool calls, in points (0..1). @default 0.02 */
  readonly maxToolShareChange?: number;
  /** Largest tolerated change of one topic's share among users' first topics, in points (0..1). @default 0.02 */
  readonly maxTopicShareChange?: number;
  /** Largest tolerated KS distance of users' first-turn length and latency distributions. @default 0.1 */
  readonly ksTolerance?: number;
  /**
   * Largest tolerated ratio of the share of users with an adverse event (refusal, error,
   * thumbs-down, regeneration, takeover) to the baseline's.
   * @default 1.1
   */
  readonly maxRateRatio?: number;
  /** Largest tolerated ratio of users' first-turn latency p95 (and p99) to the baseline's. @default 1.2 */
  readonly maxTailLatencyRatio?: number;
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
  readonly minBaselineUsers: number;
  readonly minUsers: number;
  readonly alphaPerWindow: number;
  readonly baselineAlpha: number;
  readonly maxToolShareChange: number;
  readonly maxTopicShareChange: number;
  readonly ksTolerance: number;
  readonly maxRateRatio: number;
  readonly maxTailLatencyRatio: number;
  readonly rearmAfterCleanWindows: number;
  readonly signals: readonly MonitorSignal[];
  readonly tickIntervalMillis: number;
}

/** Defaults of {@link BehaviorMonitorOptions} (`windowMillis`: when the source states no subject period). */
export const MONITOR_DEFAULTS = Object.freeze({
  windowMillis: 3_600_000,
  baselineMillis: 3_600_000,
  minBaselineUsers: 1000,
  minUsers: 200,
  alphaPerWindow: 0.001,
  baselineAlpha: 0.001,
  maxToolShareChange: 0.02,
  maxTopicShareChange: 0.02,
  ksTolerance: 0.1,
  maxRateRatio: 1.1,
  maxTailLatencyRatio: 1.2,
  rearmAfterCleanWindows: 2,
  tickIntervalMillis: 60_000,
});

type NumericField = keyof typeof MONITOR_DEFAULTS;
const POSITIVE_INTEGERS: readonly NumericField[] = [
  'windowMillis',
  'baselineMillis',
  'minBaselineUsers',
  'minUsers',
  'rearmAfterCleanWindows',
  'tickIntervalMillis',
];
const OPEN_UNIT: readonly NumericField[] = [
  'alphaPerWindow',
  'baselineAlpha',
  'maxToolShareChange',
  'maxTopicShareChange',
  'ksTolerance',
];
const RATIOS: readonly NumericField[] = ['maxRateRatio', 'maxTailLatencyRatio'];

/**
 * Resolves monitor options over {@link MONITOR_DEFAULTS}. `sourcePeriodMillis` is the
 * subject period of the monitor's source, when it states one: the window defaults to it
 * and may not differ from it.
 * @throws ConfigError naming the offending field, what was expected and what was received.
 */
export function resolveMonitorConfig(
  options: BehaviorMonitorOptions = {},
  sourcePeriodMillis?: number,
): BehaviorMonitorConfig {
  const numbers: Record<NumericField, number> = { ...MONITOR_DEFAULTS };
  if (sourcePeriodMillis !== undefined) numbers.windowMillis = sourcePeriodMillis;
  for (const field of Object.keys(MONITOR_DEFAULTS) as NumericField[]) {
    const value = options[field];
    if (value !== undefined) numbers[field] = value;
  }
  for (const field of POSITIVE_INTEGERS) {
    const value = numbers[field];
    if (!Number.isInteger(value) || value <= 0)
      throw new ConfigError({ path: field, expected: 'a positive integer', received: value });
  }
  if (sourcePeriodMillis !== undefined && numbers.windowMillis !== sourcePeriodMillis) {
    throw new ConfigError({
      path: 'windowMillis',
      expected: `the source's subject period (${sourcePeriodMillis} ms), so that each user counts once per window`,
      received: numbers.windowMillis,
    });
  }
  for (const field of OPEN_UNIT) {
    const value = numbers[field];
    if (typeof value !== 'number' || !(value > 0 && value < 1))
      throw new ConfigError({ path: field, expected: 'a fraction in (0, 1)', received: value });
  }
  for (const field of RATIOS) {
    const value = numbers[field];
    if (typeof value !== 'number' || !(value > 1 && Number.isFinite(value)))
      throw new ConfigError({ path: field, expected: 'a finite ratio > 1', received: value });
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
