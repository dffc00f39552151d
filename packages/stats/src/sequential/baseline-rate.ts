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

/** Result of {@link baselineRateTest}. */
export interface BaselineRateTestResult {
  /** The e-value E; `Infinity` if it overflows. */
  readonly eValue: number;
  /** ln E, finite where E overflows. */
  readonly logEValue: number;
  /** Rejection boundary 1/alpha. */
  readonly boundary: number;
  readonly alpha: number;
  /** E ≥ 1/alpha: the rate exceeds `tolerance` × the baseline rate. */
  readonly reject: boolean;
  /** min(1, 1/E) at this look. */
  readonly pValue: number;
  /** Observed rate events / trials (`NaN` without trials). */
  readonly rate: number;
  /** The null rate r0 · p0 (capped below 1). */
  readonly nullRate: number;
  readonly events: number;
  readonly trials: number;
}

/** Largest alternative rate: a likelihood ratio at p = 1 would be infinite evidence on one non-event. */
const MAX_RATE = 1 - 1e-9;

/**
 * Resolves and validates {@link BaselineRateTestOptions}.
 *
 * @throws StatsInputError naming the offending field.
 */
export function resolveBaselineRateTestConfig(options: BaselineRateTestOptions): BaselineRateTestConfig {
  requireCount(options.events, 'events');
  requireCount(options.trials, 'trials');
  if (options.events > options.trials) {
    throw new StatsInputError({ path: 'events', expected: `at most trials (${options.trials})`, received: options.events });
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
  const logs: number[] = [];
  for (const ratio of grid) {
    const alternative = Math.min(MAX_RATE, nullRate * ratio);
    if (alternative <= nullRate) continue;
    // ln(p1/p0) and ln((1−p1)/(1−p0)) through log1p keep precision when p1 ≈ p0.
    logs.push(
      xlog1py(events, (alternative - nullRate) / nullRate) +
        xlog1py(trials - events, (nullRate - alternative) / (1 - nullRate)),
    );
  }
  // Every alternative capped at the null (null rate ≈ 1): no evidence is possible.
  const logEValue = logs.length === 0 ? 0 : logMeanExp(logs.concat(new Array(grid.length - logs.length).fill(0)));
  const boundary = 1 / alpha;
  return {
    eValue: Math.exp(logEValue),
    logEValue,
    boundary,
    alpha,
    reject: logEValue >= Math.log(boundary),
    pValue: Math.min(1, Math.exp(-logEValue)),
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
  if (events > trials) throw new StatsInputError({ path: 'events', expected: `at most trials (${trials})`, received: events });
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
