import { describe, expect, it } from 'vitest';
import { sampleRatioLogEValue, sampleRatioTest } from './srm.js';

describe('sampleRatioTest', () => {
  const split = { stable: 90, canary: 5, control: 5 };

  it('fires on a 60/40 canary/control split configured as 50/50', () => {
    const result = sampleRatioTest({
      epochs: [{ split: { canary: 1, control: 1 }, counts: { canary: 600, control: 400 } }],
    });
    expect(result.alpha).toBe(0.001);
    expect(result.reject).toBe(true);
    expect(result.cohorts.find((cohort) => cohort.key === 'canary')).toMatchObject({ share: 0.6, expectedShare: 0.5 });
  });

  it('stays quiet on the configured split', () => {
    const result = sampleRatioTest({ epochs: [{ split, counts: { stable: 9000, canary: 500, control: 500 } }] });
    expect(result.reject).toBe(false);
    expect(result.eValue).toBeLessThan(1);
  });

  it('treats a cohort observed despite a zero weight as certain mismatch', () => {
    const result = sampleRatioTest({
      epochs: [{ split: { stable: 1, canary: 0 }, counts: { stable: 10, canary: 1 } }],
    });
    expect(result.eValue).toBe(Number.POSITIVE_INFINITY);
    expect(result.reject).toBe(true);
  });

  it('multiplies epochs of different splits', () => {
    const first = { split, counts: { stable: 900, canary: 60, control: 40 } };
    const second = {
      split: { stable: 60, canary: 20, control: 20 },
      counts: { stable: 600, canary: 210, control: 190 },
    };
    const both = sampleRatioTest({ epochs: [first, second] });
    const sum = sampleRatioTest({ epochs: [first] }).logEValue + sampleRatioTest({ epochs: [second] }).logEValue;
    expect(both.logEValue).toBeCloseTo(sum, 12);
    expect(both.cohorts.find((cohort) => cohort.key === 'canary')?.expectedShare).toBeCloseTo((50 + 200) / 2000, 12);
  });

  it('validates its options', () => {
    expect(() => sampleRatioTest({ epochs: [{ split: { a: 0 }, counts: { a: 1 } }] })).toThrow(/epochs\[0\]\.split/);
    expect(() => sampleRatioTest({ epochs: [], alpha: 2 })).toThrow(/alpha/);
  });

  it('has a cheap path equal to the full test for one epoch', () => {
    const counts = { stable: 1830, canary: 120, control: 95 };
    const full = sampleRatioTest({ epochs: [{ split, counts }] });
    const logE = sampleRatioLogEValue([1830, 120, 95], [0.9, 0.05, 0.05]);
    expect(logE).toBeCloseTo(full.logEValue, 12);
    expect(sampleRatioLogEValue([10, 0, 0], [0.9, 0.1, 0], 50)).toBeCloseTo(
      sampleRatioTest({
        epochs: [{ split: { a: 0.9, b: 0.1, c: 0 }, counts: { a: 10, b: 0, c: 0 } }],
        concentration: 50,
      }).logEValue,
      12,
    );
  });
});
