/**
 * Bucketed distributions as the gate receives them (sketch bins, Prometheus
 * histogram buckets): counts over fixed, ascending upper edges.
 */

import { requireCount, StatsInputError } from './errors.js';

/** One bucket of a bucketed distribution: values in (previous upper, upper]. */
export interface BucketCount {
  /** Inclusive upper edge of the bucket; the last bucket may be `Infinity`. */
  readonly upper: number;
  /** Observations in the bucket (≥ 0). */
  readonly count: number;
}

/**
 * A bucketed distribution: buckets in strictly ascending order of `upper`. The first
 * bucket holds everything up to its upper edge.
 */
export type BucketCounts = readonly BucketCount[];

/**
 * Validates a {@link BucketCounts}: a non-empty array with strictly ascending upper
 * edges and counts ≥ 0.
 *
 * @throws StatsInputError naming the offending bucket.
 */
export function validateBucketCounts(buckets: BucketCounts, path: string): void {
  if (!Array.isArray(buckets) || buckets.length === 0) {
    throw new StatsInputError({ path, expected: 'a non-empty array of { upper, count }', received: buckets });
  }
  let previous = Number.NEGATIVE_INFINITY;
  buckets.forEach((bucket, index) => {
    const upper = (bucket as Partial<BucketCount> | undefined)?.upper;
    if (typeof upper !== 'number' || Number.isNaN(upper) || upper <= previous) {
      throw new StatsInputError({
        path: `${path}[${index}].upper`,
        expected: `a number above the previous edge (${previous})`,
        received: upper,
      });
    }
    requireCount(bucket.count, `${path}[${index}].count`);
    previous = upper;
  });
}

/** Validates per-bucket counts aligned with `size` reference buckets. */
export function validateAlignedCounts(counts: readonly number[], size: number, path: string): void {
  if (!Array.isArray(counts) || counts.length !== size) {
    throw new StatsInputError({
      path,
      expected: `an array of ${size} counts aligned with the reference buckets`,
      received: Array.isArray(counts) ? `an array of ${counts.length}` : counts,
    });
  }
  counts.forEach((count, index) => {
    requireCount(count, `${path}[${index}]`);
  });
}

/** Sum of the counts. */
export function totalCount(buckets: BucketCounts): number {
  let total = 0;
  for (const bucket of buckets) total += bucket.count;
  return total;
}

/**
 * Mid-CDF of the reference at each bucket, u_b = F(b⁻) + ½·P(b): the score of an
 * observation in bucket b, ties split evenly. All 0.5 for an empty reference.
 */
export function midCdf(reference: BucketCounts): number[] {
  const total = totalCount(reference);
  if (total === 0) return reference.map(() => 0.5);
  let below = 0;
  return reference.map((bucket) => {
    const score = (below + bucket.count / 2) / total;
    below += bucket.count;
    return score;
  });
}

/**
 * Index of the first bucket whose cumulative share reaches `quantile`: the quantile's
 * bucket. Its upper edge is the cut point, and "exceeds the cut" means a bucket of
 * higher index. -1 for an empty distribution.
 */
export function quantileBucketIndex(buckets: BucketCounts, quantile: number): number {
  const total = totalCount(buckets);
  if (total === 0) return -1;
  let cumulative = 0;
  for (let index = 0; index < buckets.length; index += 1) {
    cumulative += buckets[index]?.count ?? 0;
    // A relative slack absorbs float error in sums of fractional counts.
    if (cumulative >= quantile * total * (1 - 1e-12)) return index;
  }
  return buckets.length - 1;
}

/**
 * The `quantile` of a bucketed distribution at bucket resolution: the upper edge of
 * the quantile's bucket (an upper bound of the true quantile). `NaN` when empty.
 */
export function bucketQuantile(buckets: BucketCounts, quantile: number): number {
  const index = quantileBucketIndex(buckets, quantile);
  return index < 0 ? Number.NaN : (buckets[index]?.upper ?? Number.NaN);
}

/** Sum of `counts[index]` for indices strictly above `cutIndex`. */
export function countAbove(counts: readonly number[], cutIndex: number): number {
  let total = 0;
  for (let index = cutIndex + 1; index < counts.length; index += 1) total += counts[index] ?? 0;
  return total;
}

/** Result of {@link alignBucketCounts}. */
export interface AlignedBuckets {
  /** The reference over the union of all upper edges (zero counts where it had no bucket). */
  readonly reference: BucketCounts;
  /** Each other distribution's counts over the same edges, in the order given. */
  readonly counts: readonly (readonly number[])[];
}

/**
 * Puts several bucketed distributions on one set of edges: the sorted union of their
 * upper edges. Exact when the buckets come from sketches with the same mapping
 * (DDSketch buckets of equal accuracy share edges), which is what the tests need.
 *
 * @example
 * const { reference, counts } = alignBucketCounts(stable.buckets(), [canary.buckets(), control.buckets()]);
 * latencyTest({ reference, epochs: [{ rho0: 0.5, canary: counts[0]!, control: counts[1]! }], alpha: 0.002 });
 * @throws StatsInputError if a distribution is malformed.
 */
export function alignBucketCounts(reference: BucketCounts, others: readonly BucketCounts[]): AlignedBuckets {
  const all = [reference, ...others];
  all.forEach((buckets, index) => {
    if (buckets.length > 0) validateBucketCounts(buckets, index === 0 ? 'reference' : `others[${index - 1}]`);
  });
  const edges = [...new Set(all.flatMap((buckets) => buckets.map((bucket) => bucket.upper)))].sort((a, b) => a - b);
  const position = new Map(edges.map((edge, index) => [edge, index]));
  const place = (buckets: BucketCounts): number[] => {
    const counts = new Array<number>(edges.length).fill(0);
    for (const bucket of buckets) {
      const index = position.get(bucket.upper) ?? 0;
      counts[index] = (counts[index] ?? 0) + bucket.count;
    }
    return counts;
  };
  const referenceCounts = place(reference);
  return {
    reference: edges.map((upper, index) => ({ upper, count: referenceCounts[index] ?? 0 })),
    counts: others.map(place),
  };
}
