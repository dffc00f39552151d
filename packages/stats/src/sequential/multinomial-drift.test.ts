import { describe, expect, it } from 'vitest';
import { logBeta } from '../special.js';
import { dirichletMultinomialLogEValue } from './categorical.js';
import { multinomialDriftTest, normalMixtureHalfWidth } from './multinomial-drift.js';

describe('multinomialDriftTest', () => {
  it('matches the closed form and has expectation 1 under H0', () => {
    // One draw of a under π0 = (½, ½): B(51, 50)/B(50, 50)/½ = (50/100)·2 = 1.
    expect(dirichletMultinomialLogEValue([1, 0], [0.5, 0.5], 100)).toBeCloseTo(0, 12);
    expect(dirichletMultinomialLogEValue([2, 0], [0.5, 0.5], 2)).toBeCloseTo(
      logBeta(3, 1) - logBeta(1, 1) + 2 * Math.log(2),
      12,
    );
    const shares = [0.6, 0.3, 0.1];
    const n = 8;
    let expectation = 0;
    for (let a = 0; a <= n; a += 1) {
      for (let b = 0; a + b <= n; b += 1) {
        const c = n - a - b;
        let logCoefficient = 0;
        for (let i = 1; i <= n; i += 1) logCoefficient += Math.log(i);
        for (const k of [a, b, c]) for (let i = 1; i <= k; i += 1) logCoefficient -= Math.log(i);
        const probability = Math.exp(logCoefficient + a * Math.log(0.6) + b * Math.log(0.3) + c * Math.log(0.1));
        expectation += probability * Math.exp(dirichletMultinomialLogEValue([a, b, c], shares, 50));
      }
    }
    expect(expectation).toBeCloseTo(1, 10);
  });

  it('alarms on a material drift and only rejects on a negligible one', () => {
    const baseline = { a: 0.5, b: 0.3, c: 0.2 };
    const material = multinomialDriftTest({ counts: { a: 350, b: 350, c: 300 }, baseline, alpha: 0.001 });
    expect(material.reject).toBe(true);
    expect(material.tvLower).toBeGreaterThan(0.05);
    expect(material.alarm).toBe(true);
    expect(material.totalVariation).toBeCloseTo(0.15, 12);
    expect(material.populationStabilityIndex).toBeGreaterThan(0.05);
    const negligible = multinomialDriftTest({ counts: { a: 51_000, b: 29_000, c: 20_000 }, baseline, alpha: 0.001 });
    expect(negligible.reject).toBe(true);
    expect(negligible.alarm).toBe(false);
    const none = multinomialDriftTest({ counts: { a: 500, b: 300, c: 200 }, baseline, alpha: 0.001 });
    expect(none.reject).toBe(false);
    expect(none.eValue).toBeLessThan(1);
  });

  it('floors categories missing from the baseline instead of returning infinite evidence', () => {
    const result = multinomialDriftTest({ counts: { a: 10, new: 1 }, baseline: { a: 1 }, alpha: 0.01 });
    expect(Number.isFinite(result.logEValue)).toBe(true);
    expect(result.categories.find((category) => category.key === 'new')?.baselineShare).toBeCloseTo(0.001 / 1.001, 12);
  });

  it('shrinks the confidence-sequence half-width like √(log t / t)', () => {
    const at100 = normalMixtureHalfWidth(100, 0.01, 1000);
    const at10k = normalMixtureHalfWidth(10_000, 0.01, 1000);
    expect(at100).toBeGreaterThan(at10k * 5);
    expect(at10k).toBeLessThan(0.03);
    expect(normalMixtureHalfWidth(0, 0.01, 1000)).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects invalid options', () => {
    expect(() => multinomialDriftTest({ counts: { a: -1 }, baseline: { a: 1 }, alpha: 0.01 })).toThrow(/counts\.a/);
    expect(() => multinomialDriftTest({ counts: { a: 1 }, baseline: { a: 0 }, alpha: 0.01 })).toThrow(/baseline/);
  });
});
