/**
 * T-LAT: anytime-valid latency test, canary vs control, from bucket counts. The
 * average of a rank-score bet on the body and T-RATE exceedance tests at the
 * reference's upper quantiles (p95, p99), so it reacts both to broad slowdowns and to
 * tail-only regressions at an unchanged median.
 */

import { logMeanExp } from '../special.js';
import {
  type BucketCounts,
  bucketQuantile,
  countAbove,
  quantileBucketIndex,
  totalCount,
  validateBucketCounts,
} from './buckets.js';
import { type EValueDecision, eValueDecision } from './e-value.js';
import { requireOpenUnit, requirePositive, StatsInputError } from './errors.js';
import {
  type BucketEpoch,
  RANK_SCORE_TEST_DEFAULTS,
  RANK_SIDE,
  type RankScoreTestResult,
  rankScoreLogEValue,
  rankScores,
  rankScoreTest,
  validateBucketEpochs,
} from './rank-score.js';
import { RATE_TEST_DEFAULTS, type RateEpoch, type RateTestResult, rateLogEValue, rateTest } from './rate.js';

/** Options of {@link latencyTest}. */
export interface LatencyTestOptions {
  /** Stable traffic's latency buckets frozen at the end of warm-up (non-empty). */
  readonly reference: BucketCounts;
  /** Canary and control counts per ρ0 epoch since the freeze, over the reference's edges. */
  readonly epochs: readonly BucketEpoch[];
  /** Type-I error over the test's whole life, in (0, 1). */
  readonly alpha: number;
  /**
   * Reference quantiles whose bucket edges are the tail cuts c_q; each adds an
   * exceedance T-RATE.
   * @default [0.95, 0.99]
   */
  readonly tailQuantiles?: readonly number[];
  /**
   * Tolerated growth of the tail, ≥ 1: canary exceedances of `tailTolerance`·c_q are
   * counted against control exceedances of c_q (1.1 = "p99 may grow 10%"). The canary's
   * cut is rounded up to the next bucket edge, which only makes the test more lenient.
   * @default 1
   */
  readonly tailTolerance?: number;
  /** Bet sizes of the body's rank-score bet. @default [0.025, 0.05, 0.1, 0.2, 0.4, 0.8] */
  readonly bodyGrid?: readonly number[];
  /** Relative-risk grid of the exceedance tests. @default [1.1, 1.25, 1.5, 2, 3, 5, 10] */
  readonly tailGrid?: readonly number[];
}

/** Resolved options of {@link latencyTest}. */
export interface LatencyTestConfig {
  readonly reference: BucketCounts;
  readonly epochs: readonly BucketEpoch[];
  readonly alpha: number;
  readonly tailQuantiles: readonly number[];
  readonly tailTolerance: number;
  readonly bodyGrid: readonly number[];
  readonly tailGrid: readonly number[];
}

/** Defaults of {@link LatencyTestOptions}. */
export const LATENCY_TEST_DEFAULTS = Object.freeze({
  tailQuantiles: Object.freeze([0.95, 0.99]) as readonly number[],
  tailTolerance: 1,
  bodyGrid: RANK_SCORE_TEST_DEFAULTS.grid,
  tailGrid: RATE_TEST_DEFAULTS.grid,
});

/** One exceedance test of {@link latencyTest}. */
export interface LatencyTailResult {
  /** Reference quantile defining the cut, e.g. 0.99. */
  readonly quantile: number;
  /** Control's cut c_q: the upper edge of the reference's quantile bucket. */
  readonly cut: number;
  /** Canary's cut: the first edge ≥ tailTolerance·c_q (equals `cut` without tolerance). */
  readonly canaryCut: number;
  /**
   * T-RATE on exceedances. Its relative risk is the ratio of the canary's exceedance
   * rate of `canaryCut` to control's of `cut`.
   */
  readonly test: RateTestResult;
}

