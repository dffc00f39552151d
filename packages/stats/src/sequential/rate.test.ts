import { describe, expect, it } from 'vitest';
import { StatsInputError } from './errors.js';
import { canaryEventProbability, RATE_TEST_DEFAULTS, rateLogEValue, rateTest } from './rate.js';

const single = (canaryEvents: number, totalEvents: number, rho0 = 0.5) => [{ rho0, canaryEvents, totalEvents }];

function binomialPmf(n: number, k: number, p: number): number {
  let logChoose = 0;
  for (let i = 1; i <= k; i += 1) logChoose += Math.log((n - k + i) / i);
  return Math.exp(logChoose + k * Math.log(p) + (n - k) * Math.log(1 - p));
}

describe('rateTest', () => {
  it('equals the hand-computed likelihood ratio for a one-point grid', () => {
    // θ1 = 2/3 against θ0 = 1/2: (4/3)^3 · (2/3)^1 = 128/81.
    const result = rateTest({ epochs: single(3, 4), alpha: 0.05, grid: [2] });
    expect(result.eValue).toBeCloseTo(128 / 81, 12);
    expect(result.pValue).toBeCloseTo(81 / 128, 12);
  });

  it('averages the grid: one canary event gives mean of θ_g/θ0', () => {
    const expected =
      RATE_TEST_DEFAULTS.grid.reduce((sum, r) => sum + (2 * r) / (r + 1), 0) / RATE_TEST_DEFAULTS.grid.length;
    expect(rateTest({ epochs: single(1, 1), alpha: 0.05 }).eValue).toBeCloseTo(expected, 12);
    expect(rateTest({ epochs: single(0, 0), alpha: 0.05 }).eValue).toBe(1);
  });

  it('crosses 1/α = 1000 at the 15th canary-only event, not the 14th (statistics.md §4)', () => {
    const at14 = rateTest({ epochs: single(14, 14), alpha: 0.001 });
    const at15 = rateTest({ epochs: single(15, 15), alpha: 0.001 });
    expect(at14.reject).toBe(false);
    expect(at14.eValue).toBeGreaterThan(800);
    expect(at15.reject).toBe(true);
    expect(at15.eValue).toBeLessThan(2000);
  });

  it('is a martingale: E[E_m] = 1 under H0 for a fixed number of events', () => {
    for (const rho0 of [0.5, 0.3, 0.05]) {
      const m = 40;
      let expectation = 0;
      for (let k = 0; k <= m; k += 1) {
        expectation += binomialPmf(m, k, rho0) * Math.exp(rateLogEValue(single(k, m, rho0)));
      }
      expect(expectation).toBeCloseTo(1, 10);
    }
  });

  it('is a supermartingale under a tolerated relative risk', () => {
    const m = 40;
    const rho0 = 0.5;
    // True RR 1.2 under tolerance 1.5: expectation strictly below 1.
    const theta = canaryEventProbability(rho0, 1.2);
    let expectation = 0;
    for (let k = 0; k <= m; k += 1) {
      expectation += binomialPmf(m, k, theta) * Math.exp(rateLogEValue(single(k, m, rho0), 1.5));
    }
    expect(expectation).toBeLessThan(1);
    expect(expectation).toBeGreaterThan(0);
  });

  it('depends on counts only: epochs of the same ρ0 merge by summation', () => {
    const merged = rateTest({ epochs: single(25, 40), alpha: 0.01 });
    const split = rateTest({
      epochs: [
        { rho0: 0.5, canaryEvents: 10, totalEvents: 12 },
        { rho0: 0.5, canaryEvents: 15, totalEvents: 28 },
      ],
      alpha: 0.01,
    });
    expect(split.logEValue).toBeCloseTo(merged.logEValue, 12);
    expect(split.rrLower).toBeCloseTo(merged.rrLower, 8);
  });

  it('accounts for unequal groups through ρ0', () => {
    // 10 of 20 events from a canary holding 5% of traffic is a huge excess; at 50% it is none.
    expect(rateTest({ epochs: single(10, 20, 0.05), alpha: 0.01 }).reject).toBe(true);
    expect(rateTest({ epochs: single(10, 20, 0.5), alpha: 0.01 }).eValue).toBeLessThan(1);
  });

  it('estimates the relative risk, also across epochs', () => {
    expect(rateTest({ epochs: single(30, 40), alpha: 0.01 }).relativeRisk).toBeCloseTo(3, 12);
    expect(rateTest({ epochs: single(30, 40, 0.25), alpha: 0.01 }).relativeRisk).toBeCloseTo(9, 12);
    // θ(2) = 2/3 at ρ0 = 0.5 and 1/3 at ρ0 = 0.2: 20/30 and 10/30 are exactly the RR = 2 solution.
    const twoEpochs = rateTest({
      epochs: [
        { rho0: 0.5, canaryEvents: 20, totalEvents: 30 },
        { rho0: 0.2, canaryEvents: 10, totalEvents: 30 },
      ],
      alpha: 0.01,
    });
    expect(twoEpochs.relativeRisk).toBeCloseTo(2, 8);
    expect(rateTest({ epochs: single(0, 0), alpha: 0.01 }).relativeRisk).toBeUndefined();
    expect(rateTest({ epochs: single(5, 5), alpha: 0.01 }).relativeRisk).toBe(Number.POSITIVE_INFINITY);
  });

  it('gives anytime bounds that bracket the estimate and sit where the test flips', () => {
    const result = rateTest({ epochs: single(60, 80), alpha: 0.01 });
    expect(result.rrLower).toBeGreaterThan(1);
    expect(result.rrLower).toBeLessThan(result.relativeRisk ?? 0);
    expect(result.rrUpper).toBeGreaterThan(result.relativeRisk ?? Number.POSITIVE_INFINITY);
    // The lower bound is the tolerance at which the test stops rejecting.
    expect(rateTest({ epochs: single(60, 80), alpha: 0.01, tolerance: result.rrLower * 0.999 }).reject).toBe(true);
    expect(rateTest({ epochs: single(60, 80), alpha: 0.01, tolerance: result.rrLower * 1.001 }).reject).toBe(false);
    // Rejecting at tolerance 1 is the same as a lower bound above 1.
    expect(result.reject).toBe(true);
    const weak = rateTest({ epochs: single(12, 20), alpha: 0.01 });
    expect(weak.reject).toBe(false);
    expect(weak.rrLower).toBeLessThan(1);
    const none = rateTest({ epochs: single(0, 0), alpha: 0.01 });
    expect([none.rrLower, none.rrUpper]).toEqual([0, Number.POSITIVE_INFINITY]);
  });

  it('rejects invalid input naming the field', () => {
    expect(() => rateTest({ epochs: single(1, 1, 1), alpha: 0.01 })).toThrow(StatsInputError);
    expect(() => rateTest({ epochs: single(1, 1, 1), alpha: 0.01 })).toThrow(/epochs\[0\]\.rho0/);
    expect(() => rateTest({ epochs: single(3, 2), alpha: 0.01 })).toThrow(/epochs\[0\]\.canaryEvents/);
    expect(() => rateTest({ epochs: single(1, 2), alpha: 0 })).toThrow(/alpha/);
    expect(() => rateTest({ epochs: single(1, 2), alpha: 0.01, grid: [1] })).toThrow(/grid\[0\]/);
  });
});
