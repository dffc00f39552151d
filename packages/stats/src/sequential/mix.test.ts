import { describe, expect, it } from 'vitest';
import { betaBinomialLabelLogEValue } from './categorical.js';
import { type CategoryEpoch, mixLogEValue, mixTest } from './mix.js';

function binomialPmf(n: number, k: number, p: number): number {
  let logChoose = 0;
  for (let i = 1; i <= k; i += 1) logChoose += Math.log((n - k + i) / i);
  return Math.exp(logChoose + k * Math.log(p) + (n - k) * Math.log(1 - p));
}

describe('beta-binomial label e-value (T-MIX factor)', () => {
  it('matches hand computation', () => {
    // a = b = 1: E(1 of 1) = B(2,1)/B(1,1)/0.5 = 1; E(2 of 2) = B(3,1)/0.25 = 4/3.
    expect(betaBinomialLabelLogEValue(1, 1, 0.5, 2)).toBeCloseTo(0, 12);
    expect(Math.exp(betaBinomialLabelLogEValue(2, 2, 0.5, 2))).toBeCloseTo(4 / 3, 12);
    expect(betaBinomialLabelLogEValue(0, 0, 0.3, 2)).toBe(0);
  });

  it('has expectation 1 under H0', () => {
    for (const rho0 of [0.5, 0.1]) {
      let expectation = 0;
      for (let k = 0; k <= 50; k += 1) {
        expectation += binomialPmf(50, k, rho0) * Math.exp(betaBinomialLabelLogEValue(k, 50, rho0, 2));
      }
      expect(expectation).toBeCloseTo(1, 10);
    }
  });
});

describe('mixTest', () => {
  const baseline = { search: 1200, db: 750, code: 450, email: 300, calendar: 300 };

  it('multiplies per-category factors and reports shares', () => {
    const result = mixTest({
      epochs: [{ rho0: 0.5, canary: { search: 2, db: 0 }, control: { search: 0, db: 1 } }],
      alpha: 0.05,
    });
    // search: 2 of 2 canary → 4/3; db: 0 of 1 → 1.
    expect(result.eValue).toBeCloseTo(4 / 3, 12);
    expect(result.categories[0]?.key).toBe('search');
    expect(result.categories[0]?.canaryShare).toBe(1);
    expect(result.totalVariation).toBe(1);
  });

  it('rejects a shifted tool mix and not an equal one', () => {
    // statistics.md §6 E5: search .40 → .30, db .25 → .35. Unchanged categories each cost
    // their mixture's penalty, so it takes a few thousand requests per arm.
    const shifted = { search: 900, db: 1050, code: 450, email: 300, calendar: 300 };
    const moved = mixTest({ epochs: [{ rho0: 0.5, canary: shifted, control: baseline }], alpha: 0.0005 });
    expect(moved.reject).toBe(true);
    expect(moved.totalVariation).toBeCloseTo(0.1, 12);
    expect(['search', 'db']).toContain(moved.categories[0]?.key);
    const same = mixTest({ epochs: [{ rho0: 0.5, canary: baseline, control: baseline }], alpha: 0.0005 });
    expect(same.reject).toBe(false);
    expect(same.eValue).toBeLessThan(1);
  });

  it('lumps categories below minShare of the reference into other', () => {
    const result = mixTest({
      epochs: [{ rho0: 0.5, canary: { search: 50, rare1: 1 }, control: { search: 50, rare2: 1, other: 1 } }],
      alpha: 0.01,
      reference: { search: 990, rare1: 5, rare2: 5 },
    });
    expect(result.lumped).toEqual(['rare1', 'rare2']);
    const other = result.categories.find((category) => category.key === 'other');
    expect(other).toMatchObject({ canary: 1, control: 2 });
  });

  it('keeps epochs apart: a product of per-epoch mixtures', () => {
    const epochs = [
      { rho0: 0.5, canary: { a: 3 }, control: { a: 1 } },
      { rho0: 0.2, canary: { a: 4 }, control: { a: 2 } },
    ];
    const expected = betaBinomialLabelLogEValue(3, 4, 0.5, 2) + betaBinomialLabelLogEValue(4, 6, 0.2, 2);
    expect(mixTest({ epochs, alpha: 0.01 }).logEValue).toBeCloseTo(expected, 12);
  });
});

describe('mixLogEValue (cheap path)', () => {
  it('equals mixTest, with and without a lumping reference, across epochs', () => {
    const epochs: CategoryEpoch[] = [
      { rho0: 0.5, canary: { search: 40, db: 30, rare: 1, other: 2 }, control: { search: 50, db: 20, rare: 0 } },
      { rho0: 0.3, canary: { search: 10, db: 12, tiny: 1 }, control: { search: 30, db: 20, rare: 2 } },
    ];
    const reference = { search: 500, db: 400, rare: 3, other: 10 };
    for (const options of [{}, { reference }, { reference, minShare: 0.2, concentration: 5 }]) {
      const full = mixTest({ epochs, alpha: 0.01, ...options });
      expect(mixLogEValue(epochs, options)).toBeCloseTo(full.logEValue, 12);
    }
    expect(mixLogEValue([])).toBe(0);
  });
});
