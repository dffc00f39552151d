/**
 * Confidence bounds the monitor judges materiality on: the current window's bounds are
 * anytime-valid (the e-processes of `@agent-canary/stats`, looked at every tick), the
 * baseline's are fixed-sample (it is frozen once). Every observation is a user: within
 * one subject period each user counts once, so users are the independent units.
 */
import { type BucketCounts, bernoulliUpperBound, boundedMeanTest } from '@agent-canary/stats';

/** One-sided bounds of a share, each holding with probability ≥ 1 − alpha. */
export interface ShareBounds {
  readonly lower: number;
  readonly upper: number;
}

/**
 * Relative alternatives of the monitor's mixtures: `boundedMeanTest`'s default grid starts
 * at ×1.1, which floors every bound at about 5% of the share however many users a window
 * holds; ×1.02 and ×1.05 let large windows get tighter, for ln(10/7) ≈ 0.36 nats more.
 */
export const MONITOR_GRID: readonly number[] = Object.freeze([1.02, 1.05, 1.1, 1.2, 1.35, 1.5, 2, 3, 5, 10]);

/** Bisection steps of the current window's share bounds: a precision of 2^-20 of the share (about 1e-6). */
const BOUND_STEPS = 20;

/**
 * Whether the current window proves its share `events / users` above `limit`: the
 * e-process of `boundedMeanTest` rejects "share ≤ limit" at `alpha` (anytime-valid: the
 * tick may look at any time). A limit at or above 1 is never passed, one at or below 0
 * is passed by any event.
 */
export function provenAbove(events: number, users: number, limit: number, alpha: number): boolean {
  if (users <= 0 || events <= 0 || limit >= 1) return false;
  if (limit <= 0) return true;
  return boundedMeanTest({ sum: Math.min(events, users), count: users, limit, alpha, grid: MONITOR_GRID }).reject;
}

/**
 * Anytime-valid lower bound of the current window's share: the largest limit below the
 * observed share that {@link provenAbove} passes; 0 when none. `proven`, a limit known
 * to be passed, starts the search there (so a decision taken at a limit and the bound
 * reported with it agree). The bisection keeps the last passed limit: imprecision only
 * lowers the bound.
 */
export function currentLowerBound(events: number, users: number, alpha: number, proven = 0): number {
  if (users <= 0 || events <= 0) return 0;
  let passed = Math.max(0, proven);
  let kept = Math.min(events, users) / users;
  for (let step = 0; step < BOUND_STEPS && kept > passed; step += 1) {
    const middle = (passed + kept) / 2;
    if (provenAbove(events, users, middle, alpha)) passed = middle;
    else kept = middle;
  }
  return passed;
}

/**
 * Anytime-valid upper bound of the current window's share: one minus the lower bound of
 * its complement (the mirror-image mixture of `boundedMeanBounds`). `proven`: a limit the
 * share is known to be proven below.
 */
export function currentUpperBound(events: number, users: number, alpha: number, proven = 1): number {
  if (users <= 0) return 1;
  return 1 - currentLowerBound(users - Math.min(events, users), users, alpha, 1 - proven);
}

/** n·KL between Poisson means q and p per unit: the Chernoff exponent of Bennett's inequality. */
function poissonExponent(q: number, p: number, n: number): number {
  if (p <= 0) return q > 0 ? Number.POSITIVE_INFINITY : 0;
  return n * (p - q + (q > 0 ? q * Math.log(q / p) : 0));
}

/** Bisection for the crossing of the Poisson exponent with `budget` between `inside` and `outside`. */
function poissonBound(q: number, n: number, budget: number, upper: boolean): number {
  const edge = upper ? 1 : 0;
  if (poissonExponent(q, edge, n) <= budget) return edge;
  let inside = q;
  let outside = edge;
  for (let step = 0; step < 60 && Math.abs(outside - inside) > 1e-12; step += 1) {
    const middle = (inside + outside) / 2;
    if (poissonExponent(q, middle, n) > budget) outside = middle;
    else inside = middle;
  }
  return outside;
}

