/**
 * Contract tests of the LaunchDarkly adapter against a local server that checks what
 * LaunchDarkly's REST API documents (path, method, headers, semantic patch body).
 */
import { ConfigError, ROUTING_ERROR_CODE, type RoutingSplit, sameSplit } from '@agent-canary/conventions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLaunchDarklyAdapter, SEMANTIC_PATCH_CONTENT_TYPE } from './adapter.js';
import type { LaunchDarklyAdapterOptions } from './config.js';
import { resolveLaunchDarklyAdapterConfig } from './config.js';
import { FakeLaunchDarkly, releaseFlagFixture } from './testing-fixtures/fake-launchdarkly.js';

const TOKEN = 'api-0123-test-token';
const FLAG = 'agent-release';
const SPLIT: RoutingSplit = {
  flagKey: FLAG,
  rolloutId: 'r1',
  canaryRelease: 'v2',
  stableRelease: 'v1',
  canaryBasisPoints: 500,
  controlBasisPoints: 500,
};

let server: FakeLaunchDarkly;

beforeEach(async () => {
  server = new FakeLaunchDarkly({
    accessToken: TOKEN,
    projectKey: 'support',
    environmentKey: 'production',
    flags: [releaseFlagFixture(FLAG, { canaryRelease: 'v0', stableRelease: 'v1' }, 'production')],
  });
  await server.start();
});
afterEach(() => server.close());

function lastPatchInstructions(): unknown[] {
  const patch = server.requests.filter((r) => r.method === 'PATCH').at(-1);
  return (patch?.body as { instructions?: unknown[] } | undefined)?.instructions ?? [];
}

function adapter(options: LaunchDarklyAdapterOptions = {}) {
  return createLaunchDarklyAdapter({
    accessToken: TOKEN,
    projectKey: 'support',
    environmentKey: 'production',
    baseUrl: server.url,
    retry: { maxAttempts: 4, sleep: async () => {} },
    clock: () => 42,
    ...options,
  });
}

