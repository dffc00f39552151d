/**
 * T-MIX (canary vs control category mix, e.g. which tool a request used) and the
 * Dirichlet-multinomial drift test of a category mix against a historical baseline.
 */

import {
  betaBinomialLabelLogEValue,
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

/** Category counts per arm observed while the canary share ρ0 stayed constant. */
export interface CategoryEpoch {
  /** Canary share of canary ∪ control traffic in this epoch, in (0, 1). */
  readonly rho0: number;
  /** Canary observations per category (one category per unit: see {@link mixTest}). */
  readonly canary: CountsByCategory;
  /** Control observations per category. */
  readonly control: CountsByCategory;
}

/** Options of {@link mixTest}. */
export interface MixTestOptions {
  /** Counts per ρ0 epoch since the test started. */
  readonly epochs: readonly CategoryEpoch[];
  /** Type-I error over the test's whole life, in (0, 1). */
  readonly alpha: number;
  /**
   * Categories whose share is below this are lumped into `otherKey` (small categories
   * only add noise). Shares come from `reference` when given (categories absent from it
   * are lumped too), else from all pooled counts.
   * @default 0.01
   */
  readonly minShare?: number;
  /**
   * Counts or shares per category frozen before the test (e.g. stable traffic at
   * warm-up) that decide the lumping. Give it: lumping decided by the test's own pooled
   * counts changes as data arrive, which strictly breaks the fixed-stratum argument.
   */
  readonly reference?: CountsByCategory;
  /** @default 'other' */
  readonly otherKey?: string;
  /**
   * Prior strength c of Beta(c·ρ0, c·(1 − ρ0)) per category.
   * @default 2
   */
  readonly concentration?: number;
}

/** Resolved options of {@link mixTest}. */
export interface MixTestConfig {
  readonly epochs: readonly CategoryEpoch[];
  readonly alpha: number;
  readonly minShare: number;
  readonly reference: CountsByCategory | undefined;
  readonly otherKey: string;
  readonly concentration: number;
}

/** Defaults of {@link MixTestOptions}. */
export const MIX_TEST_DEFAULTS = Object.freeze({ minShare: 0.01, otherKey: 'other', concentration: 2 });

/** Per-category evidence of {@link mixTest}, pooled over epochs. */
export interface MixCategoryResult {
  readonly key: string;
  readonly canary: number;
  readonly control: number;
  /** Share of the canary's observations in this category (0 without canary data). */
  readonly canaryShare: number;
  readonly controlShare: number;
  /** This category's contribution to ln E. */
  readonly logEValue: number;
}

/** Result of {@link mixTest}; `reject`: the canary's category mix differs from control's. */
export interface MixTestResult extends EValueDecision {
  /** Categories after lumping, largest evidence first. */
  readonly categories: readonly MixCategoryResult[];
  /** Keys lumped into `otherKey`. */
  readonly lumped: readonly string[];
  /** Total-variation distance between the canary's and control's mixes (effect size, 0..1). */
  readonly totalVariation: number;
}

/**
 * Resolves and validates {@link MixTestOptions}.
 *
 * @throws StatsInputError naming the offending field.
 */
export function resolveMixTestConfig(options: MixTestOptions): MixTestConfig {
  if (!Array.isArray(options.epochs)) {
    throw new StatsInputError({ path: 'epochs', expected: 'an array of epochs', received: options.epochs });
  }
  options.epochs.forEach((epoch, index) => {
    requireOpenUnit(epoch.rho0, `epochs[${index}].rho0`);
    validateCategoryCounts(epoch.canary, `epochs[${index}].canary`);
    validateCategoryCounts(epoch.control, `epochs[${index}].control`);
  });
  requireOpenUnit(options.alpha, 'alpha');
  const minShare = options.minShare ?? MIX_TEST_DEFAULTS.minShare;
  requireCount(minShare, 'minShare');
  if (minShare >= 1) throw new StatsInputError({ path: 'minShare', expected: 'a share in [0, 1)', received: minShare });
  if (options.reference !== undefined) validateCategoryCounts(options.reference, 'reference');
  const otherKey = options.otherKey ?? MIX_TEST_DEFAULTS.otherKey;
  if (typeof otherKey !== 'string' || otherKey.length === 0) {
    throw new StatsInputError({ path: 'otherKey', expected: 'a non-empty string', received: otherKey });
  }
  const concentration = options.concentration ?? MIX_TEST_DEFAULTS.concentration;
  requirePositive(concentration, 'concentration');
  return {
    epochs: options.epochs,
    alpha: options.alpha,
    minShare,
    reference: options.reference,
    otherKey,
    concentration,
  };
}

/**
 * T-MIX (statistics.md §3.3): anytime-valid two-sided test that the canary's category
 * mix differs from control's (e.g. the tool a request called). A product over
 * categories (and epochs) of beta-binomial mixtures on the arm label.
 *
 * Assumes random routing at each epoch's ρ0 and that each unit (request) is counted in
 * exactly one category: count a request's first or main tool, or "none", not every
 * tool call — several counts per request share one label and break the product.
 * Report the categories with the largest evidence and their shares per arm.
 *
 * @throws StatsInputError on invalid options.
 */
export function mixTest(options: MixTestOptions): MixTestResult {
  const config = resolveMixTestConfig(options);
  const { epochs, alpha, otherKey, concentration } = config;
  const lumped = lumpedKeys(config);
  const keyOf = (key: string) => (lumped.has(key) ? otherKey : key);
  const pooled = new Map<string, { canary: number; control: number; logEValue: number }>();
  const entry = (key: string) => {
    let found = pooled.get(key);
    if (!found) {
      found = { canary: 0, control: 0, logEValue: 0 };
      pooled.set(key, found);
    }
    return found;
  };
  for (const epoch of epochs) {
    const perEpoch = new Map<string, { canary: number; control: number }>();
    for (const [arm, counts] of [
      ['canary', epoch.canary],
      ['control', epoch.control],
    ] as const) {
      for (const [key, count] of Object.entries(counts)) {
        const lumpedKey = keyOf(key);
        const cell = perEpoch.get(lumpedKey) ?? { canary: 0, control: 0 };
        cell[arm] += count;
        perEpoch.set(lumpedKey, cell);
      }
    }
    // A product of per-epoch mixtures: each epoch's factor starts at 1 and is a
    // martingale given the past, so the product stays one across ρ0 changes.
    for (const [key, cell] of perEpoch) {
      const target = entry(key);
      target.canary += cell.canary;
      target.control += cell.control;
      target.logEValue += betaBinomialLabelLogEValue(
        cell.canary,
        cell.canary + cell.control,
        epoch.rho0,
        concentration,
      );
    }
  }
  const keys = [...pooled.keys()];
  const canaryCounts = keys.map((key) => pooled.get(key)?.canary ?? 0);
  const controlCounts = keys.map((key) => pooled.get(key)?.control ?? 0);
  const canaryShares = toShares(canaryCounts);
  const controlShares = toShares(controlCounts);
  const categories = keys
    .map(
      (key, j): MixCategoryResult => ({
        key,
        canary: canaryCounts[j] ?? 0,
        control: controlCounts[j] ?? 0,
        canaryShare: canaryShares[j] ?? 0,
        controlShare: controlShares[j] ?? 0,
        logEValue: pooled.get(key)?.logEValue ?? 0,
      }),
    )
    .sort((a, b) => b.logEValue - a.logEValue);
  const logEValue = categories.reduce((sum, category) => sum + category.logEValue, 0);
  return {
    ...eValueDecision(logEValue, alpha),
    categories,
    lumped: [...lumped].sort(),
    totalVariation: totalVariation(canaryShares, controlShares),
  };
}

/** Lumping and prior options of {@link mixLogEValue} (see {@link MixTestOptions}). */
export type MixLogEValueOptions = Pick<MixTestOptions, 'minShare' | 'reference' | 'otherKey' | 'concentration'>;

/**
 * ln E of T-MIX for already validated inputs, without per-category summaries: the cheap
 * path for the gate's tick and for simulations. Equals `mixTest(...).logEValue` up to
 * the order of a floating-point sum.
 */
export function mixLogEValue(epochs: readonly CategoryEpoch[], options: MixLogEValueOptions = {}): number {
  const config: MixTestConfig = {
    epochs,
    alpha: 0.5,
    minShare: options.minShare ?? MIX_TEST_DEFAULTS.minShare,
    reference: options.reference,
    otherKey: options.otherKey ?? MIX_TEST_DEFAULTS.otherKey,
    concentration: options.concentration ?? MIX_TEST_DEFAULTS.concentration,
  };
  const lumped = lumpedKeys(config);
  let logEValue = 0;
  for (const epoch of epochs) {
    const cells = new Map<string, { canary: number; control: number }>();
    const count = (counts: CountsByCategory, arm: 'canary' | 'control') => {
      for (const key in counts) {
        const target = lumped.has(key) ? config.otherKey : key;
        let cell = cells.get(target);
        if (!cell) {
          cell = { canary: 0, control: 0 };
          cells.set(target, cell);
        }
        cell[arm] += counts[key] ?? 0;
      }
    };
    count(epoch.canary, 'canary');
    count(epoch.control, 'control');
    for (const cell of cells.values()) {
      logEValue += betaBinomialLabelLogEValue(
        cell.canary,
        cell.canary + cell.control,
        epoch.rho0,
        config.concentration,
      );
    }
  }
  return logEValue;
}

function lumpedKeys(config: MixTestConfig): Set<string> {
  const shareSource = new Map<string, number>();
  const add = (counts: CountsByCategory) => {
    for (const [key, count] of Object.entries(counts)) shareSource.set(key, (shareSource.get(key) ?? 0) + count);
  };
  if (config.reference) add(config.reference);
  else
    for (const epoch of config.epochs) {
      add(epoch.canary);
      add(epoch.control);
    }
  const total = [...shareSource.values()].reduce((sum, count) => sum + count, 0);
  const observed = new Set<string>();
  for (const epoch of config.epochs)
    for (const key of [...Object.keys(epoch.canary), ...Object.keys(epoch.control)]) observed.add(key);
  const lumped = new Set<string>();
  for (const key of observed) {
    if (key === config.otherKey) continue;
    const share = total > 0 ? (shareSource.get(key) ?? 0) / total : 0;
    if (share < config.minShare) lumped.add(key);
  }
  return lumped;
}

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
