import { ConfigError, ROUTING_ERROR_CODE, type RoutingSplit } from '@agent-canary/conventions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitFromStrategies, strategyForSplit, type UnleashStrategy } from './strategy.js';

const base: RoutingSplit = {
  flagKey: 'agent.release',
  rolloutId: 'r-7',
  canaryRelease: 'v2',
  stableRelease: 'v1',
  canaryBasisPoints: 500,
  controlBasisPoints: 500,
};

describe('strategyForSplit / splitFromStrategies', () => {
  it('writes a flexibleRollout of canary + control in whole percents with canary/control variants', () => {
    const strategy = strategyForSplit(base);
    expect(strategy.parameters).toMatchObject({ rollout: '10', stickiness: 'userId', groupId: 'agent.release' });
    expect(strategy.variants?.map((v) => [v.name, v.weight, v.weightType, v.payload?.value])).toEqual([
      ['canary', 500, 'fix', 'v2'],
      ['control', 500, 'variable', 'v1'],
    ]);
  });

  it('reads back every representable split exactly (rollout in whole percents, weights in thousandths)', () => {
    const representable = fc
      .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 1000 }))
      .map(([percent, weight]) => ({ slice: percent * 100, canary: (percent * 100 * weight) / 1000 }))
      .filter(({ canary }) => Number.isInteger(canary));
    fc.assert(
      fc.property(representable, ({ slice, canary }) => {
        const split = { ...base, canaryBasisPoints: canary, controlBasisPoints: slice - canary };
        expect(splitFromStrategies(split.flagKey, true, [strategyForSplit(split)], 'here')).toEqual(split);
      }),
    );
  });

  it('rejects splits Unleash cannot hold exactly, naming the field', () => {
    expect(() => strategyForSplit({ ...base, canaryBasisPoints: 25, controlBasisPoints: 25 })).toThrow(ConfigError);
    expect(() => strategyForSplit({ ...base, canaryBasisPoints: 25, controlBasisPoints: 25 })).toThrow(
      /whole percents/,
    );
    // 100 bp slice split 1 : 99 would need weight 10 — fine; 1/3 of 300 bp needs 333.33 — not.
    expect(() => strategyForSplit({ ...base, canaryBasisPoints: 100, controlBasisPoints: 200 })).toThrow(/thousandths/);
  });

  it('reads a disabled environment as an empty slice, and no strategy as no split', () => {
    expect(splitFromStrategies('agent.release', false, [strategyForSplit(base)], 'here')).toMatchObject({
      canaryBasisPoints: 0,
      controlBasisPoints: 0,
    });
    expect(splitFromStrategies('agent.release', true, [], 'here')).toBeUndefined();
  });

  it('reports strategies it did not write as flagShape', () => {
    const own = strategyForSplit(base);
    const shapes: UnleashStrategy[][] = [
      [{ name: 'default' }],
      [{ ...own, title: 'made in the UI' }],
      [own, own],
      [{ ...own, constraints: [{ contextName: 'country', operator: 'IN', values: ['FR'] }] }],
      [{ ...own, parameters: { ...own.parameters, stickiness: 'sessionId' } }],
      [{ ...own, variants: own.variants?.slice(0, 1) ?? [] }],
    ];
    for (const strategies of shapes) {
      expect(() => splitFromStrategies('agent.release', true, strategies, 'here')).toThrow(
        expect.objectContaining({ code: ROUTING_ERROR_CODE.flagShape }),
      );
    }
  });
});
