import { describe, expect, it } from 'vitest';
import { createRng } from '../prng.js';
import { baselineRateTest, bernoulliUpperBound, boundedMeanBounds, boundedMeanTest } from './baseline-rate.js';
import { StatsInputError } from './errors.js';

describe('baselineRateTest', () => {
  it('rejects a tripled rate and not an unchanged one', () => {
    expect(baselineRateTest({ events: 60, trials: 1000, baselineRate: 0.02, alpha: 0.001 }).reject).toBe(true);
    expect(baselineRateTest({ events: 20, trials: 1000, baselineRate: 0.02, alpha: 0.001 }).reject).toBe(false);
  });

  it('gives no evidence for a rate below the baseline (one-sided)', () => {
    const result = baselineRateTest({ events: 0, trials: 5000, baselineRate: 0.02, alpha: 0.01 });
    expect(result.logEValue).toBeLessThan(0);
    expect(result.pValue).toBe(1);
  });

  it('respects the tolerance: 1.4x the baseline is inside a 1.5x null', () => {
    const within = baselineRateTest({ events: 280, trials: 10_000, baselineRate: 0.02, alpha: 0.001, tolerance: 1.5 });
    const strict = baselineRateTest({ events: 280, trials: 10_000, baselineRate: 0.02, alpha: 0.001 });
    expect(within.reject).toBe(false);
    expect(strict.reject).toBe(true);
  });

  it('keeps the false-alarm rate below alpha when looked at every 10 observations', () => {
    const rng = createRng(42);
    const alpha = 0.05;
    const runs = 400;
    let alarms = 0;
    for (let run = 0; run < runs; run += 1) {
      let events = 0;
      for (let trial = 1; trial <= 2000; trial += 1) {
        if (rng.next() < 0.05) events += 1;
        if (trial % 10 === 0 && baselineRateTest({ events, trials: trial, baselineRate: 0.05, alpha }).reject) {
          alarms += 1;
          break;
        }
      }
    }
    expect(alarms / runs).toBeLessThanOrEqual(alpha);
  });

  it('validates its input', () => {
    expect(() => baselineRateTest({ events: 3, trials: 2, baselineRate: 0.1, alpha: 0.01 })).toThrow(StatsInputError);
    expect(() => baselineRateTest({ events: 0, trials: 2, baselineRate: 0, alpha: 0.01 })).toThrow(/baselineRate/);
    expect(() => baselineRateTest({ events: 0, trials: 2, baselineRate: 0.1, alpha: 0.01, grid: [0.5] })).toThrow(
      /grid\[0\]/,
    );
  });
});

describe('bernoulliUpperBound', () => {
  it('covers the true rate at least 1 − alpha of the time', () => {
    const rng = createRng(7);
    const alpha = 0.05;
    let misses = 0;
    const runs = 1000;
    for (let run = 0; run < runs; run += 1) {
      let events = 0;
      for (let i = 0; i < 500; i += 1) if (rng.next() < 0.02) events += 1;
      if (bernoulliUpperBound(events, 500, alpha) < 0.02) misses += 1;
    }
    expect(misses / runs).toBeLessThanOrEqual(alpha);
  });

  it('is tight for rare events and 1 without data', () => {
    const upper = bernoulliUpperBound(100, 5000, 0.001);
    expect(upper).toBeGreaterThan(0.02);
    expect(upper).toBeLessThan(0.03);
    expect(bernoulliUpperBound(0, 0, 0.01)).toBe(1);
  });
});

