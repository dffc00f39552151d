import { describe, expect, it } from 'vitest';
import { logMeanExp } from '../special.js';
import { latencyLogEValue, latencyTest, prepareLatencyReference } from './latency.js';

// Reference: one observation per edge 1..100 and empty buckets up to 200.
const reference = Array.from({ length: 200 }, (_, b) => ({ upper: b + 1, count: b < 100 ? 1 : 0 }));
const counts = (fill: (b: number) => number) => Array.from({ length: 200 }, (_, b) => fill(b));

describe('latencyTest', () => {
  it('cuts at the reference quantile buckets and averages body and tails', () => {
    const canary = counts((b) => (b < 100 ? 1 : 0));
    const control = counts((b) => (b < 100 ? 1 : 0));
    const result = latencyTest({ reference, epochs: [{ rho0: 0.5, canary, control }], alpha: 0.01 });
    expect(result.tails.map((tail) => tail.cut)).toEqual([95, 99]);
    expect(result.tails[0]?.test.canaryEvents).toBe(5);
    expect(result.tails[0]?.test.totalEvents).toBe(10);
    expect(result.logEValue).toBeCloseTo(
      logMeanExp([result.body.logEValue, ...result.tails.map((tail) => tail.test.logEValue)]),
      12,
    );
    expect(result.reject).toBe(false);
    expect(result.quantiles[0]).toEqual({ quantile: 0.5, reference: 50, canary: 50, control: 50 });
  });

  it('catches a tail-only regression through the exceedance tests', () => {
    // Same body; the canary's slowest 5% move far out, control keeps its tail.
    const control = counts((b) => (b < 100 ? 10 : 0));
    const canary = counts((b) => (b < 95 ? 10 : b >= 150 && b < 155 ? 10 : 0));
    const result = latencyTest({ reference, epochs: [{ rho0: 0.5, canary, control }], alpha: 0.01 });
    expect(result.tails[1]?.test.reject).toBe(true);
    expect(result.reject).toBe(true);
    expect(result.quantiles.at(-1)?.canary).toBeGreaterThan(result.quantiles.at(-1)?.control ?? 0);
  });

  it('applies a tail tolerance by moving the canary cut up', () => {
    const control = counts((b) => (b < 100 ? 10 : 0));
    // Canary tail 5% longer than control's: beyond c99 but within 1.1·c99.
    const canary = counts((b) => (b < 95 ? 10 : b < 104 ? 10 : 0));
    const strict = latencyTest({ reference, epochs: [{ rho0: 0.5, canary, control }], alpha: 0.01 });
    const tolerant = latencyTest({
      reference,
      epochs: [{ rho0: 0.5, canary, control }],
      alpha: 0.01,
      tailTolerance: 1.1,
    });
    expect(tolerant.tails[1]?.canaryCut).toBe(109);
    expect(tolerant.tails[1]?.test.canaryEvents).toBe(0);
    expect(strict.tails[1]?.test.canaryEvents).toBeGreaterThan(0);
    expect(tolerant.tails[1]?.test.logEValue).toBeLessThan(strict.tails[1]?.test.logEValue ?? 0);
  });

  it('has a cheap path that equals the full test', () => {
    const control = counts((b) => (b < 100 ? 3 : 0));
    const canary = counts((b) => (b < 90 ? 3 : b < 110 ? 2 : 0));
    const epochs = [
      { rho0: 0.5, canary, control },
      { rho0: 0.2, canary: control, control: canary },
    ];
    const full = latencyTest({ reference, epochs, alpha: 0.01, tailTolerance: 1.05 });
    const prepared = prepareLatencyReference({ reference, tailTolerance: 1.05 });
    expect(latencyLogEValue(prepared, epochs)).toBeCloseTo(full.logEValue, 12);
    expect(prepared.cuts.map((cut) => reference[cut.cutIndex]?.upper)).toEqual([95, 99]);
  });

  it('validates its options', () => {
    const empty = reference.map((bucket) => ({ ...bucket, count: 0 }));
    expect(() => latencyTest({ reference: empty, epochs: [], alpha: 0.01 })).toThrow(/reference/);
    expect(() => latencyTest({ reference, epochs: [], alpha: 0.01, tailTolerance: 0.9 })).toThrow(/tailTolerance/);
    expect(() => latencyTest({ reference, epochs: [], alpha: 0.01, tailQuantiles: [1] })).toThrow(/tailQuantiles\[0\]/);
  });
});
