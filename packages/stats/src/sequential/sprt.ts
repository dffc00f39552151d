/**
 * Wald's sequential probability ratio test with known hypotheses: the oracle lower
 * bounds of the detection benchmark (statistics.md §6, gates d1 and d2). With the
 * effect known in advance, the SPRT minimises the expected sample size among all
 * tests with the same error rates (Wald–Wolfowitz), so no practical gate can beat it.
 */

import { xlogy } from '../special.js';
import { requireCount, requireOpenUnit, requirePositive, StatsInputError } from './errors.js';

/** State of an SPRT after the data seen so far. */
export const SPRT_DECISION = {
  /** The log-likelihood ratio reached the upper boundary: accept H1 (roll back). */
  rejectNull: 'reject_null',
  /** It reached the lower boundary: accept H0. */
  acceptNull: 'accept_null',
  /** Between the boundaries: keep sampling. */
  continue: 'continue',
} as const;
export type SprtDecision = (typeof SPRT_DECISION)[keyof typeof SPRT_DECISION];

/** Wald's boundaries on the log-likelihood ratio. */
export interface SprtBoundaries {
  /** ln(β/(1−α)); `-Infinity` for a power-one test (β = 0). */
  readonly lower: number;
  /** ln((1−β)/α). */
  readonly upper: number;
}

/** Result of an SPRT evaluation. */
export interface SprtResult extends SprtBoundaries {
  readonly logLikelihoodRatio: number;
  /**
   * Where the current log-likelihood ratio lies. The SPRT stops at the first crossing:
   * evaluate after every observation and stop at the first non-`continue`.
   */
  readonly decision: SprtDecision;
}

/**
 * Wald's approximate boundaries for type-I error `alpha` and type-II error `beta`
 * (β = 0 gives the power-one test that only stops to reject, at ln(1/α)).
 *
 * @throws StatsInputError if alpha is not in (0, 1) or beta not in [0, 1).
 */
export function waldBoundaries(alpha: number, beta = 0): SprtBoundaries {
  requireOpenUnit(alpha, 'alpha');
  if (typeof beta !== 'number' || !(beta >= 0 && beta < 1)) {
    throw new StatsInputError({ path: 'beta', expected: 'a number in [0, 1)', received: beta });
  }
  return {
    lower: beta === 0 ? Number.NEGATIVE_INFINITY : Math.log(beta / (1 - alpha)),
    upper: Math.log((1 - beta) / alpha),
  };
}

/** KL(p‖q) between Bernoulli(p) and Bernoulli(q), in nats. */
export function klBernoulli(p: number, q: number): number {
  return xlogy(p, p / q) + xlogy(1 - p, (1 - p) / (1 - q));
}

/** Options of {@link waldExpectedSampleSize}. */
export interface WaldExpectedSampleSizeOptions {
  readonly alpha: number;
  readonly beta: number;
  /** KL divergence per observation: KL(p1‖p0) under H1, KL(p0‖p1) under H0. */
  readonly kl: number;
  /** @default 'alternative' */
  readonly under?: 'alternative' | 'null';
}

/**
 * Wald's approximation of the SPRT's expected sample size (ignoring overshoot):
 * E₁[N] = [(1−β)ln((1−β)/α) + β·ln(β/(1−α))] / KL(p1‖p0) and
 * E₀[N] = [(1−α)ln((1−α)/β) + α·ln(α/(1−β))] / KL(p0‖p1).
 *
 * @example
 * waldExpectedSampleSize({ alpha: 0.01, beta: 0.05, kl: klBernoulli(0.1, 0.05) }); // ≈ 202
 */
export function waldExpectedSampleSize(options: WaldExpectedSampleSizeOptions): number {
  const { alpha, beta, kl } = options;
  requireOpenUnit(alpha, 'alpha');
  requireOpenUnit(beta, 'beta');
  if (!(kl > 0)) throw new StatsInputError({ path: 'kl', expected: 'a number > 0', received: kl });
  if ((options.under ?? 'alternative') === 'alternative') {
    return ((1 - beta) * Math.log((1 - beta) / alpha) + beta * Math.log(beta / (1 - alpha))) / kl;
  }
  return ((1 - alpha) * Math.log((1 - alpha) / beta) + alpha * Math.log(alpha / (1 - beta))) / kl;
}

function decide(logLikelihoodRatio: number, boundaries: SprtBoundaries): SprtResult {
  const decision =
    logLikelihoodRatio >= boundaries.upper
      ? SPRT_DECISION.rejectNull
      : logLikelihoodRatio <= boundaries.lower
        ? SPRT_DECISION.acceptNull
        : SPRT_DECISION.continue;
  return { ...boundaries, logLikelihoodRatio, decision };
}

