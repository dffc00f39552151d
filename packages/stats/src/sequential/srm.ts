/**
 * Sequential sample-ratio-mismatch (SRM) test: are requests really split between the
 * cohorts as configured? Every other test trusts the routing share ρ0; this one checks
 * it.
 */

import { type CountsByCategory, dirichletMultinomialLogEValue, validateCategoryCounts } from './categorical.js';
import { type EValueDecision, eValueDecision } from './e-value.js';
import { requireOpenUnit, requirePositive, StatsInputError } from './errors.js';

/** Cohort counts observed while the configured split stayed constant. */
export interface SampleRatioEpoch {
  /** Configured split: weights or shares per cohort, e.g. `{ stable: 90, canary: 5, control: 5 }`. */
  readonly split: CountsByCategory;
  /** Observed units (requests or subjects) per cohort in this epoch. */
  readonly counts: CountsByCategory;
}

/** Options of {@link sampleRatioTest}. */
export interface SampleRatioTestOptions {
  /** Counts per split epoch (each ramp step is a new epoch). */
  readonly epochs: readonly SampleRatioEpoch[];
  /** @default 0.001 */
  readonly alpha?: number;
  /** Dirichlet prior strength c. @default 100 */
  readonly concentration?: number;
}

/** Resolved options of {@link sampleRatioTest}. */
export interface SampleRatioTestConfig {
  readonly epochs: readonly SampleRatioEpoch[];
  readonly alpha: number;
  readonly concentration: number;
}

/** Defaults of {@link SampleRatioTestOptions}. */
export const SAMPLE_RATIO_TEST_DEFAULTS = Object.freeze({ alpha: 0.001, concentration: 100 });

/** Observed against expected units of one cohort, pooled over epochs. */
export interface SampleRatioCohort {
  readonly key: string;
  readonly count: number;
  /** Observed share of all units. */
  readonly share: number;
  /** Share expected from the configured splits (weighted by each epoch's size). */
  readonly expectedShare: number;
}

/** Result of {@link sampleRatioTest}; `reject`: the observed split does not match the configured one (freeze verdicts). */
export interface SampleRatioTestResult extends EValueDecision {
  readonly observations: number;
  readonly cohorts: readonly SampleRatioCohort[];
}

/**
 * Resolves and validates {@link SampleRatioTestOptions}.
 *
 * @throws StatsInputError naming the offending field.
 */
export function resolveSampleRatioTestConfig(options: SampleRatioTestOptions): SampleRatioTestConfig {
  if (!Array.isArray(options.epochs)) {
    throw new StatsInputError({ path: 'epochs', expected: 'an array of epochs', received: options.epochs });
  }
  options.epochs.forEach((epoch: SampleRatioEpoch, index: number) => {
    validateCategoryCounts(epoch.split, `epochs[${index}].split`);
    validateCategoryCounts(epoch.counts, `epochs[${index}].counts`);
    if (Object.values(epoch.split).reduce((sum: number, weight: number) => sum + weight, 0) <= 0) {
      throw new StatsInputError({
        path: `epochs[${index}].split`,
        expected: 'at least one positive weight',
        received: epoch.split,
      });
    }
  });
  const alpha = options.alpha ?? SAMPLE_RATIO_TEST_DEFAULTS.alpha;
  requireOpenUnit(alpha, 'alpha');
  const concentration = options.concentration ?? SAMPLE_RATIO_TEST_DEFAULTS.concentration;
  requirePositive(concentration, 'concentration');
  return { epochs: options.epochs, alpha, concentration };
}

/**
 * ln E of the SRM test for one epoch, for validated inputs: observed counts and the
 * configured shares (summing to 1) in the same order. The cheap path for the gate's
 * tick; equals `sampleRatioTest(...).logEValue` for a single epoch.
 */
export function sampleRatioLogEValue(
  counts: readonly number[],
  shares: readonly number[],
  concentration: number = SAMPLE_RATIO_TEST_DEFAULTS.concentration,
): number {
  return dirichletMultinomialLogEValue(counts, shares, concentration);
}

/**
 * Sequential SRM test (statistics.md §3.5): Dirichlet-multinomial e-value of the
 * observed cohort counts against the configured split, valid at any cadence (unlike
 * the usual χ² test, which looks inflate).
 *
 * Assumes units are assigned independently with the configured probabilities under
 * H0. Count the unit of randomisation: subjects under user-sticky routing (requests of
 * one user are not independent). A cohort with a configured weight of 0 but observed
 * units is infinite evidence. If it rejects, ρ0 is untrustworthy: freeze verdicts,
 * revert or page, never promote.
 *
 * @throws StatsInputError on invalid options.
 */
export function sampleRatioTest(options: SampleRatioTestOptions): SampleRatioTestResult {
  const { epochs, alpha, concentration } = resolveSampleRatioTestConfig(options);
  const keys = [...new Set(epochs.flatMap((epoch) => [...Object.keys(epoch.split), ...Object.keys(epoch.counts)]))];
  const pooledCounts = new Map<string, number>();
  const pooledExpected = new Map<string, number>();
  let logEValue = 0;
  let observations = 0;
  for (const epoch of epochs) {
    const weightTotal = Object.values(epoch.split).reduce((sum, weight) => sum + weight, 0);
    const shares = keys.map((key) => (epoch.split[key] ?? 0) / weightTotal);
    const counts = keys.map((key) => epoch.counts[key] ?? 0);
    const size = counts.reduce((sum, count) => sum + count, 0);
    // Each epoch's mixture starts at 1 given the past, so the product over epochs
    // remains an e-process when the split changes.
    logEValue += dirichletMultinomialLogEValue(counts, shares, concentration);
    observations += size;
    keys.forEach((key, j) => {
      pooledCounts.set(key, (pooledCounts.get(key) ?? 0) + (counts[j] ?? 0));
      pooledExpected.set(key, (pooledExpected.get(key) ?? 0) + size * (shares[j] ?? 0));
    });
  }
  return {
    ...eValueDecision(logEValue, alpha),
    observations,
    cohorts: keys.map((key) => ({
      key,
      count: pooledCounts.get(key) ?? 0,
      share: observations > 0 ? (pooledCounts.get(key) ?? 0) / observations : 0,
      expectedShare: observations > 0 ? (pooledExpected.get(key) ?? 0) / observations : 0,
    })),
  };
}
