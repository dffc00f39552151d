import { describe, expect, it } from 'vitest';
import { countAbove, countAtOrBelow, countsOnEdges, mergeBuckets, quantileOf, totalCount } from './buckets.js';

const buckets = [
  { upper: 10, count: 2 },
  { upper: 20, count: 5 },
  { upper: 40, count: 2 },
  { upper: Number.POSITIVE_INFINITY, count: 1 },
];

describe('bucket helpers', () => {
  it('reads quantiles at bucket resolution, the overflow answering with the last finite edge', () => {
    expect(totalCount(buckets)).toBe(10);
    expect(quantileOf(buckets, 0.2)).toBe(10);
    expect(quantileOf(buckets, 0.21)).toBe(20);
    expect(quantileOf(buckets, 0.9)).toBe(40);
    expect(quantileOf(buckets, 0.99)).toBe(40);
    expect(quantileOf([], 0.5)).toBeUndefined();
  });

  it('counts exactly at edges', () => {
    expect(countAbove(buckets, 20)).toBe(3);
    expect(countAtOrBelow(buckets, 20)).toBe(7);
  });

  it('merges equal edges and re-expresses counts on a reference by outcome only', () => {
    expect(
      mergeBuckets(buckets, [
        { upper: 20, count: 1 },
        { upper: 30, count: 4 },
      ]),
    ).toEqual([
      { upper: 10, count: 2 },
      { upper: 20, count: 6 },
      { upper: 30, count: 4 },
      { upper: 40, count: 2 },
      { upper: Number.POSITIVE_INFINITY, count: 1 },
    ]);
    // Edges 15 and 40: (..15] gets the 10-bucket, (15..40] the 20 and 40 buckets, overflow the rest.
    expect(countsOnEdges(buckets, [15, 40])).toEqual([2, 7, 1]);
    expect(countsOnEdges([{ upper: 100, count: 3 }], [15, 40])).toEqual([0, 0, 3]);
  });
});