/** Options of {@link bernoulliSprt}. */
export interface BernoulliSprtOptions {
  /** Adverse-event probability under H0 (the known baseline). */
  readonly p0: number;
  /** Adverse-event probability under H1 (the known effect). */
  readonly p1: number;
  /** Adverse events among the canary's observations. */
  readonly events: number;
  /** Canary observations. */
  readonly trials: number;
  readonly alpha: number;
  /** @default 0 (power-one) */
  readonly beta?: number;
}

/**
 * Canary-only oracle SPRT (gate d1): Bernoulli(p0) vs Bernoulli(p1) with both known,
 * no control group needed.
 *
 * @throws StatsInputError on invalid options.
 */
export function bernoulliSprt(options: BernoulliSprtOptions): SprtResult {
  const { p0, p1, events, trials, alpha } = options;
  requireOpenUnit(p0, 'p0');
  requireOpenUnit(p1, 'p1');
  requireCount(events, 'events');
  requireCount(trials, 'trials');
  if (events > trials)
    throw new StatsInputError({ path: 'events', expected: `at most trials (${trials})`, received: events });
  const logLikelihoodRatio = xlogy(events, p1 / p0) + xlogy(trials - events, (1 - p1) / (1 - p0));
  return decide(logLikelihoodRatio, waldBoundaries(alpha, options.beta ?? 0));
}

/** Options of {@link gaussianSprt}. */
export interface GaussianSprtOptions {
  /** Mean of the observations under H0 (e.g. of log-latency). */
  readonly mean0: number;
  /** Mean under H1. */
  readonly mean1: number;
  /** Known standard deviation under both hypotheses (> 0). */
  readonly standardDeviation: number;
  /** Sum of the canary's observations (e.g. Σ ln latency). */
  readonly sum: number;
  /** Number of canary observations. */
  readonly count: number;
  readonly alpha: number;
  /** @default 0 (power-one) */
  readonly beta?: number;
}

/**
 * Canary-only oracle SPRT for a normal mean with known variance (gate d1 for latency:
 * apply it to log-latency, where a ×1.2 slowdown shifts the mean by ln 1.2). Needs only
 * the sum and the count: ln LR = (μ1 − μ0)/σ² · (S − n·(μ0 + μ1)/2).
 *
 * @throws StatsInputError on invalid options.
 */
export function gaussianSprt(options: GaussianSprtOptions): SprtResult {
  const { mean0, mean1, standardDeviation, sum, count, alpha } = options;
  for (const [path, value] of [
    ['mean0', mean0],
    ['mean1', mean1],
    ['sum', sum],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new StatsInputError({ path, expected: 'a finite number', received: value });
    }
  }
  requirePositive(standardDeviation, 'standardDeviation');
  requireCount(count, 'count');
  const logLikelihoodRatio = ((mean1 - mean0) / standardDeviation ** 2) * (sum - (count * (mean0 + mean1)) / 2);
  return decide(logLikelihoodRatio, waldBoundaries(alpha, options.beta ?? 0));
}

/** Options of {@link labelSprt}. */
export interface LabelSprtOptions {
  /** Canary share of canary ∪ control traffic, in (0, 1). */
  readonly rho0: number;
  /**
   * The true probability θ1 that an adverse event comes from the canary, known to the
   * oracle: `canaryEventProbability(rho0, p1 / p0)`.
   */
  readonly theta1: number;
  /** Adverse events from the canary. */
  readonly canaryEvents: number;
  /** Adverse events from canary and control. */
  readonly totalEvents: number;
  readonly alpha: number;
  /** @default 0 (power-one) */
  readonly beta?: number;
}

/**
 * Label-oracle SPRT (gate d2): bets on the arm label of adverse events with the true
 * θ1 known, against θ0 = ρ0. The lower bound for any controlled
 * method at the same ρ0; T-RATE is its mixture over unknown relative risks.
 *
 * @throws StatsInputError on invalid options.
 */
export function labelSprt(options: LabelSprtOptions): SprtResult {
  const { rho0, theta1, canaryEvents, totalEvents, alpha } = options;
  requireOpenUnit(rho0, 'rho0');
  requireOpenUnit(theta1, 'theta1');
  requireCount(canaryEvents, 'canaryEvents');
  requireCount(totalEvents, 'totalEvents');
  if (canaryEvents > totalEvents) {
    throw new StatsInputError({
      path: 'canaryEvents',
      expected: `at most totalEvents (${totalEvents})`,
      received: canaryEvents,
    });
  }
  const logLikelihoodRatio =
    xlogy(canaryEvents, theta1 / rho0) + xlogy(totalEvents - canaryEvents, (1 - theta1) / (1 - rho0));
  return decide(logLikelihoodRatio, waldBoundaries(alpha, options.beta ?? 0));
}
