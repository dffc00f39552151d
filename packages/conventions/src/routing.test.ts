import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { assertValidSplit, type RoutingSplit, sameSplit, withRetry } from './routing.js';

describe('withRetry', () => {
  it('throws a permanent error at once instead of retrying it', async () => {
    let calls = 0;
    const refused = new Error('401');
    await expect(
      withRetry(
        async () => {
          calls++;
          throw refused;
        },
        { isPermanent: (error) => error === refused, sleep: async () => {} },
      ),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it('backs off exponentially with jitter, capped, until the attempt succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async (n) => {
        calls++;
        if (n < 5) throw new Error(`not yet ${n}`);
        return 'ok';
      },
      {
        initialDelayMillis: 100,
        maxDelayMillis: 500,
        jitter: 0.5,
        random: () => 1,
        sleep: async (ms) => void delays.push(ms),
      },
    );
    expect(result).toEqual({ ok: true, value: 'ok', attempts: 5 });
    expect(calls).toBe(5);
    // random() = 1 removes the full jitter share (50%) of 100, 200, 400, min(800, 500).
    expect(delays).toEqual([50, 100, 200, 250]);
  });

  it('returns the last error after maxAttempts instead of throwing', async () => {
    const result = await withRetry(
      async (n) => {
        throw new Error(`fail ${n}`);
      },
      { maxAttempts: 3, sleep: async () => {} },
    );
    expect(result.ok).toBe(false);
    expect(result.attempts).toBe(3);
    if (!result.ok) expect((result.error as Error).message).toBe('fail 3');
  });
});

describe('sameSplit', () => {
  it('compares who is routed where, not versions or rollout ids', () => {
    const a = {
      flagKey: 'f',
      rolloutId: 'r1',
      canaryRelease: 'v2',
      stableRelease: 'v1',
      canaryBasisPoints: 500,
      controlBasisPoints: 500,
    };
    expect(sameSplit(a, { ...a, rolloutId: 'r2', version: 7 })).toBe(true);
    expect(sameSplit(a, { ...a, canaryBasisPoints: 600 })).toBe(false);
    expect(sameSplit(a, undefined)).toBe(false);
    expect(sameSplit(undefined, undefined)).toBe(true);
  });
});

describe('assertValidSplit', () => {
  const split: RoutingSplit = {
    flagKey: 'agent.release',
    rolloutId: 'r1',
    canaryRelease: 'v2',
    stableRelease: 'v1',
    canaryBasisPoints: 500,
    controlBasisPoints: 500,
  };
  const fieldOf = (candidate: RoutingSplit, requireRolloutId = false): string | undefined => {
    try {
      assertValidSplit(candidate, { requireRolloutId });
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).path;
    }
  };

  it('accepts a split of whole basis points that fits in 10 000', () => {
    expect(fieldOf(split, true)).toBeUndefined();
    expect(fieldOf({ ...split, canaryBasisPoints: 10_000, controlBasisPoints: 0 })).toBeUndefined();
  });

  it('names the field of a share out of range, a fraction, an overfull split, an empty id', () => {
    expect(fieldOf({ ...split, canaryBasisPoints: -1 })).toBe('split.canaryBasisPoints');
    expect(fieldOf({ ...split, controlBasisPoints: 2.5 })).toBe('split.controlBasisPoints');
    expect(fieldOf({ ...split, canaryBasisPoints: 6_000, controlBasisPoints: 6_000 })).toBe('split.controlBasisPoints');
    expect(fieldOf({ ...split, stableRelease: '' })).toBe('split.stableRelease');
  });

  it('requires a rollout id only when asked to', () => {
    expect(fieldOf({ ...split, rolloutId: '' })).toBeUndefined();
    expect(fieldOf({ ...split, rolloutId: '' }, true)).toBe('split.rolloutId');
  });
});
