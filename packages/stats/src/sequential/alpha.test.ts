import { describe, expect, it } from 'vitest';
import { DEFAULT_ALPHA_WEIGHTS, splitAlpha } from './alpha.js';

describe('splitAlpha', () => {
  it('returns the suggested split of 0.01 by default', () => {
    const split = splitAlpha();
    for (const [check, alpha] of Object.entries(DEFAULT_ALPHA_WEIGHTS)) expect(split[check]).toBeCloseTo(alpha, 15);
    expect(Object.values(split).reduce((a, b) => a + b, 0)).toBeCloseTo(0.01, 15);
    expect(Object.isFrozen(split)).toBe(true);
  });

  it('splits among enabled checks only, proportionally to their weights', () => {
    const split = splitAlpha({ total: 0.05, checks: ['error_rate', 'latency'] });
    expect(Object.keys(split)).toEqual(['error_rate', 'latency']);
    expect(split['error_rate']).toBeCloseTo(0.05 * (2.5 / 4.5), 15);
    expect(split['latency']).toBeCloseTo(0.05 * (2 / 4.5), 15);
    const custom = splitAlpha({ weights: { a: 1, b: 3 } });
    expect(custom['a']).toBeCloseTo(0.0025, 15);
    expect(custom['b']).toBeCloseTo(0.0075, 15);
  });

  it('rejects a bad total, an unknown check and zero total weight', () => {
    expect(() => splitAlpha({ total: 1 })).toThrow(/total/);
    expect(() => splitAlpha({ checks: ['nope'] })).toThrow(/checks\[0\]/);
    expect(() => splitAlpha({ weights: { a: 0 } })).toThrow(/weights/);
    expect(() => splitAlpha({ weights: { a: -1 } })).toThrow(/weights\.a/);
  });
});