/** Per-arm quantile at bucket resolution (upper bucket edges). */
export interface LatencyQuantile {
  readonly quantile: number;
  readonly reference: number;
  /** `NaN` without canary data. */
  readonly canary: number;
  /** `NaN` without control data. */
  readonly control: number;
}

/** Result of {@link latencyTest}; `reject`: the canary is slower than control in the body or in a tail. */
export interface LatencyTestResult extends EValueDecision {
  /** The one-sided rank-score bet on the whole distribution. */
  readonly body: RankScoreTestResult;
  readonly tails: readonly LatencyTailResult[];
  /** Median and tail quantiles of reference, canary and control. */
  readonly quantiles: readonly LatencyQuantile[];
}

/**
 * Resolves and validates {@link LatencyTestOptions}.
 *
 * @throws StatsInputError naming the offending field.
 */
export function resolveLatencyTestConfig(options: LatencyTestOptions): LatencyTestConfig {
  validateBucketCounts(options.reference, 'reference');
  if (totalCount(options.reference) <= 0) {
    throw new StatsInputError({
      path: 'reference',
      expected: 'a reference with at least one observation',
      received: 0,
    });
  }
  validateBucketEpochs(options.epochs, options.reference.length);
  requireOpenUnit(options.alpha, 'alpha');
  const tailQuantiles = options.tailQuantiles ?? LATENCY_TEST_DEFAULTS.tailQuantiles;
  if (!Array.isArray(tailQuantiles)) {
    throw new StatsInputError({ path: 'tailQuantiles', expected: 'an array of quantiles', received: tailQuantiles });
  }
  tailQuantiles.forEach((quantile, index) => {
    requireOpenUnit(quantile, `tailQuantiles[${index}]`);
  });
  const tailTolerance = options.tailTolerance ?? LATENCY_TEST_DEFAULTS.tailTolerance;
  requirePositive(tailTolerance, 'tailTolerance');
  if (tailTolerance < 1) {
    throw new StatsInputError({ path: 'tailTolerance', expected: 'a number ≥ 1', received: tailTolerance });
  }
  return {
    reference: options.reference,
    epochs: options.epochs,
    alpha: options.alpha,
    tailQuantiles,
    tailTolerance,
    bodyGrid: options.bodyGrid ?? LATENCY_TEST_DEFAULTS.bodyGrid,
    tailGrid: options.tailGrid ?? LATENCY_TEST_DEFAULTS.tailGrid,
  };
}

/** A tail cut of T-LAT, derived from the frozen reference. */
export interface LatencyCut {
  /** Reference quantile defining the cut, e.g. 0.99. */
  readonly quantile: number;
  /** Index of the reference bucket whose upper edge is control's cut. */
  readonly cutIndex: number;
  /** Index of the bucket whose upper edge is the canary's cut (≥ cutIndex). */
  readonly canaryCutIndex: number;
}

/** What T-LAT derives once from a frozen reference: bucket scores and tail cuts. */
export interface LatencyReference {
  readonly reference: BucketCounts;
  /** Rank score 2u − 1 per bucket. */
  readonly scores: readonly number[];
  readonly cuts: readonly LatencyCut[];
}

/**
 * Derives the bucket scores and tail cuts of T-LAT from a frozen reference, once, for
 * repeated evaluation with {@link latencyLogEValue} (simulations, benchmarks).
 *
 * @throws StatsInputError on invalid options.
 */
export function prepareLatencyReference(
  options: Pick<LatencyTestOptions, 'reference' | 'tailQuantiles' | 'tailTolerance'>,
): LatencyReference {
  // Epochs and alpha play no part in the preparation; neutral values pass validation.
  const config = resolveLatencyTestConfig({ ...options, epochs: [], alpha: 0.5 });
  const { reference, tailTolerance } = config;
  return {
    reference,
    scores: rankScores(reference),
    cuts: config.tailQuantiles.map((quantile) => {
      const cutIndex = quantileBucketIndex(reference, quantile);
      const cut = reference[cutIndex]?.upper ?? Number.NaN;
      return { quantile, cutIndex, canaryCutIndex: firstEdgeAtLeast(reference, cut * tailTolerance, cutIndex) };
    }),
  };
}

