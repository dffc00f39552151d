import { describe, expect, it } from 'vitest';
import { sameSplit, withRetry } from './adapter.js';

describe('withRetry', () => {
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
