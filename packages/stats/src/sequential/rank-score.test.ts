import { describe, expect, it } from 'vitest';
import { StatsInputError } from './errors.js';
import { RANK_SIDE, rankScoreLogEValue, rankScores, rankScoreTest } from './rank-score.js';

const twoBuckets = [
  { upper: 1, count: 1 },
  { upper: 2, count: 1 },
];

describe('rankScoreTest', () => {
  it('equals the hand-computed wealth on a two-bucket reference', () => {
    // u = (0.25, 0.75), w = (−0.5, 0.5); c = 0.4 at ρ0 = 0.5 gives λ = 0.8.
    // Canary in the high bucket: 1 + 0.8·0.5·0.5 = 1.2; control in the low one: 1 − 0.8·(−0.5)·0.5 = 1.2.
    const epochs = [{ rho0: 0.5, canary: [0, 1], control: [1, 0] }];
    const greater = rankScoreTest({ reference: twoBuckets, epochs, alpha: 0.05, grid: [0.4] });
    expect(greater.eValue).toBeCloseTo(1.44, 12);
    const twoSided = rankScoreTest({ reference: twoBuckets, epochs, alpha: 0.05, grid: [0.4], side: 'two-sided' });
    expect(twoSided.eValue).toBeCloseTo((1.44 + 0.8 * 0.8) / 2, 12);
    const less = rankScoreTest({ reference: twoBuckets, epochs, alpha: 0.05, grid: [0.4], side: RANK_SIDE.less });
    expect(less.eValue).toBeCloseTo(0.64, 12);
    expect(greater.superiority).toBe(1);
    expect(greater.canaryMeanScore).toBe(0.75);
    expect(greater.controlMeanScore).toBe(0.25);
  });

  it('is a martingale: averaging over all label assignments of fixed outcomes gives 1', () => {
    const reference = [3, 0, 5, 2, 7, 1].map((count, b) => ({ upper: b + 1, count }));
    const scores = rankScores(reference);
    const outcomes = [0, 2, 5, 3, 4, 4, 1, 2, 0, 5]; // bucket of each observation
    for (const side of Object.values(RANK_SIDE)) {
      for (const rho0 of [0.5, 0.2]) {
        let expectation = 0;
        for (let mask = 0; mask < 1 << outcomes.length; mask += 1) {
          const canary = new Array<number>(6).fill(0);
          const control = new Array<number>(6).fill(0);
          let probability = 1;
          outcomes.forEach((bucket, i) => {
            const isCanary = (mask >> i) & 1;
            if (isCanary) canary[bucket] = (canary[bucket] ?? 0) + 1;
            else control[bucket] = (control[bucket] ?? 0) + 1;
            probability *= isCanary ? rho0 : 1 - rho0;
          });
          expectation += probability * Math.exp(rankScoreLogEValue(scores, [{ rho0, canary, control }], side));
        }
        expect(expectation).toBeCloseTo(1, 10);
      }
    }
  });

  it('with a tolerance δ: a supermartingale while the arms differ in mean score by at most δ', () => {
    // Two buckets, w = ±0.5, so E[w] = P(high) − 0.5: canary P(high) = 0.5 + δ and control
    // 0.5 put the arms' mean scores exactly δ apart; the expected one-step factor must not exceed 1.
    const scores = rankScores(twoBuckets);
    const tolerance = 0.2;
    for (const rho0 of [0.5, 0.3]) {
      const pCanary = 0.5 + tolerance;
      const pControl = 0.5;
      for (const side of Object.values(RANK_SIDE)) {
        let expectation = 0;
        for (const isCanary of [true, false]) {
          const p = isCanary ? pCanary : pControl;
          for (const high of [true, false]) {
            const counts = high ? [0, 1] : [1, 0];
            const empty = [0, 0];
            const epoch = { rho0, canary: isCanary ? counts : empty, control: isCanary ? empty : counts };
            const probability = (isCanary ? rho0 : 1 - rho0) * (high ? p : 1 - p);
            expectation += probability * Math.exp(rankScoreLogEValue(scores, [epoch], side, [0.4], tolerance));
          }
        }
        expect(expectation).toBeLessThanOrEqual(1 + 1e-12);
      }
    }
  });

  it('with a tolerance δ: rejects only a shift larger than δ', () => {
    const reference = Array.from({ length: 20 }, (_, b) => ({ upper: b + 1, count: 10 }));
    const scores = rankScores(reference);
    // Canary all in the upper half, control all in the lower: mean scores 0.5 apart.
    const low = Array.from({ length: 20 }, (_, b) => (b < 10 ? 30 : 0));
    const high = Array.from({ length: 20 }, (_, b) => (b >= 10 ? 30 : 0));
    const epochs = [{ rho0: 0.5, canary: high, control: low }];
    const logE = (tolerance: number) => rankScoreLogEValue(scores, epochs, RANK_SIDE.twoSided, undefined, tolerance);
    expect(logE(0.2)).toBeGreaterThan(Math.log(100));
    expect(logE(0.2)).toBeLessThan(logE(0));
    expect(logE(1.2)).toBeLessThan(0);
  });

  it('rejects a clear shift and ignores identical arms', () => {
    const reference = Array.from({ length: 20 }, (_, b) => ({ upper: b + 1, count: 10 }));
    const low = Array.from({ length: 20 }, (_, b) => (b < 10 ? 20 : 0));
    const high = Array.from({ length: 20 }, (_, b) => (b >= 10 ? 20 : 0));
    const shifted = rankScoreTest({ reference, epochs: [{ rho0: 0.5, canary: high, control: low }], alpha: 0.01 });
    expect(shifted.reject).toBe(true);
    expect(shifted.superiority).toBe(1);
    const same = rankScoreTest({ reference, epochs: [{ rho0: 0.5, canary: high, control: high }], alpha: 0.01 });
    expect(same.eValue).toBeLessThan(1);
    expect(same.superiority).toBe(0.5);
    // The wrong direction gives no evidence for 'greater' but does for 'two-sided'.
    const faster = { reference, epochs: [{ rho0: 0.5, canary: low, control: high }], alpha: 0.01 };
    expect(rankScoreTest(faster).reject).toBe(false);
    expect(rankScoreTest({ ...faster, side: 'two-sided' }).reject).toBe(true);
  });

  it('is order-free: splitting counts into epochs of the same ρ0 changes nothing', () => {
    const reference = [4, 6, 8, 2].map((count, b) => ({ upper: b + 1, count }));
    const whole = rankScoreTest({
      reference,
      epochs: [{ rho0: 0.3, canary: [1, 2, 5, 6], control: [9, 8, 4, 1] }],
      alpha: 0.01,
    });
    const parts = rankScoreTest({
      reference,
      epochs: [
        { rho0: 0.3, canary: [1, 0, 2, 6], control: [4, 8, 0, 1] },
        { rho0: 0.3, canary: [0, 2, 3, 0], control: [5, 0, 4, 0] },
      ],
      alpha: 0.01,
    });
    expect(parts.logEValue).toBeCloseTo(whole.logEValue, 12);
  });

  it('memoised factor tables give the per-observation product, across ρ0 epochs and sides', () => {
    const reference = [
      { upper: 1, count: 3 },
      { upper: 2, count: 0 },
      { upper: 5, count: 4 },
      { upper: 9, count: 2 },
    ];
    const scores = rankScores(reference);
    const epochs = [
      { rho0: 0.5, canary: [1, 0, 2, 3], control: [2, 1, 0, 1] },
      { rho0: 0.2, canary: [0, 4, 1, 0], control: [3, 0, 2, 5] },
    ];
    const grid = [0.1, 0.7];
    // Direct definition: mean over components of Π (1 + λ·w·(1{canary} − ρ0)).
    const direct = (side: 'greater' | 'less' | 'two-sided') => {
      const signs = side === 'two-sided' ? [1, -1] : side === 'less' ? [-1] : [1];
      let sum = 0;
      for (const sign of signs) {
        for (const c of grid) {
          let wealth = 1;
          for (const epoch of epochs) {
            const lambda = (sign * c) / Math.max(epoch.rho0, 1 - epoch.rho0);
            scores.forEach((w, b) => {
              wealth *= (1 + lambda * w * (1 - epoch.rho0)) ** (epoch.canary[b] ?? 0);
              wealth *= (1 - lambda * w * epoch.rho0) ** (epoch.control[b] ?? 0);
            });
          }
          sum += wealth;
        }
      }
      return Math.log(sum / (signs.length * grid.length));
    };
    for (const side of [RANK_SIDE.greater, RANK_SIDE.less, RANK_SIDE.twoSided]) {
      // Twice: the second call reads the memoised tables.
      expect(rankScoreLogEValue(scores, epochs, side, grid)).toBeCloseTo(direct(side), 12);
      expect(rankScoreLogEValue(scores, epochs, side, grid)).toBeCloseTo(direct(side), 12);
    }
  });

  it('validates alignment and options', () => {
    const epochs = [{ rho0: 0.5, canary: [1], control: [1, 0] }];
    expect(() => rankScoreTest({ reference: twoBuckets, epochs, alpha: 0.01 })).toThrow(StatsInputError);
    expect(() => rankScoreTest({ reference: twoBuckets, epochs, alpha: 0.01 })).toThrow(/epochs\[0\]\.canary/);
    const unsorted = [
      { upper: 2, count: 1 },
      { upper: 1, count: 1 },
    ];
    expect(() => rankScoreTest({ reference: unsorted, epochs: [], alpha: 0.01 })).toThrow(/reference\[1\]\.upper/);
    expect(() => rankScoreTest({ reference: twoBuckets, epochs: [], alpha: 0.01, grid: [1] })).toThrow(/grid\[0\]/);
  });
});
