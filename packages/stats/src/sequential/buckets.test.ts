import { describe, expect, it } from 'vitest';
import { createRng } from '../prng.js';
import { QuantileSketch } from '../sketch.js';
import { alignBucketCounts, bucketQuantile, midCdf, quantileBucketIndex } from './buckets.js';
import { latencyTest } from './latency.js';

describe('bucket helpers', () => {
  it('computes mid-CDFs and quantile buckets', () => {
    const buckets = [
      { upper: 10, count: 2 },
      { upper: 20, count: 0 },
      { upper: 30, count: 6 },
    ];
    expect(midCdf(buckets)).toEqual([0.125, 0.25, 0.625]);
    expect(quantileBucketIndex(buckets, 0.25)).toBe(0);
    expect(bucketQuantile(buckets, 0.5)).toBe(30);
    expect(bucketQuantile([{ upper: 1, count: 0 }], 0.5)).toBeNaN();
  });

  it('aligns distributions on the union of their edges', () => {
    const { reference, counts } = alignBucketCounts(
      [
        { upper: 1, count: 3 },
        { upper: 4, count: 1 },
      ],
      [
        [{ upper: 2, count: 5 }],
        [
          { upper: 4, count: 2 },
          { upper: 8, count: 1 },
        ],
      ],
    );
    expect(reference).toEqual([
      { upper: 1, count: 3 },
      { upper: 2, count: 0 },
      { upper: 4, count: 1 },
      { upper: 8, count: 0 },
    ]);
    expect(counts).toEqual([
      [0, 5, 0, 0],
      [0, 0, 2, 1],
    ]);
  });

  it('feeds DDSketch buckets of the three cohorts into the latency test', () => {
    const rng = createRng('sketch-alignment');
    const stable = new QuantileSketch();
    const canary = new QuantileSketch();
    const control = new QuantileSketch();
    for (let i = 0; i < 2000; i += 1) stable.add(1500 * Math.exp(rng.normal()));
    for (let i = 0; i < 1500; i += 1) {
      canary.add(1.5 * 1500 * Math.exp(rng.normal()));
      control.add(1500 * Math.exp(rng.normal()));
    }
    const aligned = alignBucketCounts(stable.buckets(), [canary.buckets(), control.buckets()]);
    expect(aligned.counts[0]?.reduce((a, b) => a + b, 0)).toBe(1500);
    const result = latencyTest({
      reference: aligned.reference,
      epochs: [{ rho0: 0.5, canary: aligned.counts[0] ?? [], control: aligned.counts[1] ?? [] }],
      alpha: 0.002,
    });
    expect(result.reject).toBe(true);
    // Bucket-resolution quantiles agree with the sketch's own within its accuracy.
    const p99 = result.quantiles.find((quantile) => quantile.quantile === 0.99);
    expect(Math.abs((p99?.canary ?? 0) / canary.quantile(0.99) - 1)).toBeLessThan(0.03);
  });
});
