/**
 * One-sample rate test against a frozen baseline: has the rate of an adverse event
 * (refusal, error, thumbs-down, ...) of ONE population risen above what a baseline
 * period showed? Used by the stable release's behaviour monitor, where there is no
 * concurrent control group to bet on (statistics.md §3.1 needs one).
 *
 * The e-value is a uniform mixture of Bernoulli likelihood ratios p_g vs p_null over a
 * grid of relative risks p_g = p_null·r_g. For r_g > 1 each ratio is a nonnegative
 * supermartingale under every p ≤ p_null, so the mixture is an e-process for the
 * composite null "rate ≤ p_null" and may be looked at after every observation (Ville).
 */

import { logMeanExp, xlog1py } from '../special.js';
import { type EValueDecision, eValueDecision } from './e-value.js';
import { requireCount, requireOpenUnit, requirePositive, StatsInputError } from './errors.js';
import { klBernoulli } from './sprt.js';

/** Options of {@link baselineRateTest}. */
export interface BaselineRateTestOptions {
  /** Adverse events observed since the test started. */
  readonly events: number;
  /** Observations (turns, feedback events) since the test started, ≥ events. */
  readonly trials: number;
  /**
   * Baseline rate p0 in (0, 1). Pass an upper confidence bound of the baseline's estimate
   * ({@link bernoulliUpperBound}) so that the baseline's own sampling error cannot alarm.
   */
  readonly baselineRate: number;
  /** Type-I error of this test over its whole (unbounded) life, in (0, 1). */
  readonly alpha: number;
  /**
   * Tolerated relative increase r0 ≥ 1: the null is rate ≤ r0 · p0.
   * @default 1
   */
  readonly tolerance?: number;
  /**
   * Relative-risk alternatives r_g > 1 (multiplying the null rate), weighted equally.
   * Alternatives above 1 are capped just below 1.
   * @default [1.1, 1.25, 1.5, 2, 3, 5, 10]
   */
  readonly grid?: readonly number[];
}

/** Resolved {@link BaselineRateTestOptions}. */
export interface BaselineRateTestConfig {
  readonly events: number;
  readonly trials: number;
  readonly baselineRate: number;
  readonly alpha: number;
  readonly tolerance: number;
  readonly grid: readonly number[];
}

/** Defaults of {@link BaselineRateTestOptions}. */
export const BASELINE_RATE_TEST_DEFAULTS = Object.freeze({
  tolerance: 1,
  grid: Object.freeze([1.1, 1.25, 1.5, 2, 3, 5, 10]) as readonly number[],
});

/** Result of {@link baselineRateTest}; `reject`: the rate exceeds `tolerance` × the baseline rate. */
export interface BaselineRateTestResult extends EValueDecision {
  /** Observed rate events / trials (`NaN` without trials). */
  readonly rate: number;
  /** The null rate r0 · p0 (capped below 1). */
  readonly nullRate: number;
  readonly events: number;
  readonly trials: number;
}

/** Largest alternative rate: a likelihood ratio at p = 1 would be infinite evidence on one non-event. */
const MAX_RATE = 1 - 1e-9;

/** Alternative p0·r_g (capped below 1): the baseline test's, for rare adverse events. */
function relativeAlternative(nullRate: number, ratio: number): number {
  return Math.max(nullRate, Math.min(MAX_RATE, nullRate * ratio));
}

/**
 * Alternative above p0 for any p0: p0·r_g for rare events, 1 − (1 − p0)/r_g (the
 * complement shrunk by the same ratio) for common ones, whichever is nearer p0. Both
 * branches make E decrease in p0, which the bound inversion relies on.
 */
function upwardAlternative(nullRate: number, ratio: number): number {
  return Math.min(nullRate * ratio, 1 - (1 - nullRate) / ratio);
}

