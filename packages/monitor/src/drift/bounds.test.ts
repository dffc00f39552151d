import { bernoulliUpperBound, boundedMeanBounds, createRng, QuantileSketch, zipfSampler } from '@agent-canary/stats';
import { describe, expect, it } from 'vitest';
import {
  baselineQuantileUpper,
  baselineShareBounds,
  currentLowerBound,
  currentQuantileLower,
  currentUpperBound,
  MONITOR_GRID,
} from './bounds.js';

/**
 * A baseline over `periods` subject periods of a Zipf population whose users are
 * strongly habitual (each user's share is nearly 0 or 1): heavy users are in every
 * period, so one user's observations are as correlated as they can be. Each replication
 * draws a new population, whose expected share is `mean`.
 */
function clusteredBaseline(seed: number, periods: number, mean: number) {
  const rng = createRng(seed);
  const users = 3000;
  const zipf = zipfSampler(users, 1.3);
  const habit = Array.from({ length: users }, () => (rng.next() < mean ? 0.97 : 0.03));
  let events = 0;
  let observations = 0;
  for (let period = 0; period < periods; period += 1) {
    const seen = new Set<number>();
    for (let turn = 0; turn < 1500; turn += 1) {
      const user = zipf(rng);
      if (seen.has(user)) continue;
      seen.add(user);
      observations += 1;
      if (rng.next() < (habit[user] ?? 0)) events += 1;
    }
  }
  // The expected share of a user's observation: 0.97·mean + 0.03·(1 − mean).
  return { events, observations, truth: 0.97 * mean + 0.03 * (1 - mean) };
}

describe('baselineShareBounds', () => {
  it('covers the truth over several periods of correlated users, where per-observation bounds do not', () => {
    const alpha = 0.05;
    const periods = 12;
    let missed = 0;
    let naiveMissed = 0;
    const replications = 300;
    for (let seed = 0; seed < replications; seed += 1) {
      const { events, observations, truth } = clusteredBaseline(seed, periods, 0.4);
      const bounds = baselineShareBounds(events, observations, periods, alpha);
      if (bounds.upper < truth || bounds.lower > truth) missed += 1;
      // Treating every observation as an independent user (what counting calls does).
      const naiveUpper = bernoulliUpperBound(events, observations, alpha);
      const naiveLower = 1 - bernoulliUpperBound(observations - events, observations, alpha);
      if (naiveUpper < truth || naiveLower > truth) naiveMissed += 1;
    }
    // Two one-sided bounds at 5% each: at most 10% misses, and the cluster bound is conservative.
    expect(missed / replications).toBeLessThan(0.1);
    // Seeded: 0% against 29% for the per-observation bounds.
    expect(naiveMissed / replications).toBeGreaterThan(0.2);
  });

  it('is the Chernoff bound over one period and widens with the periods a user may repeat in', () => {
    expect(baselineShareBounds(40, 1000, 1, 0.01).upper).toBe(bernoulliUpperBound(40, 1000, 0.01));
    const one = baselineShareBounds(400, 1000, 1, 0.01);
    const six = baselineShareBounds(2400, 6000, 6, 0.01);
    expect(six.upper).toBeGreaterThan(one.upper);
    expect(six.lower).toBeLessThan(one.lower);
    expect(six.lower).toBeGreaterThan(0.3);
    expect(six.upper).toBeLessThan(0.5);
  });
});

describe('current window share bounds', () => {
  it("agree with boundedMeanBounds on the monitor's grid, to the bisection's precision", () => {
    for (const [events, users] of [
      [12, 200],
      [400, 1000],
      [3900, 4000],
    ] as const) {
      const reference = boundedMeanBounds({ sum: events, count: users, alpha: 1e-4, grid: MONITOR_GRID });
      expect(currentLowerBound(events, users, 1e-4)).toBeCloseTo(reference.lower, 4);
      expect(currentLowerBound(events, users, 1e-4)).toBeLessThanOrEqual(reference.lower);
      expect(currentUpperBound(events, users, 1e-4)).toBeCloseTo(reference.upper, 4);
    }
  });
});

describe('quantile bounds', () => {
  it('bracket the true p95 of a bucketed sample (the window from below, the baseline from above)', () => {
    const alpha = 0.05;
    const truth = 1500 * Math.exp(1.6448536 * 0.5);
    let lowMisses = 0;
    let highMisses = 0;
    for (let seed = 0; seed < 200; seed += 1) {
      const rng = createRng(`quantile:${seed}`);
      const sketch = new QuantileSketch();
      for (let i = 0; i < 2000; i += 1) sketch.add(1500 * Math.exp(0.5 * rng.normal()));
      const buckets = sketch.buckets().map((b) => ({ upper: b.upper, count: b.count }));
      if (currentQuantileLower(buckets, 0.95, alpha) > truth) lowMisses += 1;
      if (baselineQuantileUpper(buckets, 0.95, 1, alpha) < truth) highMisses += 1;
    }
    expect(lowMisses / 200).toBeLessThan(alpha);
    expect(highMisses / 200).toBeLessThan(alpha);
  });

  it('say nothing with too few users: 0 from below, infinity from above', () => {
    const buckets = [
      { upper: 100, count: 3 },
      { upper: 200, count: 1 },
    ];
    expect(currentQuantileLower(buckets, 0.99, 0.001)).toBe(0);
    expect(baselineQuantileUpper(buckets, 0.99, 1, 0.001)).toBe(Number.POSITIVE_INFINITY);
  });
});