describe('LaunchDarkly adapter (contract-tested)', () => {
  it('sends one semantic patch with the documented path, headers and body, then reads it back', async () => {
    const result = await adapter().apply(SPLIT);
    expect(result).toEqual({ acknowledged: true, acknowledgedAtMillis: 42, attempts: 1, version: 2 });
    expect(server.violations).toEqual([]);
    expect(server.requests.map((r) => `${r.method} ${r.path}?env=${r.query['env'] ?? ''}`)).toEqual([
      'GET /api/v2/flags/support/agent-release?env=production',
      'PATCH /api/v2/flags/support/agent-release?env=',
      'GET /api/v2/flags/support/agent-release?env=production',
    ]);
    const patch = server.requests[1];
    expect(patch?.headers['authorization']).toBe(TOKEN);
    expect(patch?.headers['content-type']).toBe(SEMANTIC_PATCH_CONTENT_TYPE);
    expect(patch?.body).toEqual({
      environmentKey: 'production',
      comment: expect.stringContaining('rollout r1'),
      instructions: [
        {
          kind: 'updateVariation',
          variationId: `${FLAG}-var-canary`,
          value: { cohort: 'canary', release: 'v2', rolloutId: 'r1' },
        },
        {
          kind: 'updateVariation',
          variationId: `${FLAG}-var-control`,
          value: { cohort: 'control', release: 'v1', rolloutId: 'r1' },
        },
        {
          kind: 'updateVariation',
          variationId: `${FLAG}-var-stable`,
          value: { cohort: 'stable', release: 'v1', rolloutId: 'r1' },
        },
        {
          kind: 'updateFallthroughVariationOrRollout',
          rolloutWeights: {
            [`${FLAG}-var-canary`]: 5000,
            [`${FLAG}-var-control`]: 5000,
            [`${FLAG}-var-stable`]: 90000,
          },
          rolloutContextKind: 'user',
        },
      ],
    });
    expect(await adapter().read(FLAG)).toEqual({ ...SPLIT, version: 2 });
  });

  it('is idempotent: applying the split the flag already routes sends no PATCH', async () => {
    await adapter().apply(SPLIT);
    const before = server.requests.length;
    const again = await adapter().apply(SPLIT);
    expect(again).toMatchObject({ acknowledged: true, version: 2 });
    expect(server.requests.slice(before).map((r) => r.method)).toEqual(['GET', 'GET']);
  });

  it('rolls back with a 0% rollout, only changing the weights', async () => {
    const routing = adapter();
    await routing.apply(SPLIT);
    const rollback = { ...SPLIT, canaryBasisPoints: 0, controlBasisPoints: 0 };
    expect((await routing.apply(rollback)).acknowledged).toBe(true);
    expect(lastPatchInstructions()).toEqual([
      {
        kind: 'updateFallthroughVariationOrRollout',
        rolloutWeights: { [`${FLAG}-var-canary`]: 0, [`${FLAG}-var-control`]: 0, [`${FLAG}-var-stable`]: 100000 },
        rolloutContextKind: 'user',
      },
    ]);
    expect(sameSplit(await routing.read(FLAG), rollback)).toBe(true);
  });

  it('rolls back with turnFlagOff (and the stable off variation) as the emergency stop', async () => {
    const flag = releaseFlagFixture(FLAG, { canaryRelease: 'v2', stableRelease: 'v1' }, 'production');
    server.putFlag({
      ...flag,
      environments: { production: { ...flag.environments['production'], on: true, offVariation: 0 } },
    });
    const routing = adapter({ rollbackWithFlagOff: true });
    await routing.apply(SPLIT);
    const rollback = { ...SPLIT, canaryBasisPoints: 0, controlBasisPoints: 0 };
    expect((await routing.apply(rollback)).acknowledged).toBe(true);
    expect(lastPatchInstructions()).toEqual([
      { kind: 'updateOffVariation', variationId: `${FLAG}-var-stable` },
      { kind: 'turnFlagOff' },
    ]);
    expect(server.flag(FLAG)?.environments['production']).toMatchObject({ on: false, offVariation: 2 });
    expect(sameSplit(await routing.read(FLAG), rollback)).toBe(true);
    // The next rollout turns the flag on again.
    await routing.apply(SPLIT);
    expect(server.flag(FLAG)?.environments['production']?.on).toBe(true);
  });

  it('stop() turns the flag off even when someone reshaped its targeting', async () => {
    const routing = adapter();
    await routing.apply(SPLIT);
    const flag = server.flag(FLAG);
    if (flag === undefined) throw new Error('no flag');
    server.putFlag({
      ...flag,
      environments: { production: { ...flag.environments['production'], on: true, rules: [{}] } },
    });
    await expect(routing.read(FLAG)).rejects.toMatchObject({ code: ROUTING_ERROR_CODE.flagShape });
    expect((await routing.stop(FLAG)).acknowledged).toBe(true);
    expect(server.flag(FLAG)?.environments['production']).toMatchObject({ on: false, offVariation: 2 });
  });

  it('rolls back by turning the flag off when a hand edit (rules) keeps the fallthrough from deciding', async () => {
    const routing = adapter();
    await routing.apply(SPLIT);
    const flag = server.flag(FLAG);
    if (flag === undefined) throw new Error('no flag');
    server.putFlag({
      ...flag,
      environments: { production: { ...flag.environments['production'], on: true, rules: [{}] } },
    });
    // Widening refuses the foreign shape...
    await expect(routing.apply({ ...SPLIT, canaryBasisPoints: 2000, controlBasisPoints: 2000 })).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagShape,
    });
    // ...but a rollback goes through, as the emergency stop.
    const rollback = { ...SPLIT, canaryBasisPoints: 0, controlBasisPoints: 0 };
    expect((await routing.apply(rollback)).acknowledged).toBe(true);
    expect(server.flag(FLAG)?.environments['production']).toMatchObject({ on: false, offVariation: 2 });
    expect(sameSplit(await routing.read(FLAG), rollback)).toBe(true);
  });

  it('retries 503 and 429 with backoff until acknowledged', async () => {
    server.failNext(503, 429);
    const delays: number[] = [];
    const result = await adapter({
      retry: { maxAttempts: 5, initialDelayMillis: 100, jitter: 0, sleep: async (ms) => void delays.push(ms) },
    }).apply(SPLIT);
    expect(result).toMatchObject({ acknowledged: true, attempts: 3 });
    expect(delays).toEqual([100, 200]);
  });

  it('returns acknowledged: false with the reason once the retries are used up', async () => {
    server.failNext(503, 503, 503, 503);
    const result = await adapter().apply(SPLIT);
    expect(result).toMatchObject({ acknowledged: false, attempts: 4 });
    expect(result.reason).toContain('HTTP 503');
  });

  it('detects a hand change: read returns what a person set in LaunchDarkly', async () => {
    const routing = adapter();
    await routing.apply(SPLIT);
    const flag = server.flag(FLAG);
    if (flag === undefined) throw new Error('no flag');
    const production = flag.environments['production'];
    server.putFlag({
      ...flag,
      environments: {
        production: {
          ...production,
          on: true,
          fallthrough: {
            rollout: {
              variations: [
                { variation: 0, weight: 30000 },
                { variation: 1, weight: 5000 },
                { variation: 2, weight: 65000 },
              ],
            },
          },
        },
      },
    });
    const read = await routing.read(FLAG);
    expect(read).toMatchObject({ canaryBasisPoints: 3000, controlBasisPoints: 500 });
    expect(sameSplit(read, SPLIT)).toBe(false);
  });

  it('throws unauthorized on 401 without retrying, and never puts the token in the message', async () => {
    const error = await adapter({ accessToken: 'api-wrong' })
      .apply(SPLIT)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ROUTING_ERROR_CODE.unauthorized, provider: 'launchdarkly', flagKey: FLAG });
    expect((error as Error).message).toContain('HTTP 401');
    expect((error as Error).message).not.toContain('api-wrong');
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry another 4xx (e.g. approvals required) and names the status', async () => {
    server.failNext(405);
    await expect(adapter().apply(SPLIT)).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.unavailable,
      message: expect.stringContaining('HTTP 405: simulated: simulated HTTP 405'),
    });
    expect(server.requests).toHaveLength(1);
  });

  it('throws flagNotFound for an unknown flag and for an unknown environment', async () => {
    await expect(adapter().apply({ ...SPLIT, flagKey: 'nope' })).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagNotFound,
      message: expect.stringContaining('"nope" in project "support"'),
    });
    await expect(adapter({ environmentKey: 'staging' }).read(FLAG)).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagNotFound,
      message: expect.stringContaining('no environment "staging"'),
    });
  });

  it('throws flagShape for a flag without release variations, naming the missing ones', async () => {
    server.putFlag({
      key: FLAG,
      _version: 1,
      variations: [
        { _id: 'a', value: true },
        { _id: 'b', value: false },
      ],
      environments: { production: { on: true, fallthrough: { variation: 0 } } },
    });
    const error = await adapter()
      .apply(SPLIT)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ROUTING_ERROR_CODE.flagShape });
    expect((error as Error).message).toMatch(/no variation for "canary", "control", "stable"/);
    expect(server.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
  });

  it('throws flagShape on read when the environment has rules or targets', async () => {
    const flag = releaseFlagFixture(FLAG, { canaryRelease: 'v2', stableRelease: 'v1' }, 'production');
    server.putFlag({
      ...flag,
      environments: {
        production: { ...flag.environments['production'], on: true, targets: [{ values: ['u1'], variation: 0 }] },
      },
    });
    await expect(adapter().read(FLAG)).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagShape,
      message: expect.stringContaining('has targets in environment "production"'),
    });
  });
});