/** Mirror image of {@link upwardAlternative}: an alternative below p0, for "mean ≥ p0". */
function downwardAlternative(nullRate: number, ratio: number): number {
  return Math.max(nullRate / ratio, 1 - (1 - nullRate) * ratio);
}

/**
 * ln of the grid mixture of Bernoulli likelihood ratios p_g = p0·r_g vs p0 after `events`
 * adverse outcomes in `trials`. `events` may be any real sum of observations in [0, 1]
 * (see {@link boundedMeanTest} for why that stays valid).
 */
function mixtureLogEValue(
  events: number,
  trials: number,
  nullRate: number,
  grid: readonly number[],
  alternativeOf: (nullRate: number, ratio: number) => number = relativeAlternative,
): number {
  const logs: number[] = [];
  for (const ratio of grid) {
    const alternative = alternativeOf(nullRate, ratio);
    if (alternative === nullRate) continue;
    // ln(p1/p0) and ln((1−p1)/(1−p0)) through log1p keep precision when p1 ≈ p0.
    logs.push(
      xlog1py(events, (alternative - nullRate) / nullRate) +
        xlog1py(trials - events, (nullRate - alternative) / (1 - nullRate)),
    );
  }
  // Every alternative capped at the null (null rate ≈ 1): no evidence is possible.
  return logs.length === 0 ? 0 : logMeanExp(logs.concat(new Array(grid.length - logs.length).fill(0)));
}

/**
 * Resolves and validates {@link BaselineRateTestOptions}.
 *
 * @throws StatsInputError naming the offending field.
 */
export function resolveBaselineRateTestConfig(options: BaselineRateTestOptions): BaselineRateTestConfig {
  requireCount(options.events, 'events');
  requireCount(options.trials, 'trials');
  if (options.events > options.trials) {
    throw new StatsInputError({
      path: 'events',
      expected: `at most trials (${options.trials})`,
      received: options.events,
    });
  }
  requireOpenUnit(options.baselineRate, 'baselineRate');
  requireOpenUnit(options.alpha, 'alpha');
  const tolerance = options.tolerance ?? BASELINE_RATE_TEST_DEFAULTS.tolerance;
  requirePositive(tolerance, 'tolerance');
  if (tolerance < 1) throw new StatsInputError({ path: 'tolerance', expected: 'a number ≥ 1', received: tolerance });
  const grid = options.grid ?? BASELINE_RATE_TEST_DEFAULTS.grid;
  if (!Array.isArray(grid) || grid.length === 0) {
    throw new StatsInputError({ path: 'grid', expected: 'a non-empty array of numbers > 1', received: grid });
  }
  grid.forEach((ratio, index) => {
    if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio <= 1) {
      throw new StatsInputError({ path: `grid[${index}]`, expected: 'a finite number > 1', received: ratio });
    }
  });
  return {
    events: options.events,
    trials: options.trials,
    baselineRate: options.baselineRate,
    alpha: options.alpha,
    tolerance,
    grid,
  };
}

/**
 * One-sided anytime-valid test that a rate has risen above `tolerance` × a baseline
 * rate. State is two counts, so it merges across processes by summation.
 *
 * Assumes observations are independent Bernoulli draws given the past; clustered
 * observations (one user's turns) make it anti-conservative, which is why callers
 * should also require an effect size before alerting.
 *
 * @example
 * baselineRateTest({ events: 60, trials: 1000, baselineRate: 0.02, alpha: 0.001 }).reject; // true
 * @throws StatsInputError on invalid options.
 */
export function baselineRateTest(options: BaselineRateTestOptions): BaselineRateTestResult {
  const config = resolveBaselineRateTestConfig(options);
  const { events, trials, alpha, grid } = config;
  const nullRate = Math.min(MAX_RATE, config.baselineRate * config.tolerance);
  const logEValue = mixtureLogEValue(events, trials, nullRate, grid);
  return {
    ...eValueDecision(logEValue, alpha),
    rate: trials > 0 ? events / trials : Number.NaN,
    nullRate,
    events,
    trials,
  };
}

