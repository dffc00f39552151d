import { describe, expect, it } from 'vitest';
import { lgamma, logBeta, logMeanExp, logMultivariateBeta, logSumExp, xlog1py, xlogy } from './special.js';

// ln|Γ(x)| from CPython's math.lgamma (an independent implementation).
const KNOWN: ReadonlyArray<readonly [number, number]> = [
  [0.5, 0.5723649429247004],
  [1.5, -0.12078223763524543],
  [3, Math.LN2],
  [0.1, 2.2527126517342055],
  [0.001, 6.907178885383854],
  [2.5, 0.2846828704729196],
  [7.25, 7.0521854507385395],
  [10, 12.801827480081467],
  [123.456, 469.60554712992956],
  [1e6, 12815504.569147611],
  [-0.5, 1.265512123484645],
  [-2.5, -0.05624371649767457],
  [0.9999, 5.772979156160041e-5],
  [1.0001, -5.771334222032243e-5],
];

describe('lgamma', () => {
  it.each(KNOWN)('lgamma(%d) matches to 1e-10 relative', (x, expected) => {
    expect(Math.abs(lgamma(x) - expected)).toBeLessThanOrEqual(1e-10 * Math.abs(expected) + 1e-15);
  });

  it('is ln((n−1)!) at integers', () => {
    let logFactorial = 0;
    for (let n = 1; n <= 170; n += 1) {
      expect(lgamma(n)).toBeCloseTo(logFactorial, 9);
      logFactorial += Math.log(n);
    }
  });

  it('satisfies Γ(x+1) = x·Γ(x) across scales', () => {
    for (const x of [0.013, 0.37, 0.8, 1.9, 4.2, 33.3, 512.5, 9e4]) {
      const difference = lgamma(x + 1) - lgamma(x);
      expect(Math.abs(difference - Math.log(x))).toBeLessThan(1e-10 * Math.max(1, Math.abs(lgamma(x))));
    }
  });

  it('is infinite at the poles and NaN for NaN', () => {
    expect(lgamma(0)).toBe(Number.POSITIVE_INFINITY);
    expect(lgamma(-3)).toBe(Number.POSITIVE_INFINITY);
    expect(lgamma(Number.NaN)).toBeNaN();
  });
});

describe('log-beta and log-space sums', () => {
  it('logBeta matches closed forms', () => {
    expect(logBeta(1, 1)).toBeCloseTo(0, 14);
    expect(logBeta(2, 3)).toBeCloseTo(Math.log(1 / 12), 13);
    expect(logBeta(0.5, 0.5)).toBeCloseTo(Math.log(Math.PI), 13);
  });

  it('logMultivariateBeta reduces to logBeta for two entries', () => {
    expect(logMultivariateBeta([2.5, 7])).toBeCloseTo(logBeta(2.5, 7), 12);
    // B(1,1,1) = Γ(1)^3/Γ(3) = 1/2
    expect(logMultivariateBeta([1, 1, 1])).toBeCloseTo(Math.log(0.5), 13);
  });

  it('logSumExp does not overflow and handles edge cases', () => {
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 10);
    expect(logSumExp([-1000, -1000 + Math.log(3)])).toBeCloseTo(-1000 + Math.log(4), 10);
    expect(logSumExp([])).toBe(Number.NEGATIVE_INFINITY);
    expect(logSumExp([Number.NEGATIVE_INFINITY, 0])).toBe(0);
    expect(logSumExp([Number.POSITIVE_INFINITY, 0])).toBe(Number.POSITIVE_INFINITY);
    expect(logMeanExp([Math.log(2), Math.log(4)])).toBeCloseTo(Math.log(3), 14);
  });

  it('xlogy and xlog1py treat a zero count as zero', () => {
    expect(xlogy(0, 0)).toBe(0);
    expect(xlogy(2, Math.E)).toBeCloseTo(2, 14);
    expect(xlog1py(0, -1)).toBe(0);
    // ln(1 + 1e-12) = 1e-12 − 5e-25: log1p keeps it, Math.log(1 + y) is off by ~1e-4 relative.
    expect(Math.abs(xlog1py(3, 1e-12) / (3e-12 - 1.5e-24) - 1)).toBeLessThan(1e-14);
  });
});
