import { ConfigError } from '@agent-canary/conventions';
import {
  jensenShannon,
  populationStabilityIndex,
  QuantileSketch,
  type SketchSnapshot,
  sketchDistances,
} from '@agent-canary/stats';
import type { AggregateSnapshot } from './aggregate.js';

/**
 * The article's behaviour profile of one release (or cohort) over a window, built from
 * counts and sketches only: no prompt or answer content is kept.
 */
export interface BehaviorProfile {
  /** Turns in the window. */
  readonly turns: number;
  /** Tool calls in the window. */
  readonly toolCalls: number;
  /** Share of each tool among tool calls (sums to 1; empty without tool calls). */
  readonly toolCallDistribution: Readonly<Record<string, number>>;
  /** Tool calls per tool (the counts behind the shares). */
  readonly toolCallCounts: Readonly<Record<string, number>>;
  /** Mean answer length, characters (NaN without lengths). */
  readonly avgResponseLength: number;
  /** Answer-length distribution. */
  readonly responseLength: SketchSnapshot;
  /** Share of each topic among classified turns. */
  readonly topicDistribution: Readonly<Record<string, number>>;
  /** Turns per topic. */
  readonly topicCounts: Readonly<Record<string, number>>;
  /** Refusal indicators: how many turns were flagged as refusals, and the rate (NaN without turns). */
  readonly refusalIndicators: { readonly refusals: number; readonly refusalRate: number };
}

/** Builds a {@link BehaviorProfile} from window aggregates (e.g. `selectSeries(window, { release })`). */
export function buildBehaviorProfile(aggregate: AggregateSnapshot): BehaviorProfile {
  const toolCallCounts: Record<string, number> = {};
  let toolCalls = 0;
  for (const [tool, counts] of Object.entries(aggregate.toolCalls)) {
    const total = counts.ok + counts.error;
    if (total === 0) continue;
    toolCallCounts[tool] = total;
    toolCalls += total;
  }
  const topicCounts = { ...aggregate.topics.counts };
  const topicTotal = Object.values(topicCounts).reduce((sum, count) => sum + count, 0);
  const length = aggregate.outputLength;
  return {
    turns: aggregate.turns,
    toolCalls,
    toolCallDistribution: shares(toolCallCounts, toolCalls),
    toolCallCounts,
    avgResponseLength: length.count > 0 ? length.sum / length.count : Number.NaN,
    responseLength: length,
    topicDistribution: shares(topicCounts, topicTotal),
    topicCounts,
    refusalIndicators: {
      refusals: aggregate.refusals,
      refusalRate: aggregate.turns > 0 ? aggregate.refusals / aggregate.turns : Number.NaN,
    },
  };
}

function shares(counts: Readonly<Record<string, number>>, total: number): Record<string, number> {
  const result: Record<string, number> = {};
  if (total === 0) return result;
  for (const [name, count] of Object.entries(counts)) result[name] = count / total;
  return result;
}

/** Which drift signal a {@link DriftSignal} reports. */
export const DRIFT_SIGNAL = {
  toolShare: 'tool_share',
  toolMixJs: 'tool_mix_js_distance',
  toolMixPsi: 'tool_mix_psi',
  lengthKs: 'length_ks',
  lengthW1: 'length_w1',
  topicJs: 'topic_js_distance',
  refusalRate: 'refusal_rate',
} as const;
/** One of {@link DRIFT_SIGNAL}. */
export type DriftSignalName = (typeof DRIFT_SIGNAL)[keyof typeof DRIFT_SIGNAL];

/** Options of {@link compareProfiles}: thresholds on each effect size. */
export interface DriftOptions {
  /** Largest allowed absolute change of one tool's share (the article's threshold). @default 0.15 */
  readonly maxToolShareDrift?: number;
  /**
   * Largest allowed Jensen–Shannon distance (square root of the divergence in bits, 0..1)
   * of the tool mix; 0.1 is Evidently's default for categorical drift.
   * @default 0.1
   */
  readonly maxToolMixJsDistance?: number;
  /** Largest allowed PSI of the tool mix (> 0.25 is a "major shift"). @default 0.25 */
  readonly maxToolMixPsi?: number;
  /** Largest allowed KS distance of the answer-length distribution. @default 0.1 */
  readonly maxLengthKs?: number;
  /** Largest allowed Wasserstein-1 distance of answer lengths, relative to the baseline mean. @default 0.1 */
  readonly maxLengthW1Normalised?: number;
  /** Largest allowed Jensen–Shannon distance (0..1) of the topic mix. @default 0.1 */
  readonly maxTopicJsDistance?: number;
  /** Largest allowed increase of the refusal rate (fraction, current − baseline). @default 0.02 */
  readonly maxRefusalRateIncrease?: number;
  /** Fewest samples on each side before a signal may report drift. @default 100 */
  readonly minSamples?: number;
}

/** Resolved {@link DriftOptions}. */
export type DriftConfig = Readonly<Required<DriftOptions>>;

/** Defaults of {@link DriftOptions}. */
export const DRIFT_DEFAULTS: DriftConfig = Object.freeze({
  maxToolShareDrift: 0.15,
  maxToolMixJsDistance: 0.1,
  maxToolMixPsi: 0.25,
  maxLengthKs: 0.1,
  maxLengthW1Normalised: 0.1,
  maxTopicJsDistance: 0.1,
  maxRefusalRateIncrease: 0.02,
  minSamples: 100,
});