/**
 * Chernoff (KL) upper confidence bound of a Bernoulli rate from a fixed sample: the
 * largest q with trials · KL(p̂ ‖ q) ≤ ln(1/alpha). Tight for rare events, where
 * Hoeffding-type bounds are several times wider. A baseline is frozen once, so a
 * fixed-sample bound is the right one for it. Returns 1 without trials.
 *
 * @throws StatsInputError on invalid input.
 */
export function bernoulliUpperBound(events: number, trials: number, alpha: number): number {
  requireCount(events, 'events');
  requireCount(trials, 'trials');
  requireOpenUnit(alpha, 'alpha');
  if (events > trials)
    throw new StatsInputError({ path: 'events', expected: `at most trials (${trials})`, received: events });
  if (trials === 0) return 1;
  const estimate = events / trials;
  const budget = Math.log(1 / alpha) / trials;
  let low = estimate;
  let high = 1;
  // KL(p̂‖q) increases in q above p̂: bisection to 1e-9 in at most ~30 steps.
  for (let step = 0; step < 60 && high - low > 1e-10; step += 1) {
    const middle = (low + high) / 2;
    if (klBernoulli(estimate, middle) > budget) high = middle;
    else low = middle;
  }
  return high;
}

/** Options of {@link boundedMeanTest} and {@link boundedMeanBounds}. */
export interface BoundedMeanTestOptions {
  /**
   * Sum of the observations so far, each in [0, 1]: for a rate, the adverse events; for a
   * score, the sum of the scores. In [0, count].
   */
  readonly sum: number;
  /** Observations so far (≥ 0). */
  readonly count: number;
  /** Type-I error over the test's whole (unbounded) life, in (0, 1). */
  readonly alpha: number;
  /**
   * Relative alternatives r_g > 1 of the mixture, weighted equally.
   * @default [1.1, 1.25, 1.5, 2, 3, 5, 10] (`BASELINE_RATE_TEST_DEFAULTS.grid`)
   */
  readonly grid?: readonly number[];
}

/** Result of {@link boundedMeanTest}. */
export interface BoundedMeanTestResult extends EValueDecision {
  /** sum / count (`NaN` without observations). */
  readonly mean: number;
  readonly limit: number;
  readonly sum: number;
  readonly count: number;
}

/** Time-uniform one-sided confidence bounds of a mean, each at level 1 − alpha. */
export interface BoundedMeanBounds {
  /** sum / count (`NaN` without observations). */
  readonly mean: number;
  /** Lower bound: the largest limit the test still rejects (0 when none). */
  readonly lower: number;
  /**
   * Upper bound: the smallest rate the mirror-image mixture (alternatives below p0, an
   * e-process for "mean ≥ p0") rejects above the mean (1 when none).
   */
  readonly upper: number;
}

function resolveBoundedMean(options: BoundedMeanTestOptions): Required<BoundedMeanTestOptions> {
  requireCount(options.count, 'count');
  if (
    typeof options.sum !== 'number' ||
    !Number.isFinite(options.sum) ||
    options.sum < 0 ||
    options.sum > options.count
  ) {
    throw new StatsInputError({
      path: 'sum',
      expected: `a number in [0, count (${options.count})]`,
      received: options.sum,
    });
  }
  requireOpenUnit(options.alpha, 'alpha');
  const grid = options.grid ?? BASELINE_RATE_TEST_DEFAULTS.grid;
  if (!Array.isArray(grid) || grid.length === 0) {
    throw new StatsInputError({ path: 'grid', expected: 'a non-empty array of numbers > 1', received: grid });
  }
  grid.forEach((ratio, index) => {
    if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio <= 1) {
      throw new StatsInputError({ path: `grid[${index}]`, expected: 'a finite number > 1', received: ratio });
    }
  });
  return { sum: options.sum, count: options.count, alpha: options.alpha, grid };
}

