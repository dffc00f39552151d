import type { RoutingSplit } from '@agent-canary/conventions';
import { OpenFeature } from '@openfeature/server-sdk';
import { type ClientFeaturesResponse, InMemStorageProvider, Unleash } from 'unleash-client';
import { afterEach, describe, expect, it } from 'vitest';
import { UnleashProvider } from './provider.js';
import { strategyForSplit } from './strategy.js';

const split = (flagKey: string, canaryBasisPoints: number, controlBasisPoints: number): RoutingSplit => ({
  flagKey,
  rolloutId: 'r-1',
  canaryRelease: 'v2',
  stableRelease: 'v1',
  canaryBasisPoints,
  controlBasisPoints,
});

const clients: Unleash[] = [];

/** A real unleash-client fed from bootstrap data; its server URL is unreachable on purpose. */
function bootstrapped(data: ClientFeaturesResponse['features']): Unleash {
  const client = new Unleash({
    url: 'http://127.0.0.1:9/api',
    appName: 'test',
    bootstrap: { data: [...data] },
    refreshInterval: 3_600_000,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
  });
  clients.push(client);
  return client;
}

function feature(s: RoutingSplit, enabled = true) {
  const { title: _title, ...strategy } = strategyForSplit(s);
  return {
    name: s.flagKey,
    enabled,
    strategies: [strategy],
    variants: [],
  } as unknown as ClientFeaturesResponse['features'][number];
}

afterEach(async () => {
  await OpenFeature.close();
  for (const client of clients.splice(0)) client.destroy();
});

describe('UnleashProvider', () => {
  it('follows Unleash stickiness: MurmurHash3 of groupId:userId mod 100 + 1 (client-specification vectors)', async () => {
    // From @unleash/client-specification 10-flexible-rollout: with groupId "Feature.flexibleRollout.10",
    // userId 174 normalises to 10 (inside a 10% rollout) and 499 to 32 (outside).
    const flag = 'Feature.flexibleRollout.10';
    const provider = new UnleashProvider({ client: bootstrapped([feature(split(flag, 500, 500))]) });
    await OpenFeature.setProviderAndWait('unleash-unit', provider);
    const client = OpenFeature.getClient('unleash-unit');
    const inside = await client.getStringDetails(flag, 'none', { targetingKey: '174' });
    expect(['canary', 'control']).toContain(inside.variant);
    const outside = await client.getStringDetails(flag, 'none', { targetingKey: '499' });
    expect(outside).toMatchObject({
      variant: 'stable',
      value: 'v1',
      flagMetadata: { cohort: 'stable', rolloutId: 'r-1' },
    });
  });

  it('maps variants to cohorts and payloads to releases; disabled flags and missing subjects serve stable', async () => {
    const provider = new UnleashProvider({
      client: bootstrapped([feature(split('all-canary', 10_000, 0)), feature(split('off', 500, 500), false)]),
    });
    await OpenFeature.setProviderAndWait('unleash-unit', provider);
    const client = OpenFeature.getClient('unleash-unit');
    expect(await client.getStringDetails('all-canary', 'none', { targetingKey: 'u1' })).toMatchObject({
      value: 'v2',
      variant: 'canary',
      reason: 'SPLIT',
      flagMetadata: { cohort: 'canary', release: 'v2', rolloutId: 'r-1' },
    });
    expect(await client.getStringDetails('all-canary', 'none', {})).toMatchObject({
      value: 'v1',
      variant: 'stable',
      reason: 'DEFAULT',
    });
    expect(await client.getStringDetails('off', 'none', { targetingKey: 'u1' })).toMatchObject({
      value: 'v1',
      variant: 'stable',
      reason: 'DISABLED',
    });
    expect(await client.getStringDetails('missing', 'fallback', { targetingKey: 'u1' })).toMatchObject({
      value: 'fallback',
      errorCode: 'FLAG_NOT_FOUND',
    });
    expect(await client.getBooleanDetails('all-canary', false, { targetingKey: 'u1' })).toMatchObject({
      errorCode: 'TYPE_MISMATCH',
    });
  });

  it('throws a ConfigError naming the missing connection field', () => {
    expect(() => new UnleashProvider({}, {})).toThrow(/at url/);
    expect(() => new UnleashProvider({ url: 'http://x' }, {})).toThrow(/at apiToken/);
  });
});
