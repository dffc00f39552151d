import { FEEDBACK_KIND } from '@agent-canary/conventions';
import {
  alignBucketCounts,
  type BucketCounts,
  baselineRateTest,
  bernoulliUpperBound,
  bucketQuantile,
  ksDriftTest,
  multinomialDriftTest,
} from '@agent-canary/stats';
import type { BehaviorMonitorConfig } from './config.js';
import {
  MONITOR_SIGNAL,
  type MonitorSignal,
  type MonitorWindow,
  SIGNAL_STATUS,
  type SignalEvaluation,
} from './types.js';

/**
 * Evaluates every enabled signal of `current` against `baseline`. Each signal alarms
 * only when an anytime-valid test AND an effect-size threshold agree:
 * - tool and topic mix: Dirichlet-multinomial e-value with a TV lower bound above
 *   `tvTolerance`, and one category's share moved by more than its threshold;
 * - answer length and latency: KS distance whose time-uniform lower bound (both samples'
 *   DKW bands subtracted) exceeds `ksTolerance`;
 * - refusal, error and feedback rates: one-sided e-process against the baseline rate's
 *   upper confidence bound, and an absolute increase above `maxRateIncrease`.
 * `alpha` is the error budget of each signal in this window.
 */
export function evaluateSignals(
  baseline: MonitorWindow,
  current: MonitorWindow,
  config: BehaviorMonitorConfig,
  alpha: number,
): SignalEvaluation[] {
  return config.signals.map((signal) => evaluateSignal(signal, baseline, current, config, alpha));
}

function evaluateSignal(
  signal: MonitorSignal,
  baseline: MonitorWindow,
  current: MonitorWindow,
  config: BehaviorMonitorConfig,
  alpha: number,
): SignalEvaluation {
  switch (signal) {
    case MONITOR_SIGNAL.toolMix:
      return mixSignal(signal, 'tool', baseline.toolCalls, current.toolCalls, config.maxToolShareChange, config, alpha);
    case MONITOR_SIGNAL.topicMix:
      return mixSignal(signal, 'topic', baseline.topics, current.topics, config.maxTopicShareChange, config, alpha);
    case MONITOR_SIGNAL.responseLength:
      return distributionSignal(signal, 'answer length', baseline.outputLength, current.outputLength, config, alpha);
    case MONITOR_SIGNAL.latency:
      return distributionSignal(
        signal,
        'turn latency (ms)',
        baseline.latencyMillis,
        current.latencyMillis,
        config,
        alpha,
      );
    case MONITOR_SIGNAL.refusalRate:
      return rateSignal(
        signal,
        'refusal',
        baseline.refusals,
        baseline.turns,
        current.refusals,
        current.turns,
        config,
        alpha,
      );
    case MONITOR_SIGNAL.errorRate:
      return rateSignal(signal, 'error', baseline.errors, baseline.turns, current.errors, current.turns, config, alpha);
    case MONITOR_SIGNAL.thumbsDownRate:
      return feedbackSignal(signal, FEEDBACK_KIND.thumbsDown, baseline, current, config, alpha);
    case MONITOR_SIGNAL.regenerateRate:
      return feedbackSignal(signal, FEEDBACK_KIND.regenerate, baseline, current, config, alpha);
    case MONITOR_SIGNAL.humanTakeoverRate:
      return feedbackSignal(signal, FEEDBACK_KIND.humanTakeover, baseline, current, config, alpha);
  }
}

function sum(counts: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const count of Object.values(counts)) total += count;
  return total;
}

function round(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 1000) / 1000) : String(value);
}

function enough(config: BehaviorMonitorConfig, baselineSamples: number, samples: number): boolean {
  return baselineSamples >= config.minSamples && samples >= config.minSamples;
}

function insufficient(
  signal: MonitorSignal,
  effect: string,
  statistic: string,
  baselineSamples: number,
  samples: number,
  config: BehaviorMonitorConfig,
  alpha: number,
  threshold: number,
): SignalEvaluation {
  return {
    signal,
    status: SIGNAL_STATUS.undecided,
    baselineValue: Number.NaN,
    currentValue: Number.NaN,
    effect,
    effectSize: Number.NaN,
    effectThreshold: threshold,
    statistic,
    statisticValue: Number.NaN,
    boundary: Number.NaN,
    alpha,
    samples,
    baselineSamples,
    reason: `not enough data (${baselineSamples} baseline vs ${samples} current samples, need ${config.minSamples})`,
  };
}

