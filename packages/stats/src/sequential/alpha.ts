/**
 * Splitting the gate's total false-rollback budget between its sequential checks.
 * Bonferroni over e-processes: if check k rejects at E_k ≥ 1/α_k, the chance that any
 * check ever rejects under H0 is ≤ Σα_k, whatever the dependence between checks.
 */

import { requireCount, requireOpenUnit, StatsInputError } from './errors.js';

/**
 * Suggested shares of the budget (statistics.md §4), as alphas summing to 0.01: the
 * headline metrics get more, the secondary ones 0.0005 each.
 */
export const DEFAULT_ALPHA_WEIGHTS = Object.freeze({
  tool_success: 0.0025,
  error_rate: 0.0025,
  latency: 0.002,
  refusal_rate: 0.001,
  thumbs_down_rate: 0.0005,
  similarity: 0.0005,
  tool_mix: 0.0005,
  response_length: 0.0005,
} as const);

/** Options of {@link splitAlpha}. */
export interface SplitAlphaOptions {
  /**
   * Total type-I error of the gate (probability of any false rollback), in (0, 1).
   * @default 0.01
   */
  readonly total?: number;
  /**
   * Relative weight per check (only ratios matter).
   * @default DEFAULT_ALPHA_WEIGHTS
   */
  readonly weights?: Readonly<Record<string, number>>;
  /**
   * The checks actually enabled; the budget is split among these only. Every name must
   * have a weight.
   * @default every key of `weights`
   */
  readonly checks?: readonly string[];
}

/** Defaults of {@link SplitAlphaOptions}. */
export const SPLIT_ALPHA_DEFAULTS = Object.freeze({ total: 0.01, weights: DEFAULT_ALPHA_WEIGHTS });

/**
 * Bonferroni split of `total` over the enabled checks, proportional to their weights.
 *
 * @example
 * splitAlpha(); // { tool_success: 0.0025, error_rate: 0.0025, latency: 0.002, ... } (sum 0.01)
 * splitAlpha({ checks: ['error_rate', 'latency'] }); // { error_rate: 0.00556, latency: 0.00444 }
 * @throws StatsInputError on a bad total, a negative weight or a check without weight.
 */
export function splitAlpha(options: SplitAlphaOptions = {}): Readonly<Record<string, number>> {
  const total = options.total ?? SPLIT_ALPHA_DEFAULTS.total;
  requireOpenUnit(total, 'total');
  const weights: Readonly<Record<string, number>> = options.weights ?? SPLIT_ALPHA_DEFAULTS.weights;
  const checks = options.checks ?? Object.keys(weights);
  if (!Array.isArray(checks) || checks.length === 0) {
    throw new StatsInputError({ path: 'checks', expected: 'a non-empty array of check names', received: checks });
  }
  checks.forEach((check, index) => {
    if (!Object.hasOwn(weights, check)) {
      throw new StatsInputError({ path: `checks[${index}]`, expected: 'a check with a weight', received: check });
    }
    requireCount(weights[check], `weights.${check}`);
  });
  const weightTotal = checks.reduce((sum, check) => sum + (weights[check] ?? 0), 0);
  if (weightTotal <= 0) {
    throw new StatsInputError({
      path: 'weights',
      expected: 'a positive weight for some enabled check',
      received: weights,
    });
  }
  const split: Record<string, number> = {};
  for (const check of checks) split[check] = (total * (weights[check] ?? 0)) / weightTotal;
  return Object.freeze(split);
}