describe('resolveLaunchDarklyAdapterConfig', () => {
  it('resolves defaults < environment < options', () => {
    const env = { LAUNCHDARKLY_ACCESS_TOKEN: 'api-env', LAUNCHDARKLY_PROJECT_KEY: 'p-env' };
    expect(resolveLaunchDarklyAdapterConfig({}, env)).toMatchObject({
      accessToken: 'api-env',
      projectKey: 'p-env',
      environmentKey: 'production',
      baseUrl: 'https://app.launchdarkly.com',
      contextKind: 'user',
      rollbackWithFlagOff: false,
    });
    expect(
      resolveLaunchDarklyAdapterConfig({ projectKey: 'p-opt', baseUrl: 'https://app.eu.launchdarkly.com/' }, env),
    ).toMatchObject({
      projectKey: 'p-opt',
      baseUrl: 'https://app.eu.launchdarkly.com',
    });
  });

  it('throws ConfigError naming the field: no token, an SDK key, a bad URL', () => {
    expect(() => resolveLaunchDarklyAdapterConfig({}, {})).toThrow(/at accessToken/);
    expect(() => resolveLaunchDarklyAdapterConfig({ accessToken: 'sdk-123' }, {})).toThrow(ConfigError);
    expect(() => resolveLaunchDarklyAdapterConfig({ accessToken: 'sdk-123' }, {})).toThrow(/not an SDK or mobile key/);
    expect(() => resolveLaunchDarklyAdapterConfig({ accessToken: 'api-1', baseUrl: 'ftp://x' }, {})).toThrow(
      /at baseUrl/,
    );
  });

  it('rejects a split outside 0..10000 with a ConfigError', async () => {
    await expect(adapter().apply({ ...SPLIT, canaryBasisPoints: 10_001 })).rejects.toMatchObject({
      path: 'split.canaryBasisPoints',
    });
  });
});