function tailEpochs(epochs: readonly BucketEpoch[], cut: LatencyCut): RateEpoch[] {
  return epochs.map((epoch) => {
    const canaryEvents = countAbove(epoch.canary, cut.canaryCutIndex);
    return { rho0: epoch.rho0, canaryEvents, totalEvents: canaryEvents + countAbove(epoch.control, cut.cutIndex) };
  });
}

/**
 * ln E of T-LAT for a prepared reference and epochs aligned with it, without
 * validation, summaries or bounds: the cheap path for simulations. Equals
 * `latencyTest(...).logEValue`.
 */
export function latencyLogEValue(
  prepared: LatencyReference,
  epochs: readonly BucketEpoch[],
  bodyGrid: readonly number[] = LATENCY_TEST_DEFAULTS.bodyGrid,
  tailGrid: readonly number[] = LATENCY_TEST_DEFAULTS.tailGrid,
): number {
  const body = rankScoreLogEValue(prepared.scores, epochs, RANK_SIDE.greater, bodyGrid);
  const tails = prepared.cuts.map((cut) => rateLogEValue(tailEpochs(epochs, cut), 1, tailGrid));
  return logMeanExp([body, ...tails]);
}

/**
 * T-LAT (statistics.md §3.2): anytime-valid one-sided test that the canary is slower
 * than control.
 *
 * Assumes random routing at each epoch's ρ0 and a reference frozen before the counted
 * observations. Rejecting a tail test means the canary's quantile at level 1 − π exceeds
 * control's, where π is control's exceedance share of the cut (≈ 1 − q); it needs no
 * knowledge of π. Report the per-arm quantiles and the exceedance relative-risk bounds.
 * Tail-only regressions are slow to detect by nature (a +20% p99 needs thousands of
 * canary requests even for an oracle).
 *
 * @throws StatsInputError on invalid options.
 */
export function latencyTest(options: LatencyTestOptions): LatencyTestResult {
  const config = resolveLatencyTestConfig(options);
  const { reference, epochs, alpha } = config;
  const body = rankScoreTest({ reference, epochs, alpha, side: RANK_SIDE.greater, grid: config.bodyGrid });
  const prepared = prepareLatencyReference(config);
  const tails = prepared.cuts.map(
    (cut): LatencyTailResult => ({
      quantile: cut.quantile,
      cut: reference[cut.cutIndex]?.upper ?? Number.NaN,
      canaryCut: reference[cut.canaryCutIndex]?.upper ?? Number.NaN,
      test: rateTest({ epochs: tailEpochs(epochs, cut), alpha, grid: config.tailGrid }),
    }),
  );
  const logEValue = logMeanExp([body.logEValue, ...tails.map((tail) => tail.test.logEValue)]);
  return {
    ...eValueDecision(logEValue, alpha),
    body,
    tails,
    quantiles: [0.5, ...config.tailQuantiles].map((quantile) => armQuantiles(reference, epochs, quantile)),
  };
}

function firstEdgeAtLeast(buckets: BucketCounts, value: number, from: number): number {
  for (let index = Math.max(from, 0); index < buckets.length; index += 1) {
    if ((buckets[index]?.upper ?? Number.POSITIVE_INFINITY) >= value) return index;
  }
  return buckets.length - 1;
}

function armQuantiles(reference: BucketCounts, epochs: readonly BucketEpoch[], quantile: number): LatencyQuantile {
  const pooled = (arm: 'canary' | 'control'): BucketCounts =>
    reference.map((bucket, b) => ({
      upper: bucket.upper,
      count: epochs.reduce((sum, epoch) => sum + (epoch[arm][b] ?? 0), 0),
    }));
  return {
    quantile,
    reference: bucketQuantile(reference, quantile),
    canary: bucketQuantile(pooled('canary'), quantile),
    control: bucketQuantile(pooled('control'), quantile),
  };
}
