import type { BucketCount, BucketCounts, CohortWindow, ScoreWindow } from './windows.js';

const EMPTY_SCORE: ScoreWindow = Object.freeze({ count: 0, sum: 0, buckets: Object.freeze([]) });

/** A cohort window with no observations (a cohort that served nothing yet). */
export function emptyCohortWindow(): CohortWindow {
  return {
    requests: 0,
    errors: 0,
    subjects: 0,
    subjectsWithError: 0,
    toolCalls: 0,
    toolFailures: 0,
    subjectsWithToolFailure: 0,
    toolCallsByName: {},
    refusals: 0,
    subjectsWithRefusal: 0,
    feedback: 0,
    thumbsDown: 0,
    subjectsWithThumbsDown: 0,
    latencyMillis: [],
    subjectLatencyMillis: [],
    outputLength: [],
    subjectOutputLength: [],
    similarity: EMPTY_SCORE,
    toxicity: EMPTY_SCORE,
    subjectFirsts: {
      turns: 0,
      turnErrors: 0,
      turnRefusals: 0,
      toolsByName: {},
      secondTools: 0,
      toolSwitches: 0,
      ratings: 0,
      thumbsDown: 0,
      similarity: EMPTY_SCORE,
      toxicity: EMPTY_SCORE,
    },
  };
}

/** Total observations of a distribution. */
export function totalCount(buckets: BucketCounts): number {
  let total = 0;
  for (const bucket of buckets) total += bucket.count;
  return total;
}

/**
 * The `q` quantile at bucket resolution: the upper edge of the bucket holding the
 * observation of rank ceil(q·n). Returns undefined without observations; an overflow
 * bucket answers with the last finite edge.
 */
export function quantileOf(buckets: BucketCounts, q: number): number | undefined {
  const total = totalCount(buckets);
  if (total <= 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  let lastFinite: number | undefined;
  for (const bucket of buckets) {
    if (Number.isFinite(bucket.upper)) lastFinite = bucket.upper;
    seen += bucket.count;
    if (seen >= rank) return Number.isFinite(bucket.upper) ? bucket.upper : lastFinite;
  }
  return lastFinite;
}

/** Observations strictly above `edge` (exact when `edge` is a bucket edge). */
export function countAbove(buckets: BucketCounts, edge: number): number {
  let count = 0;
  for (const bucket of buckets) if (bucket.upper > edge) count += bucket.count;
  return count;
}

/** Observations at or below `edge` (exact when `edge` is a bucket edge). */
export function countAtOrBelow(buckets: BucketCounts, edge: number): number {
  return totalCount(buckets) - countAbove(buckets, edge);
}

/**
 * Sums buckets with equal edges, keeping the result ascending. Both DDSketch buckets of
 * one accuracy and Prometheus buckets of one histogram share edges, so this is exact.
 */
export function mergeBuckets(...distributions: readonly BucketCounts[]): BucketCount[] {
  const byUpper = new Map<number, number>();
  for (const distribution of distributions) {
    for (const bucket of distribution) byUpper.set(bucket.upper, (byUpper.get(bucket.upper) ?? 0) + bucket.count);
  }
  return [...byUpper.entries()].sort((a, b) => a[0] - b[0]).map(([upper, count]) => ({ upper, count }));
}

/**
 * Counts of `buckets` re-expressed on `edges` (ascending uppers of a reference): each
 * bucket goes to the first edge at or above its upper bound, or to a trailing overflow
 * slot. The mapping depends on the observation only, never on its cohort, which is what
 * keeps label-betting tests valid on coarsened data. Returns `edges.length + 1` counts.
 */
export function countsOnEdges(buckets: BucketCounts, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const bucket of buckets) {
    if (bucket.count === 0) continue;
    let index = lowerBound(edges, bucket.upper);
    if (index > edges.length) index = edges.length;
    counts[index] = (counts[index] ?? 0) + bucket.count;
  }
  return counts;
}

function lowerBound(edges: readonly number[], value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((edges[middle] ?? Number.POSITIVE_INFINITY) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
