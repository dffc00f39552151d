/**
 * Time-uniform DKW confidence band (Howard & Ramdas 2022) and the KS drift test of a
 * continuous metric (length, similarity, latency) against a reference, from bucket
 * counts.
 */

import { type BucketCounts, totalCount, validateAlignedCounts, validateBucketCounts } from './buckets.js';
import { requireCount, requireOpenUnit, StatsInputError } from './errors.js';

/**
 * Half-width ε_t(α) of the time-uniform DKW band: with probability ≥ 1 − α, the
 * empirical CDF of the first t observations stays within ε_t of the true CDF at every
 * point and for every t ≥ 1 simultaneously.
 *
 * ε_t(α) = 0.85·√((ln ln(e·t) + 0.8·ln(1612/α)) / t) — about 1.8× the fixed-n DKW width
 * at t = 10⁴. `Infinity` for t < 1.
 *
 * @throws StatsInputError if alpha is not in (0, 1).
 */
export function dkwBand(t: number, alpha: number): number {
  requireOpenUnit(alpha, 'alpha');
  if (!(t >= 1)) return Number.POSITIVE_INFINITY;
  return 0.85 * Math.sqrt((Math.log(Math.log(Math.E * t)) + 0.8 * Math.log(1612 / alpha)) / t);
}

/** Options of {@link ksDriftTest}. */
export interface KsDriftTestOptions {
  /** Reference distribution (e.g. stable's frozen sketch or a historical profile). */
  readonly reference: BucketCounts;
  /** Observed counts per reference bucket (same length and order). */
  readonly observed: readonly number[];
  /** Miscoverage of the two bands together, in (0, 1); each gets alpha/2. */
  readonly alpha: number;
  /**
   * Alarm when the KS distance exceeds this even after subtracting both bands.
   * @default 0.1
   */
  readonly tolerance?: number;
}

/** Resolved options of {@link ksDriftTest}. */
export interface KsDriftTestConfig {
  readonly reference: BucketCounts;
  readonly observed: readonly number[];
  readonly alpha: number;
  readonly tolerance: number;
}

/** Defaults of {@link KsDriftTestOptions}. */
export const KS_DRIFT_TEST_DEFAULTS = Object.freeze({ tolerance: 0.1 });

/** Result of {@link ksDriftTest}. */
export interface KsDriftTestResult {
  /** max_b |F̂_observed(b) − F̂_reference(b)| over bucket edges (exact there). */
  readonly ks: number;
  /** Upper edge where the KS distance is reached (`NaN` without data). */
  readonly ksAt: number;
  /** ks − ε_observed − ε_reference: an anytime-valid lower bound on the true KS distance. */
  readonly ksLower: number;
  readonly observedBand: number;
  readonly referenceBand: number;
  readonly tolerance: number;
  /** ksLower > tolerance: the distribution has drifted by more than the tolerance. */
  readonly alarm: boolean;
  readonly observations: number;
  readonly referenceObservations: number;
  /**
   * Wasserstein-1 distance ≈ Σ_b |ΔF(b)|·(next edge − b), divided by the reference's
   * mean at bucket resolution (`NaN` when the mean is 0); effect size for reports.
   */
  readonly normalisedWasserstein: number;
}

/**
 * Resolves and validates {@link KsDriftTestOptions}.
 *
 * @throws StatsInputError naming the offending field.
 */
export function resolveKsDriftTestConfig(options: KsDriftTestOptions): KsDriftTestConfig {
  validateBucketCounts(options.reference, 'reference');
  validateAlignedCounts(options.observed, options.reference.length, 'observed');
  requireOpenUnit(options.alpha, 'alpha');
  const tolerance = options.tolerance ?? KS_DRIFT_TEST_DEFAULTS.tolerance;
  requireCount(tolerance, 'tolerance');
  if (tolerance >= 1)
    throw new StatsInputError({ path: 'tolerance', expected: 'a distance in [0, 1)', received: tolerance });
  return { reference: options.reference, observed: options.observed, alpha: options.alpha, tolerance };
}

/**
 * KS drift test (statistics.md §3.4): alarms when the observed distribution is farther
 * than `tolerance` in KS distance from the reference, with both samples' time-uniform
 * DKW bands subtracted, so the verdict stays valid at any evaluation cadence.
 *
 * Assumes observations are independent draws from a fixed distribution under H0 and
 * that both CDFs are evaluated at bucket edges (where they are exact). The alarm is
 * about effect size, not mere difference: report `ks`, `ksLower` and the normalised
 * W1.
 *
 * @throws StatsInputError on invalid options.
 */
export function ksDriftTest(options: KsDriftTestOptions): KsDriftTestResult {
  const { reference, observed, alpha, tolerance } = resolveKsDriftTestConfig(options);
  const referenceObservations = totalCount(reference);
  const observations = observed.reduce((sum, count) => sum + count, 0);
  const observedBand = dkwBand(observations, alpha / 2);
  const referenceBand = dkwBand(referenceObservations, alpha / 2);
  let ks = 0;
  let ksAt = Number.NaN;
  let wasserstein = 0;
  let referenceMean = 0;
  let referenceBelow = 0;
  let observedBelow = 0;
  let lower = 0;
  for (let b = 0; b < reference.length; b += 1) {
    const bucket = reference[b];
    if (!bucket) continue;
    referenceBelow += bucket.count;
    observedBelow += observed[b] ?? 0;
    const difference =
      referenceObservations > 0 && observations > 0
        ? Math.abs(observedBelow / observations - referenceBelow / referenceObservations)
        : 0;
    if (difference > ks) {
      ks = difference;
      ksAt = bucket.upper;
    }
    const next = reference[b + 1]?.upper;
    if (next !== undefined && Number.isFinite(next) && Number.isFinite(bucket.upper)) {
      wasserstein += difference * (next - bucket.upper);
    }
    // Representative value of the bucket for the mean: its midpoint, the upper edge for
    // the first bucket (no lower edge) and the lower edge for an open last bucket.
    const representative = b === 0 ? bucket.upper : Number.isFinite(bucket.upper) ? (lower + bucket.upper) / 2 : lower;
    if (referenceObservations > 0) referenceMean += (bucket.count / referenceObservations) * representative;
    lower = bucket.upper;
  }
  const ksLower = ks - observedBand - referenceBand;
  return {
    ks,
    ksAt,
    ksLower,
    observedBand,
    referenceBand,
    tolerance,
    alarm: ksLower > tolerance,
    observations,
    referenceObservations,
    normalisedWasserstein: referenceMean !== 0 ? wasserstein / Math.abs(referenceMean) : Number.NaN,
  };
}
