import { FlagdCore } from '@openfeature/flagd-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketFor, cohortFor, murmur3 } from './bucket.js';

describe('murmur3', () => {
  it('matches the reference MurmurHash3 x86_32 vectors', () => {
    expect(murmur3('')).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('hello')).toBe(0x248bfa47);
    expect(murmur3('Hello, world!', 1234)).toBe(0xfaf6cdb3);
    expect(murmur3('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
    expect(murmur3('aaaa', 0x9747b28c)).toBe(0x5a97808a);
    // Hashes UTF-8 bytes (as Go flagd does): 8 × U+03C0 is 16 bytes.
    expect(murmur3('ππππππππ', 0x9747b28c)).toBe(0xd58063c1);
  });
});

describe('bucketFor / cohortFor', () => {
  it('assigns the same cohort as flagd-core fractional for thousands of keys and several splits', () => {
    const core = new FlagdCore();
    const splits = [
      [500, 500],
      [2_000, 2_000],
      [5_000, 5_000],
      [123, 77],
      [0, 0],
      [10_000, 0],
    ] as const;
    const flags: Record<string, unknown> = {};
    splits.forEach(([canary, control], i) => {
      flags[`release-${i}`] = {
        state: 'ENABLED',
        variants: { canary: 'canary', control: 'control', stable: 'stable' },
        defaultVariant: 'stable',
        targeting: {
          fractional: [
            ['canary', canary],
            ['control', control],
            ['stable', 10_000 - canary - control],
          ],
        },
      };
    });
    core.setConfigurations(JSON.stringify({ flags }));
    let compared = 0;
    for (let u = 0; u < 2_000; u++) {
      const targetingKey =
        u % 3 === 0 ? `user-${u}` : u % 3 === 1 ? `${u * 7919}@example.com` : `sess_${u.toString(36)}`;
      splits.forEach(([canary, control], i) => {
        const flagKey = `release-${i}`;
        const expected = core.resolveStringEvaluation(flagKey, 'none', { targetingKey }).value;
        expect(
          cohortFor(bucketFor(flagKey, targetingKey), { canaryBasisPoints: canary, controlBasisPoints: control }),
        ).toBe(expected);
        compared++;
      });
    }
    expect(compared).toBe(12_000);
  });

  it('spreads subjects uniformly (5% canary gets about 5%)', () => {
    let canary = 0;
    for (let u = 0; u < 20_000; u++)
      if (cohortFor(bucketFor('agent', `u${u}`), { canaryBasisPoints: 500, controlBasisPoints: 500 }) === 'canary')
        canary++;
    expect(canary / 20_000).toBeGreaterThan(0.045);
    expect(canary / 20_000).toBeLessThan(0.055);
  });

  it('property: buckets are in [0, 10000) and widening the canary keeps every canary subject in the canary', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ unit: 'grapheme' }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        (flagKey, key, a, b) => {
          const bucket = bucketFor(flagKey, key);
          expect(bucket).toBeGreaterThanOrEqual(0);
          expect(bucket).toBeLessThan(10_000);
          const [low, high] = a <= b ? [a, b] : [b, a];
          const narrow = { canaryBasisPoints: low, controlBasisPoints: Math.min(low, 10_000 - low) };
          const wide = { canaryBasisPoints: high, controlBasisPoints: Math.min(high, 10_000 - high) };
          if (cohortFor(bucket, narrow) === 'canary') expect(cohortFor(bucket, wide)).toBe('canary');
        },
      ),
      { numRuns: 2_000, seed: 7 },
    );
  });
});
