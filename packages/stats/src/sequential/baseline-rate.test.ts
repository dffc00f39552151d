import { describe, expect, it } from 'vitest';
import { createRng } from '../prng.js';
import { baselineRateTest, bernoulliUpperBound } from './baseline-rate.js';
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