/** One drift signal: which moved, by how much, against what threshold, on how many samples. */
export interface DriftSignal {
  readonly signal: DriftSignalName;
  /** The tool, for `tool_share`. */
  readonly tool?: string;
  /** Magnitude of the change (absolute share change, divergence or distance). NaN without data. */
  readonly value: number;
  readonly threshold: number;
  /** Baseline and current values where they have a meaning of their own (shares, rates). */
  readonly baselineValue?: number;
  readonly currentValue?: number;
  readonly baselineSamples: number;
  readonly currentSamples: number;
  /** True when both sides have `minSamples` and `value > threshold`. */
  readonly drifted: boolean;
  /** False when a side has fewer than `minSamples`: the signal says nothing yet. */
  readonly enoughData: boolean;
  /** One sentence for humans. */
  readonly reason: string;
}

/** Result of {@link compareProfiles}. */
export interface DriftReport {
  /** True when any signal drifted. */
  readonly drifted: boolean;
  /** Every signal computed, drifted ones first. */
  readonly signals: readonly DriftSignal[];
}

function resolveDrift(options: DriftOptions): DriftConfig {
  const config = { ...DRIFT_DEFAULTS, ...options };
  for (const [field, value] of Object.entries(config)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new ConfigError({ path: field, expected: 'a finite number >= 0', received: value });
    }
  }
  return Object.freeze(config);
}

/**
 * Behaviour drift of `current` against `baseline` (the article's monitor, made robust):
 * per-tool absolute share change against 0.15, JS distance and PSI of the tool mix, KS
 * and normalised W1 of answer lengths, JS distance of topics, and the refusal-rate increase. These are
 * effect sizes, not tests: pair them with the gate's sequential tests before acting.
 * @throws ConfigError when a threshold is invalid.
 */
export function compareProfiles(
  baseline: BehaviorProfile,
  current: BehaviorProfile,
  options: DriftOptions = {},
): DriftReport {
  const config = resolveDrift(options);
  const signals: DriftSignal[] = [];
  const make = (
    signal: DriftSignalName,
    value: number,
    threshold: number,
    baselineSamples: number,
    currentSamples: number,
    describe: string,
    extra: { tool?: string; baselineValue?: number; currentValue?: number } = {},
  ): DriftSignal => {
    const enoughData = baselineSamples >= config.minSamples && currentSamples >= config.minSamples;
    const drifted = enoughData && value > threshold;
    const verdict = !enoughData
      ? `not enough data (${baselineSamples} vs ${currentSamples} samples, need ${config.minSamples})`
      : drifted
        ? `above the threshold ${threshold}`
        : `within the threshold ${threshold}`;
    return {
      signal,
      ...extra,
      value,
      threshold,
      baselineSamples,
      currentSamples,
      drifted,
      enoughData,
      reason: `${describe} = ${round(value)}: ${verdict}`,
    };
  };

  const tools = new Set([...Object.keys(baseline.toolCallDistribution), ...Object.keys(current.toolCallDistribution)]);
  for (const tool of [...tools].sort()) {
    const before = baseline.toolCallDistribution[tool] ?? 0;
    const after = current.toolCallDistribution[tool] ?? 0;
    signals.push(
      make(
        DRIFT_SIGNAL.toolShare,
        Math.abs(after - before),
        config.maxToolShareDrift,
        baseline.toolCalls,
        current.toolCalls,
        `share of tool ${tool} moved from ${round(before)} to ${round(after)}, |Δ|`,
        { tool, baselineValue: before, currentValue: after },
      ),
    );
  }
  signals.push(
    make(
      DRIFT_SIGNAL.toolMixJs,
      Math.sqrt(jensenShannon(baseline.toolCallCounts, current.toolCallCounts)),
      config.maxToolMixJsDistance,
      baseline.toolCalls,
      current.toolCalls,
      'tool-mix Jensen–Shannon distance',
    ),
    make(
      DRIFT_SIGNAL.toolMixPsi,
      populationStabilityIndex(baseline.toolCallCounts, current.toolCallCounts),
      config.maxToolMixPsi,
      baseline.toolCalls,
      current.toolCalls,
      'tool-mix PSI',
    ),
  );
  const lengths = sketchDistances(
    QuantileSketch.fromJSON(baseline.responseLength),
    QuantileSketch.fromJSON(current.responseLength),
  );
  signals.push(
    make(
      DRIFT_SIGNAL.lengthKs,
      lengths.ks,
      config.maxLengthKs,
      lengths.referenceCount,
      lengths.currentCount,
      'answer-length KS distance',
    ),
    make(
      DRIFT_SIGNAL.lengthW1,
      lengths.wasserstein1Normalised,
      config.maxLengthW1Normalised,
      lengths.referenceCount,
      lengths.currentCount,
      'answer-length Wasserstein-1 / baseline mean',
      { baselineValue: baseline.avgResponseLength, currentValue: current.avgResponseLength },
    ),
  );
  const topicTotal = (profile: BehaviorProfile) => Object.values(profile.topicCounts).reduce((sum, n) => sum + n, 0);
  signals.push(
    make(
      DRIFT_SIGNAL.topicJs,
      Math.sqrt(jensenShannon(baseline.topicCounts, current.topicCounts)),
      config.maxTopicJsDistance,
      topicTotal(baseline),
      topicTotal(current),
      'topic Jensen–Shannon distance',
    ),
  );
  const before = baseline.refusalIndicators.refusalRate;
  const after = current.refusalIndicators.refusalRate;
  signals.push(
    make(
      DRIFT_SIGNAL.refusalRate,
      after - before,
      config.maxRefusalRateIncrease,
      baseline.turns,
      current.turns,
      `refusal rate moved from ${round(before)} to ${round(after)}, increase`,
      { baselineValue: before, currentValue: after },
    ),
  );
  signals.sort((a, b) => Number(b.drifted) - Number(a.drifted));
  return { drifted: signals.some((signal) => signal.drifted), signals };
}

function round(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 1000) / 1000) : String(value);
}
