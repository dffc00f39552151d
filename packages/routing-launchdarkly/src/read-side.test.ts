/**
 * The read side with the real LaunchDarkly server SDK and its OpenFeature provider, fed by
 * the SDK's own TestData source (no network): variation indexes become cohorts, values
 * become release ids, and the split follows the rollout weights.
 */
import { TestData } from '@launchdarkly/node-server-sdk/integrations';
import { LaunchDarklyProvider } from '@launchdarkly/openfeature-node-server';
import { ErrorCode, OpenFeature } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaunchDarklyReleaseProvider, launchDarklyAssignment, releaseResolution } from './read-side.js';

const FLAG = 'agent-release';
const USERS = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

function releaseFlag(weights: readonly [number, number, number], version = 1): Record<string, unknown> {
  return {
    key: FLAG,
    version,
    on: true,
    salt: 'salt',
    variations: [
      { cohort: 'canary', release: 'v2', rolloutId: 'r1' },
      { cohort: 'control', release: 'v1', rolloutId: 'r1' },
      { cohort: 'stable', release: 'v1', rolloutId: 'r1' },
    ],
    offVariation: 2,
    fallthrough: { rollout: { variations: weights.map((weight, variation) => ({ variation, weight })) } },
    targets: [],
    rules: [],
    prerequisites: [],
  };
}

const td = new TestData();
let inner: LaunchDarklyProvider;

beforeAll(async () => {
  await td.usePreconfiguredFlag(releaseFlag([10_000, 10_000, 80_000]));
  td.update(td.flag('greeting').variations('hello', 'bonjour').fallthroughVariation(1).on(true));
  td.update(td.flag('settings').variations({ a: 1 }).fallthroughVariation(0).on(true));
  inner = new LaunchDarklyProvider('sdk-test', {
    updateProcessor: td.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: silent,
  });
  await OpenFeature.setProviderAndWait('ld-read-side', new LaunchDarklyReleaseProvider(inner));
});

afterAll(() => OpenFeature.clearProviders());

describe('LaunchDarklyReleaseProvider over the real LaunchDarkly provider', () => {
  it('answers with the release as value and the cohort as variant, in the rollout proportions', async () => {
    const client = OpenFeature.getClient('ld-read-side');
    const counts = { canary: 0, control: 0, stable: 0 };
    for (const user of USERS) {
      const details = await client.getStringDetails(FLAG, 'fallback', { targetingKey: user });
      expect(details.errorCode).toBeUndefined();
      const cohort = details.variant as keyof typeof counts;
      counts[cohort]++;
      expect(details.value).toBe(cohort === 'canary' ? 'v2' : 'v1');
      expect(details.reason).toBe('FALLTHROUGH');
      expect(details.flagMetadata).toMatchObject({ cohort, rolloutId: 'r1', release: details.value });
      expect(details.flagMetadata['variationIndex']).toBe(['canary', 'control', 'stable'].indexOf(cohort));
    }
    // 10% / 10% / 80% of 2000, within sampling noise.
    expect(counts.canary).toBeGreaterThan(150);
    expect(counts.canary).toBeLessThan(250);
    expect(counts.control).toBeGreaterThan(150);
    expect(counts.control).toBeLessThan(250);
  });

  it('routes everyone to stable as soon as the rollout weights change', async () => {
    const client = OpenFeature.getClient('ld-read-side');
    await td.usePreconfiguredFlag(releaseFlag([0, 0, 100_000], 2));
    for (const user of USERS.slice(0, 300)) {
      expect(await client.getStringDetails(FLAG, 'fallback', { targetingKey: user })).toMatchObject({
        value: 'v1',
        variant: 'stable',
      });
    }
    await td.usePreconfiguredFlag(releaseFlag([10_000, 10_000, 80_000], 3));
  });

  it('passes plain string flags and other types through to LaunchDarkly', async () => {
    const client = OpenFeature.getClient('ld-read-side');
    expect(await client.getStringDetails('greeting', 'x', { targetingKey: 'u' })).toMatchObject({
      value: 'bonjour',
      variant: '1',
    });
    expect(await client.getObjectValue('settings', {}, { targetingKey: 'u' })).toEqual({ a: 1 });
  });

  it('only maps the listed flags when releaseFlagKeys is set', async () => {
    const only = new LaunchDarklyReleaseProvider(inner, { releaseFlagKeys: ['other'] });
    const details = await only.resolveStringEvaluation(FLAG, 'fallback', { targetingKey: 'u' }, silent);
    // Passed straight through: LaunchDarkly's own provider refuses a JSON flag as a string.
    expect(details).toMatchObject({ value: 'fallback', errorCode: ErrorCode.TYPE_MISMATCH });
  });

  it('returns the default with an error code for a missing flag (never throws)', async () => {
    const client = OpenFeature.getClient('ld-read-side');
    const details = await client.getStringDetails('missing', 'fallback', { targetingKey: 'u' });
    expect(details).toMatchObject({ value: 'fallback', errorCode: ErrorCode.FLAG_NOT_FOUND });
  });
});

describe('releaseResolution / launchDarklyAssignment', () => {
  it('map an object evaluation to the release contract', () => {
    const details = {
      value: { cohort: 'control', release: 'v1', rolloutId: 'r9' },
      variant: '1',
      reason: 'FALLTHROUGH',
    };
    expect(releaseResolution(details, 'd')).toEqual({
      value: 'v1',
      variant: 'control',
      reason: 'FALLTHROUGH',
      flagMetadata: { cohort: 'control', release: 'v1', rolloutId: 'r9', variationIndex: 1 },
    });
    expect(launchDarklyAssignment(FLAG, details, { defaultRelease: 'd' })).toEqual({
      flagKey: FLAG,
      release: 'v1',
      cohort: 'control',
      rolloutId: 'r9',
    });
  });

  it('turn a value that is not a release variation into the default, in cohort stable', () => {
    const details = { value: { colour: 'red' }, variant: '0' };
    expect(releaseResolution(details, 'd')).toMatchObject({ value: 'd', errorCode: ErrorCode.PARSE_ERROR });
    expect(launchDarklyAssignment(FLAG, details, { defaultRelease: 'd', targetingKey: 'u1' })).toEqual({
      flagKey: FLAG,
      release: 'd',
      cohort: 'stable',
      subject: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });
});
