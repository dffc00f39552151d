/**
 * The gate's narrow view of the anytime-valid tests of `@agent-canary/stats`
 * (statistics.md §2–§3.5): plain per-epoch counts in, e-values and effects out. Every
 * test bets on the arm label of observations whose score depends on the outcome only,
 * so the wealth is order-free and computable from counts; epochs of constant ρ0 add
 * their log-wealth.
 */
import {
  type BucketCounts,
  type EValueDecision,
  eValueDecision,
  type LatencyReference,
  latencyLogEValue,
  OTHER_CATEGORY,
  prepareLatencyReference,
  RANK_SIDE,
  rankScoreLogEValue,
  rankScores,
  rateLogEValue,
  rateTest,
  sampleRatioLogEValue,
} from '@agent-canary/stats';
import type { FrozenReference } from './state.js';

/** Result of one e-process at this look. */
export type EProcessResult = Pick<EValueDecision, 'eValue' | 'boundary' | 'alpha' | 'reject'>;

/** Adverse events of one ρ0 epoch. */
export interface RateCounts {
  readonly rho0: number;
  readonly canaryEvents: number;
  readonly controlEvents: number;
}

/** T-RATE with its effect estimate and anytime bounds on the relative risk. */
export interface RateResult extends EProcessResult {
  readonly relativeRisk: number | undefined;
  readonly rrLower: number;
  readonly rrUpper: number;
}

/**
 * T-RATE (§3.1): one-sided test that the canary raises an adverse rate. Without
 * `bounds` only the e-value is computed (the decision); the relative risk and its
 * anytime bounds (two bisections) are left undefined / [0, ∞).
 */
export function rateEProcess(epochs: readonly RateCounts[], alpha: number, bounds = true): RateResult {
  const rateEpochs = epochs.map((e) => ({
    rho0: e.rho0,
    canaryEvents: e.canaryEvents,
    totalEvents: e.canaryEvents + e.controlEvents,
  }));
  if (!bounds) {
    return {
      ...eValueDecision(rateLogEValue(rateEpochs), alpha),
      relativeRisk: undefined,
      rrLower: 0,
      rrUpper: Number.POSITIVE_INFINITY,
    };
  }
  const result = rateTest({ epochs: rateEpochs, alpha });
  return {
    eValue: result.eValue,
    boundary: result.boundary,
    alpha: result.alpha,
    reject: result.reject,
    relativeRisk: result.relativeRisk,
    rrLower: result.rrLower,
    rrUpper: result.rrUpper,
  };
}

/** Canary and control counts on the reference's slots, for one ρ0 epoch. */
export interface RankCounts {
  readonly rho0: number;
  readonly canary: readonly number[];
  readonly control: readonly number[];
}

/** The frozen reference as bucket counts: its finite edges, then an overflow bucket. */
export function referenceBuckets(reference: FrozenReference): BucketCounts {
  const buckets = reference.edges.map((upper, index) => ({ upper, count: reference.counts[index] ?? 0 }));
  buckets.push({ upper: Number.POSITIVE_INFINITY, count: reference.counts[reference.edges.length] ?? 0 });
  return buckets;
}

// A reference is frozen once per rollout and read at every tick: derive its scores and
// cuts once. Keyed by identity, so a state that went through JSON derives them again.
const preparedLatency = new WeakMap<FrozenReference, LatencyReference>();
const preparedScores = new WeakMap<FrozenReference, number[]>();

function latencyReferenceOf(reference: FrozenReference): LatencyReference {
  let prepared = preparedLatency.get(reference);
  if (!prepared) {
    prepared = prepareLatencyReference({ reference: referenceBuckets(reference) });
    preparedLatency.set(reference, prepared);
  }
  return prepared;
}

function scoresOf(reference: FrozenReference): number[] {
  let scores = preparedScores.get(reference);
  if (!scores) {
    scores = rankScores(referenceBuckets(reference));
    preparedScores.set(reference, scores);
  }
  return scores;
}

/**
 * T-DIST (§3.4): two-sided rank-score bet of canary vs control on the frozen reference;
 * with `tolerance` δ the null is "mean scores differ by at most δ" (see `rankScoreLogEValue`).
 * Uses the stats package's cheap path: the gate builds the epochs aligned with the
 * reference itself, so `rankScoreTest`'s validation and summaries would be wasted.
 */
export function rankScoreEProcess(
  reference: FrozenReference,
  epochs: readonly RankCounts[],
  alpha: number,
  tolerance = 0,
): EProcessResult {
  const logE = rankScoreLogEValue(scoresOf(reference), epochs, RANK_SIDE.twoSided, undefined, tolerance);
  return eValueDecision(logE, alpha);
}

/**
 * T-LAT (§3.2): mean of the body bet and the exceedance tests at the reference p95 and
 * p99. Uses the stats package's cheap path (no bounds or summaries): the gate reports its
 * own quantiles, and `latencyTest` costs ten times more per look. `body` (the body bet's
 * own e-value, for the evidence) is computed only when asked for.
 */
export function latencyEProcess(
  reference: FrozenReference,
  epochs: readonly RankCounts[],
  alpha: number,
  withBody = true,
): EProcessResult & { readonly body: number } {
  const prepared = latencyReferenceOf(reference);
  const logE = latencyLogEValue(prepared, epochs);
  const body = withBody ? Math.exp(rankScoreLogEValue(prepared.scores, epochs, RANK_SIDE.greater)) : Number.NaN;
  return { ...eValueDecision(logE, alpha), body };
}

