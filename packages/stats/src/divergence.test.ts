import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CategoricalDistribution } from './categorical.js';
import { chiSquare, jensenShannon, ksDistance, populationStabilityIndex, sketchDistances } from './divergence.js';
import { QuantileSketch } from './sketch.js';

const counts = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 1000 }), { minKeys: 1 });

function sketchOf(list: readonly number[]): QuantileSketch {
  const sketch = new QuantileSketch();
  for (const value of list) sketch.add(value);
  return sketch;
}

describe('categorical divergences', () => {
  it('Jensen–Shannon is 0 on identical shares, 1 on disjoint supports, symmetric and bounded', () => {
    expect(jensenShannon({ a: 2, b: 6 }, { a: 1, b: 3 })).toBeCloseTo(0, 12);
    expect(jensenShannon({ a: 5 }, { b: 7 })).toBeCloseTo(1, 12);
    fc.assert(
      fc.property(counts, counts, (p, q) => {
        const forward = jensenShannon(p, q);
        if (Number.isNaN(forward)) return;
        expect(forward).toBeCloseTo(jensenShannon(q, p), 12);
        expect(forward).toBeGreaterThanOrEqual(0);
        expect(forward).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('matches a hand-computed JSD and PSI', () => {
    // p = (0.5, 0.5), q = (0.9, 0.1); m = (0.7, 0.3).
    const kl = (x: number[], y: number[]) => x.reduce((sum, xi, i) => sum + xi * Math.log2(xi / (y[i] ?? 1)), 0);
    const expected = 0.5 * kl([0.5, 0.5], [0.7, 0.3]) + 0.5 * kl([0.9, 0.1], [0.7, 0.3]);
    expect(jensenShannon({ a: 50, b: 50 }, { a: 90, b: 10 })).toBeCloseTo(expected, 12);
    const psi = (0.9 - 0.5) * Math.log(0.9 / 0.5) + (0.1 - 0.5) * Math.log(0.1 / 0.5);
    expect(populationStabilityIndex({ a: 50, b: 50 }, { a: 90, b: 10 })).toBeCloseTo(psi, 12);
  });

  it('smooths PSI with epsilon when a category is missing on one side', () => {
    const psi = populationStabilityIndex({ a: 10 }, { a: 5, b: 5 }, { epsilon: 0.01 });
    expect(psi).toBeCloseTo((0.5 - 1) * Math.log(0.5) + (0.5 - 0.01) * Math.log(0.5 / 0.01), 12);
    expect(Number.isFinite(populationStabilityIndex({ a: 10 }, { b: 10 }))).toBe(true);
    expect(populationStabilityIndex({}, { b: 10 })).toBeNaN();
  });

  it('computes the 2×K chi-square statistic', () => {
    // Table [[10, 20], [20, 10]]: expected 15 everywhere, statistic 4·25/15.
    const result = chiSquare(new CategoricalDistribution().merge({ x: 10, y: 20 }), { x: 20, y: 10 });
    expect(result.statistic).toBeCloseTo((4 * 25) / 15, 12);
    expect(result.degreesOfFreedom).toBe(1);
    expect(chiSquare({ x: 3, y: 6 }, { x: 1, y: 2 }).statistic).toBeCloseTo(0, 12);
  });
});

describe('sketch distances', () => {
  it('KS equals the exact two-sample KS on bucket-aligned data', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 80 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 80 }),
        (ka, kb) => {
          // One value inside each chosen bucket (the geometric middle: an exact edge may round into
          // the next bucket): then the sketch CDFs at bucket edges equal the empirical ones.
          const probe = new QuantileSketch();
          const inside = (k: number) => Math.sqrt(probe.edge(k - 1) * probe.edge(k));
          const a = ka.map(inside);
          const b = kb.map(inside);
          let exact = 0;
          for (const x of [...a, ...b]) {
            const fa = a.filter((v) => v <= x).length / a.length;
            const fb = b.filter((v) => v <= x).length / b.length;
            exact = Math.max(exact, Math.abs(fa - fb));
          }
          expect(ksDistance(sketchOf(a), sketchOf(b))).toBeCloseTo(exact, 9);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('W1 of a shift by a constant factor is close to the mean difference', () => {
    const base = Array.from({ length: 2000 }, (_, i) => 100 + (i % 400));
    const shifted = base.map((v) => v * 1.3);
    const distances = sketchDistances(sketchOf(base), sketchOf(shifted));
    const meanDiff = shifted.reduce((s, v) => s + v, 0) / 2000 - base.reduce((s, v) => s + v, 0) / 2000;
    expect(distances.wasserstein1).toBeGreaterThan(meanDiff * 0.97);
    expect(distances.wasserstein1).toBeLessThan(meanDiff * 1.03);
    expect(distances.wasserstein1Normalised).toBeCloseTo(0.3, 1);
    expect(distances.ks).toBeGreaterThan(0.2);
    const same = sketchDistances(sketchOf(base), sketchOf(base));
    expect(same.ks).toBe(0);
    expect(same.wasserstein1).toBe(0);
  });

  it('counts zeros and is NaN on an empty side', () => {
    expect(ksDistance(sketchOf([0, 0, 5]), sketchOf([5, 5, 5]))).toBeCloseTo(2 / 3, 12);
    expect(sketchDistances(sketchOf([]), sketchOf([1])).ks).toBeNaN();
    expect(() => ksDistance(new QuantileSketch({ relativeAccuracy: 0.05 }), sketchOf([1]))).toThrow(/relativeAccuracy/);
  });
});
