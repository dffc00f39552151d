/**
 * Rank-score bet (T-LAT body, T-DIST): anytime-valid test that the canary's values
 * are stochastically larger (or smaller, or either) than control's, from bucket counts.
 *
 * Each observation is scored w = 2u − 1 ∈ (−1, 1), with u its mid-CDF under a reference
 * distribution frozen before the test (the stable release's sketch at warm-up). The
 * score never looks at the arm label, so for each fixed bet size λ the wealth
 * Π(1 + λ·w·(1{canary} − ρ0)) is a nonnegative martingale under H0 (routing is a coin
 * of bias ρ0 whatever the outcome). The wealth is a product, hence it depends only on
 * how many canary and control observations fell in each bucket.
 */

import { logMeanExp } from '../special.js';
import { type BucketCounts, midCdf, validateAlignedCounts, validateBucketCounts } from './buckets.js';
import { type EValueDecision, eValueDecision } from './e-value.js';
import { requireOpenUnit, StatsInputError } from './errors.js';

/** Alternatives of a rank-score test. */
export const RANK_SIDE = {
  /** The canary's values are larger (latency, length growing). */
  greater: 'greater',
  /** The canary's values are smaller (similarity, scores dropping). */
  less: 'less',
  /** Either direction (drift in length). */
  twoSided: 'two-sided',
} as const;
export type RankSide = (typeof RANK_SIDE)[keyof typeof RANK_SIDE];

/** Canary and control bucket counts observed while the canary share ρ0 stayed constant. */
export interface BucketEpoch {
  /** Canary share of canary ∪ control traffic in this epoch, in (0, 1). */
  readonly rho0: number;
  /** Canary observations per reference bucket (same length and order as the reference). */
  readonly canary: readonly number[];
  /** Control observations per reference bucket. */
  readonly control: readonly number[];
}

/** Options of {@link rankScoreTest}. */
export interface RankScoreTestOptions {
  /**
   * Reference distribution frozen before the epochs' counts started (e.g. stable
   * traffic during warm-up), over the bucket edges the epochs use. Its buckets may hold
   * zero counts (edges seen only later).
   */
  readonly reference: BucketCounts;
  /** Counts per ρ0 epoch since the reference was frozen. */
  readonly epochs: readonly BucketEpoch[];
  /** Type-I error over the test's whole life, in (0, 1). */
  readonly alpha: number;
  /** @default 'greater' */
  readonly side?: RankSide;
  /**
   * Bet sizes c in (0, 1); λ = c / max(ρ0, 1 − ρ0). Two-sided tests bet ±c.
   * @default [0.025, 0.05, 0.1, 0.2, 0.4, 0.8]
   */
  readonly grid?: readonly number[];
}

/** Resolved options of {@link rankScoreTest}. */
export interface RankScoreTestConfig {
  readonly reference: BucketCounts;
  readonly epochs: readonly BucketEpoch[];
  readonly alpha: number;
  readonly side: RankSide;
  readonly grid: readonly number[];
}

/** Defaults of {@link RankScoreTestOptions}. */
export const RANK_SCORE_TEST_DEFAULTS = Object.freeze({
  side: RANK_SIDE.greater as RankSide,
  grid: Object.freeze([0.025, 0.05, 0.1, 0.2, 0.4, 0.8]) as readonly number[],
});

/** Result of {@link rankScoreTest}. */
export interface RankScoreTestResult extends EValueDecision {
  readonly side: RankSide;
  readonly canaryCount: number;
  readonly controlCount: number;
  /** Mean reference mid-CDF of canary observations (0.5 = like the reference); `NaN` without data. */
  readonly canaryMeanScore: number;
  /** Mean reference mid-CDF of control observations. */
  readonly controlMeanScore: number;
  /**
   * P(canary > control) + ½·P(tie) at bucket resolution (common-language effect size;
   * 0.5 = no difference), pooled over epochs; `NaN` if an arm is empty.
   */
  readonly superiority: number;
}

/**
 * Resolves and validates {@link RankScoreTestOptions}.
 *
 * @throws StatsInputError naming the offending field.
 */
