import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuantileSketch, type SketchSnapshot } from './sketch.js';

// Zero, or values spanning 15 decades: fewer than binLimit buckets, so nothing collapses.
// (Past binLimit buckets the lowest ones collapse, and that depends on arrival order.)
const value = fc.oneof(fc.constant(0), fc.double({ min: 1e-6, max: 1e9, noNaN: true }));
const values = fc.array(value, { maxLength: 200 });
const positive = fc.array(fc.double({ min: 1e-3, max: 1e7, noNaN: true }), { minLength: 1, maxLength: 300 });

function sketchOf(list: readonly number[]): QuantileSketch {
  const sketch = new QuantileSketch();
  for (const value of list) sketch.add(value);
  return sketch;
}

/** Snapshot with the float sum left out: bins and counts must match exactly, sums only to rounding. */
function exactPart(snapshot: SketchSnapshot): Omit<SketchSnapshot, 'sum'> {
  const { sum: _sum, ...rest } = snapshot;
  return rest;
}

function expectSameSketch(actual: QuantileSketch, expected: QuantileSketch): void {
  expect(exactPart(actual.toJSON())).toEqual(exactPart(expected.toJSON()));
  expect(actual.sum).toBeCloseTo(expected.sum, 0);
}

describe('QuantileSketch', () => {
  it('keeps every quantile within the relative accuracy of the exact order statistic', () => {
    fc.assert(
      fc.property(positive, fc.double({ min: 0, max: 1, noNaN: true }), (list, q) => {
        const sketch = sketchOf(list);
        const sorted = [...list].sort((a, b) => a - b);
        // DDSketch's rank convention: rank = q·(n−1), lower order statistic.
        const exact = sorted[Math.floor(q * (sorted.length - 1))] ?? Number.NaN;
        const estimate = sketch.quantile(q);
        expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(0.01 * exact * (1 + 1e-9) + 1e-12);
      }),
      { numRuns: 300 },
    );
  });

  it('merges commutatively and associatively (bins exact)', () => {
    fc.assert(
      fc.property(values, values, values, (a, b, c) => {
        const ab = sketchOf(a).merge(sketchOf(b));
        const ba = sketchOf(b).merge(sketchOf(a));
        expectSameSketch(ab, ba);
        const left = sketchOf(a).merge(sketchOf(b)).merge(sketchOf(c));
        const right = sketchOf(a).merge(sketchOf(b).merge(sketchOf(c)));
        expectSameSketch(left, right);
      }),
      { numRuns: 150 },
    );
  });

  it('merging snapshots of disjoint sets equals the snapshot of their union', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const merged = QuantileSketch.fromJSON(sketchOf(a).toJSON()).merge(
          QuantileSketch.fromJSON(sketchOf(b).toJSON()),
        );
        expectSameSketch(merged, sketchOf([...a, ...b]));
      }),
      { numRuns: 150 },
    );
  });

  it('round-trips through JSON', () => {
    fc.assert(
      fc.property(values, (list) => {
        const sketch = sketchOf(list);
        const text = JSON.stringify(sketch.toJSON());
        expect(QuantileSketch.fromJSON(JSON.parse(text)).toJSON()).toEqual(sketch.toJSON());
      }),
      { numRuns: 100 },
    );
  });

  it('gives bucket edges at which the CDF is exact', () => {
    fc.assert(
      fc.property(positive, (list) => {
        const sketch = sketchOf(list);
        let cumulative = 0;
        let previousUpper = 0;
        for (const bucket of sketch.buckets()) {
          expect(bucket.lower).toBeGreaterThanOrEqual(previousUpper * (1 - 1e-12));
          expect(bucket.upper).toBeGreaterThan(bucket.lower);
          cumulative += bucket.count;
          previousUpper = bucket.upper;
          // Values inside (lower, upper] are all within the bucket; the exact CDF at upper
          // counts exactly the values ≤ upper, up to float rounding at the edge itself.
          const exact = list.filter((value) => value <= bucket.upper * (1 + 1e-12)).length / list.length;
          expect(sketch.cdf(bucket.upper)).toBeCloseTo(cumulative / list.length, 12);
          expect(cumulative / list.length).toBeCloseTo(exact, 12);
        }
        expect(cumulative).toBe(list.length);
      }),
      { numRuns: 100 },
    );
  });

  it('clamps negatives to zero, ignores non-finite values and reports both', () => {
    const sketch = new QuantileSketch();
    expect(sketch.add(5)).toBe(true);
    expect(sketch.add(-3)).toBe(false);
    expect(sketch.add(Number.NaN)).toBe(false);
    expect(sketch.add(Number.POSITIVE_INFINITY)).toBe(false);
    expect(sketch.count).toBe(2);
    expect(sketch.min).toBe(0);
    expect(sketch.zeroCount).toBe(1);
    expect(sketch.buckets()[0]).toEqual({ lower: 0, upper: 0, count: 1 });
  });

  it('refuses to merge sketches of different accuracy, with a clear message', () => {
    const coarse = new QuantileSketch({ relativeAccuracy: 0.02 });
    coarse.add(1);
    expect(() => new QuantileSketch().merge(coarse)).toThrow(/different relativeAccuracy \(0\.01 vs 0\.02\)/);
  });

  it('is empty-safe', () => {
    const sketch = new QuantileSketch();
    expect(sketch.quantile(0.5)).toBeNaN();
    expect(sketch.min).toBeNaN();
    expect(sketch.toJSON()).toMatchObject({ count: 0, bins: [], min: null, max: null });
    expect(QuantileSketch.fromJSON(sketch.toJSON()).count).toBe(0);
    expect(() => QuantileSketch.fromJSON({ v: 2 } as unknown as SketchSnapshot)).toThrow(TypeError);
  });
});

describe('QuantileSketch.compact', () => {
  it('keeps contents, merges and later adds unchanged', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const compacted = sketchOf(a).compact();
        expect(compacted.toJSON()).toEqual(sketchOf(a).toJSON());
        for (const value of b) compacted.add(value);
        expectSameSketch(compacted, sketchOf([...a, ...b]));
        expectSameSketch(sketchOf(b).merge(sketchOf(a).compact()), sketchOf([...b, ...a]));
      }),
      { numRuns: 100 },
    );
  });
});

describe('QuantileSketch.merge at the top bucket of 1.0', () => {
  it('keeps values whose key is 0 when the receiving sketch ends below it', () => {
    const a = new QuantileSketch();
    const b = new QuantileSketch();
    a.add(0.5);
    b.add(0.6);
    b.add(1);
    a.merge(b);
    expect(a.count).toBe(3);
    expect(a.buckets().reduce((sum, bucket) => sum + bucket.count, 0)).toBe(3);
    expect(a.quantile(1)).toBeGreaterThan(0.98);
  });
});