function mixSignal(
  signal: MonitorSignal,
  noun: string,
  baselineCounts: Readonly<Record<string, number>>,
  counts: Readonly<Record<string, number>>,
  maxShareChange: number,
  config: BehaviorMonitorConfig,
  alpha: number,
): SignalEvaluation {
  const baselineSamples = sum(baselineCounts);
  const samples = sum(counts);
  if (!enough(config, baselineSamples, samples))
    return insufficient(signal, 'max_share_change', 'e_value', baselineSamples, samples, config, alpha, maxShareChange);
  const test = multinomialDriftTest({ counts, baseline: baselineCounts, alpha, tvTolerance: config.tvTolerance });
  let moved = test.categories[0];
  for (const category of test.categories) {
    if (
      moved === undefined ||
      Math.abs(category.share - category.baselineShare) > Math.abs(moved.share - moved.baselineShare)
    )
      moved = category;
  }
  const change = moved === undefined ? 0 : Math.abs(moved.share - moved.baselineShare);
  const material = change > maxShareChange;
  const status =
    test.alarm && material
      ? SIGNAL_STATUS.alarm
      : material || test.alarm
        ? SIGNAL_STATUS.undecided
        : SIGNAL_STATUS.clear;
  const what = moved === undefined ? noun : `${noun} ${moved.key}`;
  return {
    signal,
    status,
    ...(moved === undefined ? {} : { subject: moved.key }),
    baselineValue: moved?.baselineShare ?? Number.NaN,
    currentValue: moved?.share ?? Number.NaN,
    effect: 'max_share_change',
    effectSize: change,
    effectThreshold: maxShareChange,
    statistic: 'e_value',
    statisticValue: test.eValue,
    boundary: test.boundary,
    alpha,
    samples,
    baselineSamples,
    reason:
      `share of ${what} moved from ${round(moved?.baselineShare ?? Number.NaN)} to ${round(moved?.share ?? Number.NaN)} ` +
      `(|Δ| ${round(change)} vs ${maxShareChange}); mix e-value ${round(test.eValue)} vs ${round(test.boundary)}, ` +
      `TV ${round(test.totalVariation)} (lower bound ${round(test.tvLower)} vs ${config.tvTolerance}), PSI ${round(test.populationStabilityIndex)}`,
  };
}

function total(buckets: BucketCounts): number {
  let count = 0;
  for (const bucket of buckets) count += bucket.count;
  return count;
}

function distributionSignal(
  signal: MonitorSignal,
  noun: string,
  baseline: BucketCounts,
  current: BucketCounts,
  config: BehaviorMonitorConfig,
  alpha: number,
): SignalEvaluation {
  const baselineSamples = total(baseline);
  const samples = total(current);
  if (!enough(config, baselineSamples, samples))
    return insufficient(
      signal,
      'ks_distance',
      'ks_lower_bound',
      baselineSamples,
      samples,
      config,
      alpha,
      config.ksTolerance,
    );
  const aligned = alignBucketCounts(baseline, [current]);
  const test = ksDriftTest({
    reference: aligned.reference,
    observed: aligned.counts[0] ?? [],
    alpha,
    tolerance: config.ksTolerance,
  });
  const status = test.alarm
    ? SIGNAL_STATUS.alarm
    : test.ks <= config.ksTolerance
      ? SIGNAL_STATUS.clear
      : SIGNAL_STATUS.undecided;
  const baselineMedian = bucketQuantile(baseline, 0.5);
  const currentMedian = bucketQuantile(current, 0.5);
  return {
    signal,
    status,
    subject: 'median',
    baselineValue: baselineMedian,
    currentValue: currentMedian,
    effect: 'ks_distance',
    effectSize: test.ks,
    effectThreshold: config.ksTolerance,
    statistic: 'ks_lower_bound',
    statisticValue: test.ksLower,
    boundary: config.ksTolerance,
    alpha,
    samples,
    baselineSamples,
    reason:
      `${noun} median ${round(baselineMedian)} -> ${round(currentMedian)}; KS ${round(test.ks)} ` +
      `(anytime lower bound ${round(test.ksLower)} vs ${config.ksTolerance}), W1/mean ${round(test.normalisedWasserstein)}`,
  };
}

function rateSignal(
  signal: MonitorSignal,
  noun: string,
  baselineEvents: number,
  baselineTrials: number,
  events: number,
  trials: number,
  config: BehaviorMonitorConfig,
  alpha: number,
): SignalEvaluation {
  if (!enough(config, baselineTrials, trials))
    return insufficient(
      signal,
      'rate_increase',
      'e_value',
      baselineTrials,
      trials,
      config,
      alpha,
      config.maxRateIncrease,
    );
  const baselineRate = baselineEvents / baselineTrials;
  // The baseline is an estimate: test against its upper bound so its own noise cannot alarm.
  const nullRate = Math.min(
    1 - 1e-9,
    Math.max(1e-9, bernoulliUpperBound(baselineEvents, baselineTrials, config.baselineAlpha)),
  );
  const test = baselineRateTest({ events: Math.min(events, trials), trials, baselineRate: nullRate, alpha });
  const increase = test.rate - baselineRate;
  const material = increase > config.maxRateIncrease;
  const status =
    test.reject && material
      ? SIGNAL_STATUS.alarm
      : material || test.reject
        ? SIGNAL_STATUS.undecided
        : SIGNAL_STATUS.clear;
  return {
    signal,
    status,
    subject: noun,
    baselineValue: baselineRate,
    currentValue: test.rate,
    effect: 'rate_increase',
    effectSize: increase,
    effectThreshold: config.maxRateIncrease,
    statistic: 'e_value',
    statisticValue: test.eValue,
    boundary: test.boundary,
    alpha,
    samples: trials,
    baselineSamples: baselineTrials,
    reason:
      `${noun} rate ${round(baselineRate)} -> ${round(test.rate)} (+${round(increase)} vs ${config.maxRateIncrease}); ` +
      `e-value ${round(test.eValue)} vs ${round(test.boundary)} against the baseline's upper bound ${round(nullRate)}`,
  };
}

function feedbackSignal(
  signal: MonitorSignal,
  kind: string,
  baseline: MonitorWindow,
  current: MonitorWindow,
  config: BehaviorMonitorConfig,
  alpha: number,
): SignalEvaluation {
  // Per turn: the exposure every feedback kind shares, whatever the rating propensity.
  return rateSignal(
    signal,
    kind.replace('_', ' '),
    baseline.feedback[kind] ?? 0,
    baseline.turns,
    current.feedback[kind] ?? 0,
    current.turns,
    config,
    alpha,
  );
}
