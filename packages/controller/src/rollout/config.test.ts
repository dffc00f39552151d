import { ConfigError } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { ROLLOUT_DEFAULTS, resolveRolloutConfig, safeResolveRolloutConfig, splitForPercent } from './config.js';

const base = { flagKey: 'agent', canaryRelease: 'v2', stableRelease: 'v1' };

describe('resolveRolloutConfig', () => {
  it('defaults to the article cadence 5% -> 20% -> 50% -> 100%', () => {
    const config = resolveRolloutConfig(base, {});
    expect(config.steps.map((s) => [s.percent, s.minDurationMillis])).toEqual([
      [5, 15 * 60_000],
      [20, 30 * 60_000],
      [50, 60 * 60_000],
      [100, 0],
    ]);
    expect(config).toMatchObject({
      tickIntervalMillis: 5_000,
      consecutiveFailuresBeforeRollback: 3,
      requireApproval: false,
    });
    expect(config.warmup).toEqual(ROLLOUT_DEFAULTS.warmup);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the environment below explicit options', () => {
    const env = { AGENT_CANARY_TICK_INTERVAL_MILLIS: '1000', AGENT_CANARY_REQUIRE_APPROVAL: 'true' };
    expect(resolveRolloutConfig(base, env)).toMatchObject({ tickIntervalMillis: 1_000, requireApproval: true });
    expect(resolveRolloutConfig({ ...base, tickIntervalMillis: 250 }, env).tickIntervalMillis).toBe(250);
    expect(() => resolveRolloutConfig(base, { AGENT_CANARY_TICK_INTERVAL_MILLIS: 'soon' })).toThrow(
      /env\.AGENT_CANARY_TICK_INTERVAL_MILLIS/,
    );
  });

  it('names the field, the expectation and the value on bad input', () => {
    const bad = [
      [{ ...base, flagKey: '' }, 'flagKey'],
      [{ ...base, canaryRelease: 'v1' }, 'canaryRelease'],
      [{ ...base, steps: [{ percent: 20 }, { percent: 10 }, { percent: 100 }] }, 'steps[1].percent'],
      [{ ...base, steps: [{ percent: 20 }, { percent: 50 }] }, 'steps[1].percent'],
      [{ ...base, steps: [{ percent: 5, minDurationMillis: -1 }, { percent: 100 }] }, 'steps[0].minDurationMillis'],
      [{ ...base, consecutiveFailuresBeforeRollback: 0 }, 'consecutiveFailuresBeforeRollback'],
      [{ ...base, warmup: { minCanaryRequests: 1.5 } }, 'warmup.minCanaryRequests'],
    ] as const;
    for (const [options, path] of bad) {
      const result = safeResolveRolloutConfig(options as never, {});
      expect(result.ok, path).toBe(false);
      if (!result.ok) {
        expect(result.error).toBeInstanceOf(ConfigError);
        expect(result.error.path).toBe(path);
      }
    }
    expect(() =>
      resolveRolloutConfig({ ...base, steps: [{ percent: 5 }, { percent: 100 }], maxDurationMillis: 0 }, {}),
    ).toThrow('invalid configuration at maxDurationMillis: expected a finite number > 0, received 0');
  });

  it('sizes control like the canary, within what is left', () => {
    expect(splitForPercent(5)).toEqual({ canaryBasisPoints: 500, controlBasisPoints: 500 });
    expect(splitForPercent(70)).toEqual({ canaryBasisPoints: 7_000, controlBasisPoints: 3_000 });
    expect(splitForPercent(100)).toEqual({ canaryBasisPoints: 10_000, controlBasisPoints: 0 });
  });
});