export function resolveRankScoreTestConfig(options: RankScoreTestOptions): RankScoreTestConfig {
  validateBucketCounts(options.reference, 'reference');
  validateBucketEpochs(options.epochs, options.reference.length);
  requireOpenUnit(options.alpha, 'alpha');
  const side = options.side ?? RANK_SCORE_TEST_DEFAULTS.side;
  if (!Object.values(RANK_SIDE).includes(side)) {
    throw new StatsInputError({
      path: 'side',
      expected: `one of ${Object.values(RANK_SIDE).join(', ')}`,
      received: side,
    });
  }
  const grid = options.grid ?? RANK_SCORE_TEST_DEFAULTS.grid;
  if (!Array.isArray(grid) || grid.length === 0) {
    throw new StatsInputError({ path: 'grid', expected: 'a non-empty array of numbers in (0, 1)', received: grid });
  }
  grid.forEach((c, index) => {
    requireOpenUnit(c, `grid[${index}]`);
  });
  return { reference: options.reference, epochs: options.epochs, alpha: options.alpha, side, grid };
}

/** Validates epochs of bucket counts aligned with `size` reference buckets. */
export function validateBucketEpochs(epochs: readonly BucketEpoch[], size: number): void {
  if (!Array.isArray(epochs)) {
    throw new StatsInputError({ path: 'epochs', expected: 'an array of epochs', received: epochs });
  }
  epochs.forEach((epoch, index) => {
    requireOpenUnit(epoch.rho0, `epochs[${index}].rho0`);
    validateAlignedCounts(epoch.canary, size, `epochs[${index}].canary`);
    validateAlignedCounts(epoch.control, size, `epochs[${index}].control`);
  });
}

/**
 * ln E of the rank-score bet for validated inputs and precomputed per-bucket scores
 * w_b = 2u_b − 1: the cheap path for simulations and the gate. With `tolerance` δ > 0 the
 * null is "canary's and control's mean scores differ by at most δ" (composite): the bet
 * on w·ε is reduced by ρ0(1 − ρ0)δ, its largest mean under that null, so a rejection means
 * the difference exceeds δ. A KS distance of at most κ between canary and control bounds
 * the mean-score difference by 2κ: δ = 2κ tests "KS > κ".
 */
export function rankScoreLogEValue(
  scores: readonly number[],
  epochs: readonly BucketEpoch[],
  side: RankSide = RANK_SCORE_TEST_DEFAULTS.side,
  grid: readonly number[] = RANK_SCORE_TEST_DEFAULTS.grid,
  tolerance = 0,
): number {
  const signs = side === RANK_SIDE.twoSided ? [1, -1] : side === RANK_SIDE.less ? [-1] : [1];
  const components = signs.length * grid.length;
  const logs = new Float64Array(components);
  const size = scores.length;
  for (const epoch of epochs) {
    const table = logFactorTable(scores, epoch.rho0, signs, grid, tolerance);
    const canaryCounts = epoch.canary;
    const controlCounts = epoch.control;
    for (let b = 0; b < size; b += 1) {
      const canary = canaryCounts[b] ?? 0;
      const control = controlCounts[b] ?? 0;
      if (canary === 0 && control === 0) continue;
      // Counts times precomputed ln(1 + λ·w·ε): multiply-adds instead of logarithms
      // (typed-array reads in range, so no undefined to guard against).
      let row = b * 2 * components;
      for (let k = 0; k < components; k += 1, row += 2) {
        logs[k] = (logs[k] as number) + canary * (table[row] as number) + control * (table[row + 1] as number);
      }
    }
  }
  return logMeanExp(Array.from(logs));
}

/**
 * ln(1 + λ·w_b·(1 − ρ0)) and ln(1 − λ·w_b·ρ0) per bucket and bet component, laid out
 * bucket-major. Evaluations repeat with the same frozen scores and ρ0 (every tick of
 * a rollout), so tables are memoised per scores array (weakly: a dropped reference
 * frees its tables).
 */
const tableCache = new WeakMap<readonly number[], WeakMap<readonly number[], Map<string, Float64Array>>>();

