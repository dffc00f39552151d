/**
 * Shared pieces of the categorical tests: the Dirichlet-multinomial e-value and the
 * effect sizes reported beside it.
 */

import { lgamma, logMultivariateBeta, xlogy } from '../special.js';
import { requireCount, StatsInputError } from './errors.js';

/** Counts or weights per category key. */
export type CountsByCategory = Readonly<Record<string, number>>;

/**
 * ln E of the Dirichlet-multinomial mixture against null shares π0 (Lindon & Malek):
 * ln B(c·π0 + n) − ln B(c·π0) − Σ n_j·ln π0_j. A category with π0_j = 0 and n_j > 0 is
 * impossible under the null (`Infinity`); one with π0_j = 0 and n_j = 0 is skipped.
 */
export function dirichletMultinomialLogEValue(
  counts: readonly number[],
  nullShares: readonly number[],
  concentration: number,
): number {
  const prior: number[] = [];
  const posterior: number[] = [];
  let logLikelihood = 0;
  for (let j = 0; j < counts.length; j += 1) {
    const count = counts[j] ?? 0;
    const share = nullShares[j] ?? 0;
    if (share <= 0) {
      if (count > 0) return Number.POSITIVE_INFINITY;
      continue;
    }
    prior.push(concentration * share);
    posterior.push(concentration * share + count);
    logLikelihood += xlogy(count, share);
  }
  if (prior.length === 0) return 0;
  return logMultivariateBeta(posterior) - logMultivariateBeta(prior) - logLikelihood;
}

/**
 * ln E of the beta-binomial label mixture for one category (T-MIX, §3.3): k canary out
 * of m observations, prior Beta(c·ρ0, c·(1−ρ0)) on the canary probability, against the
 * null probability ρ0.
 */
export function betaBinomialLabelLogEValue(canary: number, total: number, rho0: number, concentration: number): number {
  if (total === 0) return 0;
  const a = concentration * rho0;
  const b = concentration * (1 - rho0);
  return (
    lgamma(a + canary) +
    lgamma(b + total - canary) -
    lgamma(a + b + total) -
    (lgamma(a) + lgamma(b) - lgamma(a + b)) -
    xlogy(canary, rho0) -
    xlogy(total - canary, 1 - rho0)
  );
}

/** Total-variation distance ½Σ|p_j − q_j| between two share vectors. */
export function totalVariation(p: readonly number[], q: readonly number[]): number {
  let sum = 0;
  for (let j = 0; j < p.length; j += 1) sum += Math.abs((p[j] ?? 0) - (q[j] ?? 0));
  return sum / 2;
}

// Shares of zero make PSI and KL infinite; a small floor keeps them readable as effect sizes.
const DIVERGENCE_FLOOR = 1e-4;

/** Population stability index Σ(p_j − q_j)·ln(p_j/q_j), shares floored at 1e-4. */
export function populationStabilityIndex(p: readonly number[], q: readonly number[]): number {
  let sum = 0;
  for (let j = 0; j < p.length; j += 1) {
    const pj = Math.max(p[j] ?? 0, DIVERGENCE_FLOOR);
    const qj = Math.max(q[j] ?? 0, DIVERGENCE_FLOOR);
    sum += (pj - qj) * Math.log(pj / qj);
  }
  return sum;
}

/** Jensen–Shannon divergence in nats (0..ln 2): ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2. */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  let sum = 0;
  for (let j = 0; j < p.length; j += 1) {
    const pj = p[j] ?? 0;
    const qj = q[j] ?? 0;
    const mj = (pj + qj) / 2;
    if (pj > 0) sum += 0.5 * pj * Math.log(pj / mj);
    if (qj > 0) sum += 0.5 * qj * Math.log(qj / mj);
  }
  return sum;
}

/** Shares of a count vector (all zeros when empty). */
export function toShares(counts: readonly number[]): number[] {
  const total = counts.reduce((sum, count) => sum + count, 0);
  return counts.map((count) => (total > 0 ? count / total : 0));
}

/** Validates a record of counts (finite, ≥ 0). */
export function validateCategoryCounts(counts: CountsByCategory, path: string): void {
  if (typeof counts !== 'object' || counts === null || Array.isArray(counts)) {
    throw new StatsInputError({ path, expected: 'an object of counts per category', received: counts });
  }
  for (const [key, count] of Object.entries(counts)) requireCount(count, `${path}.${key}`);
}
