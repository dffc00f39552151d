/**
 * T-RATE: anytime-valid one-sided test that the canary raises the rate of an adverse
 * event (error, tool failure, refusal, thumbs-down, ...) relative to control.
 *
 * It bets on the arm label of each adverse event. Under H0 (the canary multiplies the
 * event intensity by at most r0), an adverse event comes from the canary with
 * probability at most θ(r0) = ρ0·r0 / (ρ0·r0 + 1 − ρ0), whatever the base rate does
 * over time. The e-value is a uniform mixture of likelihood ratios over a grid of
 * relative risks, so it needs only the counts (canary events k, all events m) per
 * epoch of constant ρ0 and merges by summing counts.
 */

import { logMeanExp, xlog1py } from '../special.js';
import { type EValueDecision, eValueDecision } from './e-value.js';
import { requireCount, requireOpenUnit, requirePositive, StatsInputError } from './errors.js';

/** Adverse-event counts observed while the canary share ρ0 stayed constant. */
export interface RateEpoch {
  /** Canary share of canary ∪ control traffic in this epoch (0.5 for equal groups), in (0, 1). */
  readonly rho0: number;
  /** Adverse events that came from the canary (k). */
  readonly canaryEvents: number;
  /** Adverse events from canary and control together (m ≥ k). */
  readonly totalEvents: number;
}

/** Options of {@link rateTest}. */
export interface RateTestOptions {
  /** Counts per ρ0 epoch since the test started (order is irrelevant). */
  readonly epochs: readonly RateEpoch[];
  /** Type-I error of this test over its whole (unbounded) life, in (0, 1). */
  readonly alpha: number;
  /**
   * Tolerated relative risk r0 ≥ 1 under the null: reject only if the canary's rate is
   * more than `tolerance` times control's.
   * @default 1
   */
  readonly tolerance?: number;
  /**
   * Relative-risk alternatives r_g > 1 (multiplying `tolerance`), weighted equally.
   * @default [1.1, 1.25, 1.5, 2, 3, 5, 10]
   */
  readonly grid?: readonly number[];
}

/** Resolved options of {@link rateTest}. */
export interface RateTestConfig {
  readonly epochs: readonly RateEpoch[];
  readonly alpha: number;
  readonly tolerance: number;
  readonly grid: readonly number[];
}

/** Defaults of {@link RateTestOptions}. */
export const RATE_TEST_DEFAULTS = Object.freeze({
  tolerance: 1,
  grid: Object.freeze([1.1, 1.25, 1.5, 2, 3, 5, 10]) as readonly number[],
});

/** Result of {@link rateTest}; `reject`: the canary's rate exceeds `tolerance` × control's (roll back). */
export interface RateTestResult extends EValueDecision {
  /** Canary adverse events k, summed over epochs. */
  readonly canaryEvents: number;
  /** All adverse events m, summed over epochs. */
  readonly totalEvents: number;
  /**
   * Maximum-likelihood relative risk (canary rate / control rate) given the labels;
   * `undefined` without events, `Infinity` if all events are canary ones.
   */
  readonly relativeRisk: number | undefined;
  /**
   * Anytime-valid lower confidence bound on the relative risk at level 1 − alpha (0 when
   * the data cannot exclude any risk below 1).
   */
  readonly rrLower: number;
  /**
   * Anytime-valid upper confidence bound on the relative risk at level 1 − alpha
   * (`Infinity` when unbounded). [rrLower, rrUpper] together cover with 1 − 2·alpha.
   */
  readonly rrUpper: number;
}

/** θ(r): probability that an adverse event is a canary one when canary rate = r × control rate. */
export function canaryEventProbability(rho0: number, relativeRisk: number): number {
  if (relativeRisk === Number.POSITIVE_INFINITY) return 1;
  return (rho0 * relativeRisk) / (rho0 * relativeRisk + 1 - rho0);
}