/**
 * Fixed-sample bounds of a baseline share `events / users` (each at level 1 − alpha).
 *
 * Over one subject period (`periods` ≤ 1) each user counts once: Chernoff (Bernoulli KL)
 * bounds. Over k > 1 periods a user may count once per period, and one user's
 * observations are correlated (habits): users are still independent, each contributing
 * a sum in [0, k]. Scaled by 1/k these are independent variables in [0, 1] whose means
 * add to p·users/k, so the Poisson (Bennett) Chernoff bound holds for their sum with
 * effective sample users/k, whatever the correlation within a user. Each side is the
 * better of the bound on the share and the bound on its complement, at alpha/2 each.
 */
export function baselineShareBounds(events: number, users: number, periods: number, alpha: number): ShareBounds {
  if (users <= 0) return { lower: 0, upper: 1 };
  const hits = Math.min(events, users);
  if (periods <= 1) {
    return {
      lower: 1 - bernoulliUpperBound(users - hits, users, alpha),
      upper: bernoulliUpperBound(hits, users, alpha),
    };
  }
  const share = hits / users;
  const effective = users / periods;
  const budget = Math.log(2 / alpha);
  return {
    lower: Math.max(
      poissonBound(share, effective, budget, false),
      1 - poissonBound(1 - share, effective, budget, true),
    ),
    upper: Math.min(
      poissonBound(share, effective, budget, true),
      1 - poissonBound(1 - share, effective, budget, false),
    ),
  };
}

/**
 * Half-width of the fixed-sample two-sided DKW band (Massart's constant) of a baseline
 * over `periods` subject periods: effective sample users/periods, as for its shares.
 */
export function baselineDkwBand(users: number, periods: number, alpha: number): number {
  const effective = users / Math.max(1, periods);
  return effective > 0 ? Math.sqrt(Math.log(2 / alpha) / (2 * effective)) : Number.POSITIVE_INFINITY;
}

function totalOf(buckets: BucketCounts): number {
  let total = 0;
  for (const bucket of buckets) total += bucket.count;
  return total;
}

/** Counts above each bucket's upper edge (index-aligned with `buckets`). */
function countsAbove(buckets: BucketCounts): number[] {
  const above = new Array<number>(buckets.length);
  let running = 0;
  for (let index = buckets.length - 1; index >= 0; index -= 1) {
    above[index] = running;
    running += buckets[index]?.count ?? 0;
  }
  return above;
}

/**
 * Anytime-valid lower bound of the current window's `quantile` (e.g. 0.95): the highest
 * bucket edge x whose exceedance share P(X > x) is proven above 1 − quantile by the
 * e-process of `boundedMeanTest` at `alpha`. Valid for the data-chosen edge: a count
 * above a higher edge is never larger, so if any edge at or above the true quantile were
 * "proven", the test at the true quantile itself would have rejected. 0 when no edge is.
 */
export function currentQuantileLower(buckets: BucketCounts, quantile: number, alpha: number): number {
  const users = totalOf(buckets);
  if (users <= 0) return 0;
  const above = countsAbove(buckets);
  const limit = 1 - quantile;
  const proven = (index: number) =>
    boundedMeanTest({ sum: above[index] ?? 0, count: users, limit, alpha, grid: MONITOR_GRID }).reject;
  // `proven` holds on a prefix of the edges (counts above fall with the edge).
  let low = -1;
  let high = buckets.length;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (proven(middle)) low = middle;
    else high = middle;
  }
  return low < 0 ? 0 : (buckets[low]?.upper ?? 0);
}

/**
 * Fixed-sample upper bound of a baseline's `quantile`: the lowest bucket edge y whose
 * exceedance share's upper bound ({@link baselineShareBounds}) is below 1 − quantile.
 * `Infinity` when none is (too few users for that quantile).
 */
export function baselineQuantileUpper(buckets: BucketCounts, quantile: number, periods: number, alpha: number): number {
  const users = totalOf(buckets);
  if (users <= 0) return Number.POSITIVE_INFINITY;
  const above = countsAbove(buckets);
  const limit = 1 - quantile;
  const bounded = (index: number) => baselineShareBounds(above[index] ?? 0, users, periods, alpha).upper < limit;
  // `bounded` holds on a suffix of the edges.
  let low = -1;
  let high = buckets.length;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (bounded(middle)) high = middle;
    else low = middle;
  }
  return high < buckets.length ? (buckets[high]?.upper ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
}