/** Tool use per category in one ρ0 epoch. */
export interface MixCounts {
  readonly rho0: number;
  readonly canary: Readonly<Record<string, number>>;
  readonly control: Readonly<Record<string, number>>;
}

/** Categories with a reference share below this are lumped into `other`. */
export const MIX_MIN_SHARE = 0.01;

/** Categories of a frozen tool reference (see {@link mixCategories}). */
export interface MixCategories {
  readonly shares: ReadonlyMap<string, number>;
  readonly categoryOf: (tool: string) => string;
}

// Frozen once per rollout, read at every tick: derived once per reference object.
const preparedCategories = new WeakMap<Readonly<Record<string, number>>, MixCategories>();

/** The reference's categories and their shares; rare ones (and unseen tools) lumped into `other`. */
export function mixCategories(reference: Readonly<Record<string, number>>): MixCategories {
  const prepared = preparedCategories.get(reference);
  if (prepared !== undefined) return prepared;
  const categories = deriveCategories(reference);
  preparedCategories.set(reference, categories);
  return categories;
}

function deriveCategories(reference: Readonly<Record<string, number>>): MixCategories {
  let total = 0;
  for (const count of Object.values(reference)) total += count;
  const shares = new Map<string, number>();
  let other = 0;
  for (const [tool, count] of Object.entries(reference)) {
    const share = total > 0 ? count / total : 0;
    if (share >= MIX_MIN_SHARE && tool !== OTHER_CATEGORY) shares.set(tool, share);
    else other += share;
  }
  shares.set(OTHER_CATEGORY, other);
  return { shares, categoryOf: (tool) => (shares.has(tool) && tool !== OTHER_CATEGORY ? tool : OTHER_CATEGORY) };
}

/**
 * One-sided T-RATE e-values that a share moved by more than `tolerance` points h: up (the
 * canary's rate of the event is more than (b + h)/b times control's, b = max(π, h)) and,
 * when the share can fall that far, down ((π − h)/π). π is the stable reference share,
 * frozen before the counts. Rejecting the shifted null proves a change beyond the tolerance.
 */
function shareShiftLogEValues(epochs: readonly RateCounts[], share: number, tolerance: number): number[] {
  const rateEpochs = epochs.map((e) => ({
    rho0: e.rho0,
    canaryEvents: e.canaryEvents,
    totalEvents: e.canaryEvents + e.controlEvents,
  }));
  // Below the tolerance, "more than h points" reads "more than doubled" (a share of 0
  // would make any rise infinitely large).
  const base = Math.max(share, tolerance);
  const up = base > 0 ? (base + tolerance) / base : 1;
  const logs = [rateLogEValue(rateEpochs, up, undefined, 1)];
  if (share > tolerance) logs.push(rateLogEValue(rateEpochs, (share - tolerance) / share, undefined, -1));
  return logs;
}

function meanExp(logs: readonly number[]): number {
  if (logs.length === 0) return 1;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of logs) if (value > max) max = value;
  let sum = 0;
  for (const value of logs) sum += Math.exp(value - max);
  return Math.log(sum / logs.length) + max;
}

/**
 * T-MIX with materiality (§3.3, users as unit): for each category of the frozen reference,
 * whether its share of the canary's units moved by more than `tolerance` points from
 * control's, up or down (T-RATE on the category's units against a shifted null). The
 * e-value is the average over categories and directions: each unit is one category's
 * event, so the components bet on disjoint labels and their mean is an e-process.
 */
export function mixShareEProcess(
  epochs: readonly MixCounts[],
  reference: Readonly<Record<string, number>>,
  tolerance: number,
  alpha: number,
): EProcessResult {
  const { shares, categoryOf } = mixCategories(reference);
  // One pass over each epoch's tools: per category, canary and control units.
  const perEpoch = epochs.map((epoch) => {
    const canary = new Map<string, number>();
    const control = new Map<string, number>();
    for (const [tool, count] of Object.entries(epoch.canary)) {
      const category = categoryOf(tool);
      canary.set(category, (canary.get(category) ?? 0) + count);
    }
    for (const [tool, count] of Object.entries(epoch.control)) {
      const category = categoryOf(tool);
      control.set(category, (control.get(category) ?? 0) + count);
    }
    return { rho0: epoch.rho0, canary, control };
  });
  const logs: number[] = [];
  for (const [category, share] of shares) {
    const counts = perEpoch.map((epoch) => ({
      rho0: epoch.rho0,
      canaryEvents: epoch.canary.get(category) ?? 0,
      controlEvents: epoch.control.get(category) ?? 0,
    }));
    logs.push(...shareShiftLogEValues(counts, share, tolerance));
  }
  return eValueDecision(meanExp(logs), alpha);
}

/** SRM (§3.5): Dirichlet-multinomial e-value of cohort counts against the configured split. */
export function sampleRatioEProcess(
  counts: Readonly<Record<string, number>>,
  split: Readonly<Record<string, number>>,
  alpha: number,
): EProcessResult {
  const keys = Object.keys(split);
  let weight = 0;
  for (const key of keys) weight += split[key] ?? 0;
  const logE = sampleRatioLogEValue(
    keys.map((key) => counts[key] ?? 0),
    keys.map((key) => (split[key] ?? 0) / weight),
  );
  return eValueDecision(logE, alpha);
}