function logFactorTable(
  scores: readonly number[],
  rho0: number,
  signs: readonly number[],
  grid: readonly number[],
  tolerance: number,
): Float64Array {
  let byGrid = tableCache.get(scores);
  if (!byGrid) {
    byGrid = new WeakMap();
    tableCache.set(scores, byGrid);
  }
  let byKey = byGrid.get(grid);
  if (!byKey) {
    byKey = new Map();
    byGrid.set(grid, byKey);
  }
  const key = `${signs.length === 2 ? '±' : signs[0] === 1 ? '+' : '-'}${rho0}:${tolerance}`;
  const cached = byKey.get(key);
  if (cached) return cached;
  const components = signs.length * grid.length;
  const table = new Float64Array(scores.length * 2 * components);
  // Under "the mean score of canary and control differs by at most δ", E[w·ε] is at most
  // ρ0(1 − ρ0)δ in either direction: betting on w·ε − that keeps a supermartingale.
  const shift = rho0 * (1 - rho0) * tolerance;
  const scale = Math.max(rho0, 1 - rho0) + shift;
  for (let b = 0; b < scores.length; b += 1) {
    const w = scores[b] ?? 0;
    let k = 0;
    for (const sign of signs) {
      for (const c of grid) {
        // Sized so that every factor stays positive (|w·ε| + shift ≤ scale).
        const lambda = c / scale;
        const row = (b * components + k) * 2;
        table[row] = Math.log1p(lambda * (sign * (1 - rho0) * w - shift));
        table[row + 1] = Math.log1p(lambda * (-sign * rho0 * w - shift));
        k += 1;
      }
    }
  }
  // A rollout sees a handful of ρ0 values; bound the map against unusual callers.
  if (byKey.size >= 16) byKey.clear();
  byKey.set(key, table);
  return table;
}

/** Per-bucket bet scores w_b = 2u_b − 1 from the reference's mid-CDF. */
export function rankScores(reference: BucketCounts): number[] {
  return midCdf(reference).map((u) => 2 * u - 1);
}

/**
 * Rank-score test (statistics.md §3.2 body, §3.4 T-DIST): anytime-valid test that the
 * canary's values are larger / smaller / different than control's, from counts over
 * fixed buckets.
 *
 * Assumes random routing at each epoch's ρ0 and a reference frozen before the counted
 * observations (its choice affects power only, never validity). One-sided tests
 * average 6 bets, two-sided ones 12. Reject means: the canary's distribution is shifted
 * in the tested direction relative to control's (a stochastic-order alternative; it
 * reacts to shifts of the body, and only weakly to tail-only changes — use
 * {@link latencyTest} for those).
 *
 * @throws StatsInputError on invalid options.
 */
export function rankScoreTest(options: RankScoreTestOptions): RankScoreTestResult {
  const { reference, epochs, alpha, side, grid } = resolveRankScoreTestConfig(options);
  const scores = rankScores(reference);
  const logEValue = rankScoreLogEValue(scores, epochs, side, grid);
  const summary = summarise(scores, epochs, reference.length);
  return {
    ...eValueDecision(logEValue, alpha),
    side,
    ...summary,
  };
}

function summarise(
  scores: readonly number[],
  epochs: readonly BucketEpoch[],
  size: number,
): Pick<RankScoreTestResult, 'canaryCount' | 'controlCount' | 'canaryMeanScore' | 'controlMeanScore' | 'superiority'> {
  const canary = new Array<number>(size).fill(0);
  const control = new Array<number>(size).fill(0);
  for (const epoch of epochs) {
    for (let b = 0; b < size; b += 1) {
      canary[b] = (canary[b] ?? 0) + (epoch.canary[b] ?? 0);
      control[b] = (control[b] ?? 0) + (epoch.control[b] ?? 0);
    }
  }
  const canaryCount = canary.reduce((sum, count) => sum + count, 0);
  const controlCount = control.reduce((sum, count) => sum + count, 0);
  let canaryScore = 0;
  let controlScore = 0;
  let wins = 0;
  let controlBelow = 0;
  for (let b = 0; b < size; b += 1) {
    const u = ((scores[b] ?? 0) + 1) / 2;
    const canaryHere = canary[b] ?? 0;
    const controlHere = control[b] ?? 0;
    canaryScore += canaryHere * u;
    controlScore += controlHere * u;
    wins += canaryHere * (controlBelow + controlHere / 2);
    controlBelow += controlHere;
  }
  return {
    canaryCount,
    controlCount,
    canaryMeanScore: canaryCount > 0 ? canaryScore / canaryCount : Number.NaN,
    controlMeanScore: controlCount > 0 ? controlScore / controlCount : Number.NaN,
    superiority: canaryCount > 0 && controlCount > 0 ? wins / (canaryCount * controlCount) : Number.NaN,
  };
}