/**
 * Anytime-valid one-sided test that the mean of observations in [0, 1] (a Bernoulli rate,
 * or a bounded score such as toxicity) is above `limit`: the grid mixture of
 * {@link baselineRateTest} with the null rate at `limit` (identical to it for rare events;
 * for a common one the alternatives shrink the complement instead, so a limit near 1
 * still has alternatives between it and 1). Looking after every
 * observation keeps P(ever reject | mean ≤ limit) ≤ alpha (Ville), so an absolute limit
 * can be judged on evidence rather than on a point estimate of a small sample.
 *
 * Bounded scores are valid too, not only 0/1 events: for x in [0, 1] convexity gives
 * e^{λx} ≤ 1 − x + x·e^{λ}, so each Bernoulli likelihood-ratio factor p1 vs p0 taken at x
 * has expectation ≤ 1 under every law on [0, 1] with mean ≤ p0 (the argument behind
 * Hoeffding's inequality, here without its quadratic loosening). The state is a sum and
 * a count, so it merges across replicas by addition.
 *
 * @example
 * boundedMeanTest({ sum: 12, count: 200, limit: 0.01, alpha: 0.01 }).reject; // true: 6% is above 1%
 * @throws StatsInputError on invalid input.
 */
export function boundedMeanTest(options: BoundedMeanTestOptions & { readonly limit: number }): BoundedMeanTestResult {
  const { sum, count, alpha, grid } = resolveBoundedMean(options);
  requireOpenUnit(options.limit, 'limit');
  const logEValue = mixtureLogEValue(sum, count, options.limit, grid, upwardAlternative);
  return {
    ...eValueDecision(logEValue, alpha),
    mean: count > 0 ? sum / count : Number.NaN,
    limit: options.limit,
    sum,
    count,
  };
}

/**
 * The bound of one side by bisection: the null rate between the mean and the edge (0 for
 * the lower bound, 1 for the upper) where the one-sided mixture stops rejecting.
 */
function boundOf(sum: number, count: number, threshold: number, grid: readonly number[], upper: boolean): number {
  const edge = upper ? 1 : 0;
  if (count === 0 || (upper ? sum >= count : sum <= 0)) return edge;
  // E moves monotonically with the null rate (each factor does), and never rejects at the
  // mean itself (every ratio ≤ the maximum likelihood one, which is 1 there): one crossing.
  const alternative = upper ? downwardAlternative : upwardAlternative;
  let rejected = edge;
  let kept = sum / count;
  for (let step = 0; step < 60 && Math.abs(kept - rejected) > 1e-12; step += 1) {
    const middle = (rejected + kept) / 2;
    if (mixtureLogEValue(sum, count, middle, grid, alternative) >= threshold) rejected = middle;
    else kept = middle;
  }
  return rejected;
}

/**
 * Time-uniform confidence bounds of the mean of observations in [0, 1], from the test of
 * {@link boundedMeanTest} inverted (and its mirror image for `upper`): `lower` is the
 * largest limit it rejects, so
 * `lower > limit` exactly when the test rejects at `limit` (up to bisection precision,
 * 1e-12). Each bound holds at every sample size at once with probability ≥ 1 − alpha;
 * both together with ≥ 1 − 2·alpha.
 *
 * @example
 * boundedMeanBounds({ sum: 1, count: 50, alpha: 0.01 }); // { mean: 0.02, lower: 0, upper: ≈0.163 }
 * @throws StatsInputError on invalid input.
 */
export function boundedMeanBounds(options: BoundedMeanTestOptions): BoundedMeanBounds {
  const { sum, count, alpha, grid } = resolveBoundedMean(options);
  const threshold = Math.log(1 / alpha);
  return {
    mean: count > 0 ? sum / count : Number.NaN,
    lower: boundOf(sum, count, threshold, grid, false),
    upper: boundOf(sum, count, threshold, grid, true),
  };
}
