/**
 * The LaunchDarkly adapter end to end, as far as it can run without LaunchDarkly: the
 * controller's adapter writes through a local server that checks the REST contract; each
 * accepted change is streamed (as LaunchDarkly would) into the real server SDK through its
 * TestData source; the agent app reads with the real LaunchDarkly OpenFeature provider,
 * wrapped by LaunchDarklyReleaseProvider, and `resolveRelease` gives the assignment.
 */
import type { Cohort, ReleaseAssignment, RoutingSplit } from '@agent-canary/conventions';
import { resolveRelease } from '@agent-canary/instrumentation';
import { bucketFor, cohortFor } from '@agent-canary/routing';
import { createLaunchDarklyAdapter, LaunchDarklyReleaseProvider } from '@agent-canary/routing-launchdarkly';
import { TestData } from '@launchdarkly/node-server-sdk/integrations';
import { LaunchDarklyProvider } from '@launchdarkly/openfeature-node-server';
import { type Client, OpenFeature } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FakeLaunchDarkly,
  releaseFlagFixture,
  sdkFlagOf,
} from '../packages/routing-launchdarkly/src/testing-fixtures/fake-launchdarkly.js';

const FLAG = 'support-agent.release';
const TOKEN = 'api-e2e-token';
const USERS = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
const SPLIT: RoutingSplit = {
  flagKey: FLAG,
  rolloutId: 'rollout-9',
  canaryRelease: 'prompt-v2',
  stableRelease: 'prompt-v1',
  canaryBasisPoints: 2000,
  controlBasisPoints: 2000,
};

const server = new FakeLaunchDarkly({
  accessToken: TOKEN,
  projectKey: 'default',
  environmentKey: 'production',
  flags: [releaseFlagFixture(FLAG, { canaryRelease: 'prompt-v0', stableRelease: 'prompt-v1' }, 'production')],
});
const td = new TestData();
let client: Client;
const routing = () =>
  createLaunchDarklyAdapter({ accessToken: TOKEN, baseUrl: server.url, retry: { sleep: async () => {} } });

function counts(list: readonly ReleaseAssignment[]): Record<Cohort, number> {
  const result: Record<Cohort, number> = { stable: 0, canary: 0, control: 0 };
  for (const assignment of list) result[assignment.cohort]++;
  return result;
}

const assignments = () =>
  Promise.all(USERS.map((user) => resolveRelease(client, FLAG, user, { defaultRelease: 'fallback' })));

beforeAll(async () => {
  await server.start();
  // LaunchDarkly streams every accepted change to connected SDKs; TestData plays that part.
  server.onChange((flag) => void td.usePreconfiguredFlag(sdkFlagOf(flag, 'production')));
  await td.usePreconfiguredFlag(
    sdkFlagOf(server.flag(FLAG) ?? releaseFlagFixture(FLAG, SPLIT, 'production'), 'production'),
  );
  const ld = new LaunchDarklyProvider('sdk-e2e', {
    updateProcessor: td.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  await OpenFeature.setProviderAndWait('ld-e2e', new LaunchDarklyReleaseProvider(ld));
  client = OpenFeature.getClient('ld-e2e');
});

afterAll(async () => {
  await OpenFeature.clearProviders();
  await server.close();
});

describe('LaunchDarkly adapter end to end (REST contract + real SDK read side)', () => {
  it('before the rollout everyone is on stable', async () => {
    expect(counts(await assignments())).toEqual({ stable: USERS.length, canary: 0, control: 0 });
  });

  it('a 20% / 20% rollout reaches resolveRelease with release, cohort and rollout id', async () => {
    expect((await routing().apply(SPLIT)).acknowledged).toBe(true);
    const list = await assignments();
    for (const assignment of list) {
      expect(assignment.release).toBe(assignment.cohort === 'canary' ? 'prompt-v2' : 'prompt-v1');
      expect(assignment.rolloutId).toBe('rollout-9');
    }
    const seen = counts(list);
    expect(seen.canary).toBeGreaterThan(340);
    expect(seen.canary).toBeLessThan(460);
    expect(seen.control).toBeGreaterThan(340);
    expect(seen.control).toBeLessThan(460);
    // LaunchDarkly buckets with SHA-1 and its salt, not our MurmurHash3: users are re-bucketed
    // when a team moves to LaunchDarkly from the embedded provider or flagd.
    const agreeing = USERS.filter((user, i) => cohortFor(bucketFor(FLAG, user), SPLIT) === list[i]?.cohort).length;
    expect(agreeing / USERS.length).toBeLessThan(0.8);
  });

  it('widening keeps every canary user in the canary', async () => {
    const before = await assignments();
    expect((await routing().apply({ ...SPLIT, canaryBasisPoints: 5000, controlBasisPoints: 5000 })).acknowledged).toBe(
      true,
    );
    const after = await assignments();
    before.forEach((assignment, i) => {
      if (assignment.cohort === 'canary') expect(after[i]?.cohort).toBe('canary');
    });
  });

  it('a rollback routes every user to stable at once', async () => {
    const result = await routing().apply({ ...SPLIT, canaryBasisPoints: 0, controlBasisPoints: 0 });
    expect(result.acknowledged).toBe(true);
    expect(counts(await assignments())).toEqual({ stable: USERS.length, canary: 0, control: 0 });
    expect(server.violations).toEqual([]);
  });
});