describe('boundedMeanTest', () => {
  it('agrees with baselineRateTest on 0/1 events', () => {
    const events = { sum: 9, count: 300, alpha: 0.01 };
    const ours = boundedMeanTest({ ...events, limit: 0.01 });
    const theirs = baselineRateTest({ events: 9, trials: 300, baselineRate: 0.01, alpha: 0.01 });
    expect(ours.logEValue).toBeCloseTo(theirs.logEValue, 12);
    expect(ours.reject).toBe(theirs.reject);
  });

  it('does not fail a small sample whose point estimate is past the limit, and fails a clear breach', () => {
    // One error in 50 requests is 2% > 1%: no evidence yet.
    expect(boundedMeanTest({ sum: 1, count: 50, limit: 0.01, alpha: 0.01 }).reject).toBe(false);
    // 30% errors in 50 requests is.
    expect(boundedMeanTest({ sum: 15, count: 50, limit: 0.01, alpha: 0.01 }).reject).toBe(true);
  });

  it('keeps the false-alarm rate of a bounded score at its limit below alpha, looked at every 10 scores', () => {
    const rng = createRng(11);
    const alpha = 0.05;
    const runs = 300;
    let alarms = 0;
    for (let run = 0; run < runs; run += 1) {
      let sum = 0;
      for (let count = 1; count <= 1000; count += 1) {
        // Uniform on [0, 0.2]: mean 0.1, exactly at the limit.
        sum += 0.2 * rng.next();
        if (count % 10 === 0 && boundedMeanTest({ sum, count, limit: 0.1, alpha }).reject) {
          alarms += 1;
          break;
        }
      }
    }
    expect(alarms / runs).toBeLessThanOrEqual(alpha);
  });

  it('validates its input', () => {
    expect(() => boundedMeanTest({ sum: 3, count: 2, limit: 0.1, alpha: 0.01 })).toThrow(/sum/);
    expect(() => boundedMeanTest({ sum: 1, count: 2, limit: 1, alpha: 0.01 })).toThrow(/limit/);
    expect(() => boundedMeanTest({ sum: 0, count: -1, limit: 0.1, alpha: 0.01 })).toThrow(StatsInputError);
  });
});

describe('boundedMeanBounds', () => {
  it('brackets the mean, and its lower bound crosses a limit exactly where the test rejects', () => {
    for (const [sum, count] of [
      [1, 50],
      [4, 100],
      [30, 1000],
      [0, 80],
      [80, 80],
    ] as const) {
      const bounds = boundedMeanBounds({ sum, count, alpha: 0.01 });
      expect(bounds.lower).toBeLessThanOrEqual(bounds.mean);
      expect(bounds.upper).toBeGreaterThanOrEqual(bounds.mean);
      for (const limit of [0.005, 0.01, 0.02, 0.05, 0.5]) {
        const reject = boundedMeanTest({ sum, count, limit, alpha: 0.01 }).reject;
        expect(reject, `sum ${sum} count ${count} limit ${limit}`).toBe(bounds.lower > limit);
      }
    }
  });

  it('is 0 and 1 without data and narrows as data come in', () => {
    expect(boundedMeanBounds({ sum: 0, count: 0, alpha: 0.01 })).toMatchObject({ lower: 0, upper: 1 });
    const small = boundedMeanBounds({ sum: 5, count: 100, alpha: 0.01 });
    const large = boundedMeanBounds({ sum: 500, count: 10_000, alpha: 0.01 });
    expect(large.upper - large.lower).toBeLessThan((small.upper - small.lower) / 3);
    expect(large.lower).toBeGreaterThan(0.04);
    expect(large.upper).toBeLessThan(0.06);
  });

  it('has an upper bound that crosses a limit exactly where the mirror-image test would', () => {
    const bounds = boundedMeanBounds({ sum: 970, count: 1000, alpha: 0.01 });
    expect(bounds.lower).toBeGreaterThan(0.94);
    expect(bounds.upper).toBeLessThan(0.99);
    // Mirror image: the upper bound of a success rate is 1 − the lower bound of its failures.
    const failures = boundedMeanBounds({ sum: 30, count: 1000, alpha: 0.01 });
    expect(bounds.upper).toBeGreaterThan(1 - failures.lower - 0.01);
  });

  it('covers the true rate at every look with probability at least 1 − alpha', () => {
    const rng = createRng(3);
    const alpha = 0.05;
    const runs = 300;
    let misses = 0;
    for (let run = 0; run < runs; run += 1) {
      let sum = 0;
      for (let count = 1; count <= 1000; count += 1) {
        if (rng.next() < 0.05) sum += 1;
        if (count % 20 !== 0) continue;
        const { lower, upper } = boundedMeanBounds({ sum, count, alpha });
        if (lower > 0.05 || upper < 0.05) {
          misses += 1;
          break;
        }
      }
    }
    expect(misses / runs).toBeLessThanOrEqual(2 * alpha);
  });
});