/**
 * Resolves and validates {@link RateTestOptions}.
 *
 * @throws StatsInputError naming the offending field.
 */
export function resolveRateTestConfig(options: RateTestOptions): RateTestConfig {
  if (!Array.isArray(options.epochs)) {
    throw new StatsInputError({ path: 'epochs', expected: 'an array of epochs', received: options.epochs });
  }
  options.epochs.forEach((epoch, index) => {
    validateEpoch(epoch, `epochs[${index}]`);
  });
  requireOpenUnit(options.alpha, 'alpha');
  const tolerance = options.tolerance ?? RATE_TEST_DEFAULTS.tolerance;
  requirePositive(tolerance, 'tolerance');
  const grid = options.grid ?? RATE_TEST_DEFAULTS.grid;
  if (!Array.isArray(grid) || grid.length === 0) {
    throw new StatsInputError({ path: 'grid', expected: 'a non-empty array of numbers > 1', received: grid });
  }
  grid.forEach((ratio, index) => {
    if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio <= 1) {
      throw new StatsInputError({ path: `grid[${index}]`, expected: 'a finite number > 1', received: ratio });
    }
  });
  return { epochs: options.epochs, alpha: options.alpha, tolerance, grid };
}

function validateEpoch(epoch: RateEpoch, path: string): void {
  requireOpenUnit(epoch.rho0, `${path}.rho0`);
  requireCount(epoch.canaryEvents, `${path}.canaryEvents`);
  requireCount(epoch.totalEvents, `${path}.totalEvents`);
  if (epoch.canaryEvents > epoch.totalEvents) {
    throw new StatsInputError({
      path: `${path}.canaryEvents`,
      expected: `at most totalEvents (${epoch.totalEvents})`,
      received: epoch.canaryEvents,
    });
  }
}

/**
 * ln E of T-RATE for already validated inputs, without bounds or estimates: the
 * cheap path for simulations and for the gate's tick. `direction` +1 tests "canary
 * worse" (alternatives r0·r_g), −1 the mirror family (alternatives r0/r_g) used for
 * the upper confidence bound.
 */
export function rateLogEValue(
  epochs: readonly RateEpoch[],
  tolerance: number = RATE_TEST_DEFAULTS.tolerance,
  grid: readonly number[] = RATE_TEST_DEFAULTS.grid,
  direction: 1 | -1 = 1,
): number {
  const logs = new Array<number>(grid.length);
  for (let g = 0; g < grid.length; g += 1) {
    const ratio = grid[g] ?? 1;
    const alternative = direction === 1 ? tolerance * ratio : tolerance / ratio;
    let logLikelihoodRatio = 0;
    for (const epoch of epochs) {
      const theta0 = canaryEventProbability(epoch.rho0, tolerance);
      const theta1 = canaryEventProbability(epoch.rho0, alternative);
      // ln(θ1/θ0) and ln((1−θ1)/(1−θ0)) through log1p keep precision when θ1 ≈ θ0.
      logLikelihoodRatio +=
        xlog1py(epoch.canaryEvents, (theta1 - theta0) / theta0) +
        xlog1py(epoch.totalEvents - epoch.canaryEvents, (theta0 - theta1) / (1 - theta0));
    }
    logs[g] = logLikelihoodRatio;
  }
  return logMeanExp(logs);
}

/**
 * T-RATE (statistics.md §3.1): one-sided anytime-valid test that the canary's
 * adverse-event rate is more than `tolerance` times control's.
 *
 * Assumes requests are routed at random with the canary share ρ0 of each epoch (check
 * with {@link sampleRatioTest}) and that events are counted per unit of randomisation
 * (one per user under user-sticky routing). Validity needs no minimum sample and
 * holds at any evaluation cadence: under H0, P(ever reject) ≤ alpha.
 *
 * @example
 * const result = rateTest({ epochs: [{ rho0: 0.5, canaryEvents: 15, totalEvents: 15 }], alpha: 0.001 });
 * result.reject; // true: 15 of 15 errors from the canary
 * @throws StatsInputError on invalid options.
 */
