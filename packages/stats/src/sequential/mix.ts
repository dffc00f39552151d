/**
 * T-MIX: the canary-vs-control test of a category mix (e.g. which tool a request used).
 * The drift test of a mix against a baseline is in `multinomial-drift.ts`.
 */

import {
  betaBinomialLabelLogEValue,
  type CountsByCategory,
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
