/**
 * The Dirichlet-multinomial drift test of a category mix (e.g. which tool a request
 * used) against a historical baseline, with a confidence sequence on the total-variation
 * distance so that only a material drift raises an alarm.
 */
import {
  type CountsByCategory,
  dirichletMultinomialLogEValue,
  jensenShannon,
  populationStabilityIndex,
  toShares,
  totalVariation,
  validateCategoryCounts,
} from './categorical.js';
import { type EValueDecision, eValueDecision } from './e-value.js';
import { requireCount, requireOpenUnit, requirePositive, StatsInputError } from './errors.js';

/** Options of {@link multinomialDriftTest}. */
export interface MultinomialDriftTestOptions {
  /** Observed counts per category since the test started. */
  readonly counts: CountsByCategory;
  /** Historical mix π0: counts or shares per category (normalised). */
  readonly baseline: CountsByCategory;
  /** Type-I error over the test's whole life, in (0, 1). */
  readonly alpha: number;
  /**
   * Dirichlet prior strength c (Dirichlet(c·π0)); smaller reacts faster to large drifts,
   * larger to small ones.
   * @default 100
   */
  readonly concentration?: number;
  /**
   * Alarm only if the total-variation lower bound exceeds this (effect-size tolerance,
   * so that a large sample does not alarm on a negligible drift).
   * @default 0.05
   */
  readonly tvTolerance?: number;
  /**
   * Share given to observed categories missing from the baseline (before
   * renormalising); without it a single unseen category would be infinite evidence.
   * Categories present in the baseline keep their share, however small.
   * @default 0.001
   */
  readonly minBaselineShare?: number;
  /**
   * Sample size at which the confidence-sequence half-widths are tightest (sets
   * Robbins' mixture parameter).
   * @default 1000
   */
  readonly designObservations?: number;
}

/** Resolved options of {@link multinomialDriftTest}. */
export interface MultinomialDriftTestConfig {
  readonly counts: CountsByCategory;
  readonly baseline: CountsByCategory;
  readonly alpha: number;
  readonly concentration: number;
  readonly tvTolerance: number;
  readonly minBaselineShare: number;
  readonly designObservations: number;
}

/** Defaults of {@link MultinomialDriftTestOptions}. */
export const MULTINOMIAL_DRIFT_TEST_DEFAULTS = Object.freeze({
  concentration: 100,
  tvTolerance: 0.05,
  minBaselineShare: 0.001,
  designObservations: 1000,
});

/** Per-category evidence of {@link multinomialDriftTest}. */
export interface DriftCategoryResult {
  readonly key: string;
  readonly count: number;
  readonly share: number;
  readonly baselineShare: number;
  /** Anytime-valid half-width of `share` (Robbins' normal mixture at alpha/K). */
  readonly halfWidth: number;
}

/** Result of {@link multinomialDriftTest}; `reject`: the mix differs from the baseline (maybe negligibly). */
export interface MultinomialDriftTestResult extends EValueDecision {
  /** `reject` and `tvLower > tvTolerance`: a drift both proven and material. */
  readonly alarm: boolean;
  readonly observations: number;
  /** Observed total-variation distance from the baseline. */
  readonly totalVariation: number;
  /** ½Σ max(0, |p̂_j − π0_j| − h_j): an anytime lower bound on the TV distance. */
  readonly tvLower: number;
  readonly tvTolerance: number;
  /** PSI (shares floored at 1e-4): < 0.1 stable, > 0.25 major. */
  readonly populationStabilityIndex: number;
  /** Jensen–Shannon divergence in nats. */
  readonly jensenShannon: number;
  readonly categories: readonly DriftCategoryResult[];
}

/**
 * Resolves and validates {@link MultinomialDriftTestOptions}.
 *
 * @throws StatsInputError naming the offending field.
 */