export function rateTest(options: RateTestOptions): RateTestResult {
  const config = resolveRateTestConfig(options);
  const { epochs, alpha, tolerance, grid } = config;
  const logEValue = rateLogEValue(epochs, tolerance, grid, 1);
  const boundary = 1 / alpha;
  const logBoundary = Math.log(boundary);
  let canaryEvents = 0;
  let totalEvents = 0;
  for (const epoch of epochs) {
    canaryEvents += epoch.canaryEvents;
    totalEvents += epoch.totalEvents;
  }
  const rrLower = confidenceBound(epochs, grid, logBoundary, 1);
  const rrUpper = confidenceBound(epochs, grid, logBoundary, -1);
  return {
    ...eValueDecision(logEValue, alpha),
    canaryEvents,
    totalEvents,
    relativeRisk: maximumLikelihoodRelativeRisk(epochs, canaryEvents, totalEvents),
    rrLower,
    rrUpper,
  };
}

const LOG_RR_SEARCH_LIMIT = Math.log(1e6);
// 40 halvings of a 2·ln(1e6) bracket: bounds precise to ~1e-11 relative.
const BISECTION_STEPS = 40;

/**
 * Bisection on ln r0. The "worse" family's ln E decreases strictly in r0 (its
 * derivative in ln r0 is −Σ m·(θ_g − θ0) < 0), the mirror family's increases, so each
 * bound is the single crossing of ln(1/alpha).
 */
function confidenceBound(
  epochs: readonly RateEpoch[],
  grid: readonly number[],
  logBoundary: number,
  direction: 1 | -1,
): number {
  const excluded = (logRisk: number) => rateLogEValue(epochs, Math.exp(logRisk), grid, direction) >= logBoundary;
  // Invariant: `inside` is not excluded, `outside` is.
  let inside = direction * LOG_RR_SEARCH_LIMIT;
  let outside = -inside;
  if (!excluded(outside)) return direction === 1 ? 0 : Number.POSITIVE_INFINITY;
  if (excluded(inside)) return Math.exp(inside);
  for (let step = 0; step < BISECTION_STEPS; step += 1) {
    const mid = (inside + outside) / 2;
    if (excluded(mid)) outside = mid;
    else inside = mid;
  }
  return Math.exp(inside);
}

/**
 * Solves Σ_e k_e = Σ_e m_e·θ_e(r) for r (the score equation of the label likelihood,
 * monotone in r); closed form (k/(m−k))·(1−ρ0)/ρ0 for a single epoch.
 */
function maximumLikelihoodRelativeRisk(
  epochs: readonly RateEpoch[],
  canaryEvents: number,
  totalEvents: number,
): number | undefined {
  if (totalEvents === 0) return undefined;
  if (canaryEvents === 0) return 0;
  if (canaryEvents === totalEvents) return Number.POSITIVE_INFINITY;
  const active = epochs.filter((epoch) => epoch.totalEvents > 0);
  if (active.length === 1 && active[0]) {
    const { rho0 } = active[0];
    return (canaryEvents / (totalEvents - canaryEvents)) * ((1 - rho0) / rho0);
  }
  const expectedCanary = (logRisk: number) =>
    active.reduce((sum, epoch) => sum + epoch.totalEvents * canaryEventProbability(epoch.rho0, Math.exp(logRisk)), 0);
  let low = -2 * LOG_RR_SEARCH_LIMIT;
  let high = 2 * LOG_RR_SEARCH_LIMIT;
  for (let step = 0; step < BISECTION_STEPS * 2; step += 1) {
    const mid = (low + high) / 2;
    if (expectedCanary(mid) < canaryEvents) low = mid;
    else high = mid;
  }
  return Math.exp((low + high) / 2);
}
