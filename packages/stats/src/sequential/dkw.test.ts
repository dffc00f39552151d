import { describe, expect, it } from 'vitest';
import { dkwBand, ksDriftTest } from './dkw.js';

describe('dkwBand', () => {
  it('is about 1.8× the fixed-n DKW width at t = 10⁴ (statistics.md §3.4)', () => {
    const fixed = Math.sqrt(Math.log(2 / 0.01) / (2 * 10_000));
    expect(dkwBand(10_000, 0.01) / fixed).toBeCloseTo(1.8, 1);
    expect(dkwBand(10_000, 0.01)).toBeCloseTo(
      0.85 * Math.sqrt((Math.log(Math.log(Math.E * 10_000)) + 0.8 * Math.log(1612 / 0.01)) / 10_000),
      14,
    );
  });

  it('shrinks with t, grows as alpha shrinks, and is infinite before data', () => {
    expect(dkwBand(100, 0.05)).toBeGreaterThan(dkwBand(1000, 0.05));
    expect(dkwBand(1000, 0.001)).toBeGreaterThan(dkwBand(1000, 0.05));
    expect(dkwBand(0, 0.05)).toBe(Number.POSITIVE_INFINITY);
    expect(() => dkwBand(10, 1)).toThrow(/alpha/);
  });
});

describe('ksDriftTest', () => {
  const reference = Array.from({ length: 10 }, (_, b) => ({ upper: (b + 1) * 10, count: 1000 }));

  it('computes the KS distance at bucket edges and the normalised W1', () => {
    // All observations in the first half: F̂ reaches 1 at edge 50 where the reference is 0.5.
    const observed = [200, 200, 200, 200, 200, 0, 0, 0, 0, 0];
    const result = ksDriftTest({ reference, observed, alpha: 0.01 });
    expect(result.ks).toBeCloseTo(0.5, 12);
    expect(result.ksAt).toBe(50);
    // |ΔF| = 0.1, 0.2, 0.3, 0.4, 0.5, 0.4, 0.3, 0.2, 0.1 over widths of 10 = 25; reference mean with the
    // first bucket represented by its upper edge: (10 + 15 + 25 + ... + 95)/10 = 50.5.
    expect(result.normalisedWasserstein).toBeCloseTo(25 / 50.5, 12);
    expect(result.ksLower).toBeCloseTo(0.5 - result.observedBand - result.referenceBand, 12);
    expect(result.alarm).toBe(true);
  });

  it('does not alarm on the reference distribution nor on small samples', () => {
    expect(ksDriftTest({ reference, observed: new Array<number>(10).fill(300), alpha: 0.01 }).alarm).toBe(false);
    const tiny = ksDriftTest({ reference, observed: [5, 5, 0, 0, 0, 0, 0, 0, 0, 0], alpha: 0.01 });
    expect(tiny.ks).toBeGreaterThan(0.5);
    expect(tiny.alarm).toBe(false);
  });

  it('validates alignment', () => {
    expect(() => ksDriftTest({ reference, observed: [1], alpha: 0.01 })).toThrow(/observed/);
  });
});