export function resolveMultinomialDriftTestConfig(options: MultinomialDriftTestOptions): MultinomialDriftTestConfig {
  validateCategoryCounts(options.counts, 'counts');
  validateCategoryCounts(options.baseline, 'baseline');
  if (Object.values(options.baseline).reduce((sum, value) => sum + value, 0) <= 0) {
    throw new StatsInputError({
      path: 'baseline',
      expected: 'at least one positive share',
      received: options.baseline,
    });
  }
  requireOpenUnit(options.alpha, 'alpha');
  const config: MultinomialDriftTestConfig = {
    counts: options.counts,
    baseline: options.baseline,
    alpha: options.alpha,
    concentration: options.concentration ?? MULTINOMIAL_DRIFT_TEST_DEFAULTS.concentration,
    tvTolerance: options.tvTolerance ?? MULTINOMIAL_DRIFT_TEST_DEFAULTS.tvTolerance,
    minBaselineShare: options.minBaselineShare ?? MULTINOMIAL_DRIFT_TEST_DEFAULTS.minBaselineShare,
    designObservations: options.designObservations ?? MULTINOMIAL_DRIFT_TEST_DEFAULTS.designObservations,
  };
  requirePositive(config.concentration, 'concentration');
  requireCount(config.tvTolerance, 'tvTolerance');
  requireOpenUnit(config.minBaselineShare, 'minBaselineShare');
  requirePositive(config.designObservations, 'designObservations');
  return config;
}

/**
 * Robbins' two-sided normal-mixture confidence-sequence half-width for a mean of
 * [0, 1] observations after `t` of them (variance bound v = t/4), at level `alpha`,
 * with mixture parameter ρ tuned for `designObservations` (Howard et al. 2021).
 */
export function normalMixtureHalfWidth(t: number, alpha: number, designObservations: number): number {
  if (t <= 0) return Number.POSITIVE_INFINITY;
  const logInverseAlpha = Math.log(1 / alpha);
  const rho = designObservations / 4 / (2 * logInverseAlpha + Math.log(1 + 2 * logInverseAlpha));
  const v = t / 4;
  return Math.sqrt((v + rho) * (Math.log(1 + v / rho) + 2 * logInverseAlpha)) / t;
}

/**
 * Drift of a category mix against a historical baseline π0 (statistics.md §3.3,
 * Lindon–Malek Dirichlet-multinomial e-value). Used by the stable release's drift
 * monitor.
 *
 * Assumes observations are independent draws from a fixed mix under H0 ("the mix is
 * still π0"); the baseline is treated as exact, so give it from plenty of history.
 * `reject` proves some change; `alarm` additionally requires the TV distance to be
 * above `tvTolerance` with anytime-valid confidence. Report PSI and JS beside it.
 *
 * @throws StatsInputError on invalid options.
 */
export function multinomialDriftTest(options: MultinomialDriftTestOptions): MultinomialDriftTestResult {
  const config = resolveMultinomialDriftTestConfig(options);
  const keys = [...new Set([...Object.keys(config.baseline), ...Object.keys(config.counts)])].sort();
  const baselineShares = normaliseBaseline(
    keys.map((key) => config.baseline[key] ?? 0),
    keys.map((key) => (config.counts[key] ?? 0) > 0),
    config.minBaselineShare,
  );
  const counts = keys.map((key) => config.counts[key] ?? 0);
  const observations = counts.reduce((sum, count) => sum + count, 0);
  const shares = toShares(counts);
  const logEValue = dirichletMultinomialLogEValue(counts, baselineShares, config.concentration);
  const halfWidth = normalMixtureHalfWidth(observations, config.alpha / keys.length, config.designObservations);
  let excess = 0;
  for (let j = 0; j < keys.length; j += 1) {
    excess += Math.max(0, Math.abs((shares[j] ?? 0) - (baselineShares[j] ?? 0)) - halfWidth);
  }
  const tvLower = observations > 0 ? excess / 2 : 0;
  const decision = eValueDecision(logEValue, config.alpha);
  return {
    ...decision,
    alarm: decision.reject && tvLower > config.tvTolerance,
    observations,
    totalVariation: observations > 0 ? totalVariation(shares, baselineShares) : 0,
    tvLower,
    tvTolerance: config.tvTolerance,
    populationStabilityIndex: observations > 0 ? populationStabilityIndex(shares, baselineShares) : 0,
    jensenShannon: observations > 0 ? jensenShannon(shares, baselineShares) : 0,
    categories: keys.map((key, j) => ({
      key,
      count: counts[j] ?? 0,
      share: shares[j] ?? 0,
      baselineShare: baselineShares[j] ?? 0,
      halfWidth,
    })),
  };
}

function normaliseBaseline(raw: readonly number[], observed: readonly boolean[], floor: number): number[] {
  const total = raw.reduce((sum, value) => sum + value, 0);
  const floored = raw.map((value, j) => {
    const share = value / total;
    // Only categories absent from π0: under H0 they never occur, so flooring them does
    // not make the null depend on the data.
    return observed[j] && value === 0 ? floor : share;
  });
  const flooredTotal = floored.reduce((sum, value) => sum + value, 0);
  return floored.map((value) => value / flooredTotal);
}
