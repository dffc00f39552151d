import { describe, expect, it } from 'vitest';
import { canaryEventProbability } from './rate.js';
import {
  bernoulliSprt,
  gaussianSprt,
  klBernoulli,
  labelSprt,
  SPRT_DECISION,
  waldBoundaries,
  waldExpectedSampleSize,
} from './sprt.js';

describe('Wald SPRT helpers', () => {
  it('reproduces the analytic sample sizes of statistics.md §7A', () => {
    // tool success 95 → 90%: failures 0.05 → 0.10.
    expect(klBernoulli(0.1, 0.05)).toBeCloseTo(0.02065, 5);
    expect(waldExpectedSampleSize({ alpha: 0.01, beta: 0.05, kl: klBernoulli(0.1, 0.05) })).toBeCloseTo(202, -0.5);
    expect(waldExpectedSampleSize({ alpha: 0.01, beta: 0.05, kl: klBernoulli(0.05, 0.1), under: 'null' })).toBeCloseTo(
      174,
      -0.5,
    );
    expect(waldExpectedSampleSize({ alpha: 0.01, beta: 0.05, kl: klBernoulli(0.03, 0.01) })).toBeCloseTo(317, -0.5);
    // Label oracle: information (p0 + p1)·KL(θ1‖½) per canary request.
    const theta1 = canaryEventProbability(0.5, 2);
    const perRequest = (0.05 + 0.1) * klBernoulli(theta1, 0.5);
    expect(waldExpectedSampleSize({ alpha: 0.01, beta: 0.05, kl: perRequest })).toBeCloseTo(492, -0.5);
  });

  it('uses Wald boundaries and decides at crossings', () => {
    expect(waldBoundaries(0.01, 0.05)).toEqual({ lower: Math.log(0.05 / 0.99), upper: Math.log(0.95 / 0.01) });
    expect(waldBoundaries(0.01).lower).toBe(Number.NEGATIVE_INFINITY);
    const hit = bernoulliSprt({ p0: 0.01, p1: 0.2, events: 3, trials: 3, alpha: 0.01 });
    expect(hit.logLikelihoodRatio).toBeCloseTo(3 * Math.log(20), 12);
    expect(hit.decision).toBe(SPRT_DECISION.rejectNull);
    const quiet = bernoulliSprt({ p0: 0.01, p1: 0.2, events: 0, trials: 100, alpha: 0.01, beta: 0.05 });
    expect(quiet.decision).toBe(SPRT_DECISION.acceptNull);
    const theta1 = canaryEventProbability(0.5, 3);
    const label = labelSprt({ rho0: 0.5, theta1, canaryEvents: 4, totalEvents: 5, alpha: 0.01 });
    expect(label.logLikelihoodRatio).toBeCloseTo(4 * Math.log(1.5) + Math.log(0.5), 12);
    expect(label.decision).toBe(SPRT_DECISION.continue);
  });

  it('computes the Gaussian SPRT from a sum and a count', () => {
    // ×1.2 latency on log scale, σ = 1: ln LR = ln1.2 · (S − n·ln1.2/2).
    const shift = Math.log(1.2);
    const result = gaussianSprt({ mean0: 0, mean1: shift, standardDeviation: 1, sum: 60, count: 250, alpha: 0.01 });
    expect(result.logLikelihoodRatio).toBeCloseTo(shift * (60 - (250 * shift) / 2), 12);
    expect(result.decision).toBe(SPRT_DECISION.rejectNull);
    // Wald's E₁[N] for this effect (statistics.md §7A: 251).
    expect(waldExpectedSampleSize({ alpha: 0.01, beta: 0.05, kl: shift ** 2 / 2 })).toBeCloseTo(251, -0.5);
    expect(() => gaussianSprt({ mean0: 0, mean1: 1, standardDeviation: 0, sum: 0, count: 0, alpha: 0.01 })).toThrow(
      /standardDeviation/,
    );
  });

  it('validates its inputs', () => {
    expect(() => bernoulliSprt({ p0: 0, p1: 0.2, events: 0, trials: 1, alpha: 0.01 })).toThrow(/p0/);
    expect(() => labelSprt({ rho0: 0.5, theta1: 0.6, canaryEvents: 3, totalEvents: 2, alpha: 0.01 })).toThrow(
      /canaryEvents/,
    );
    expect(() => waldBoundaries(0.01, 1)).toThrow(/beta/);
  });
});
