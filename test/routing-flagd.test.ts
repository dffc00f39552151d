/**
 * The flagd adapter end to end: the controller's adapter writes a real flag file, the
 * real `@openfeature/flagd-provider` (in-process, file mode) reads it through the real
 * OpenFeature SDK, and `resolveRelease` turns the answer into a ReleaseAssignment.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cohort, ReleaseAssignment, RoutingSplit } from '@agent-canary/conventions';
import { resolveRelease } from '@agent-canary/instrumentation';
import { bucketFor, cohortFor, EmbeddedProvider, EmbeddedRoutingAdapter } from '@agent-canary/routing';
import { createFlagdAdapter } from '@agent-canary/routing-flagd';
import { FlagdProvider } from '@openfeature/flagd-provider';
import { type Client, OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FLAG = 'support-agent.release';
const USERS = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
const SPLIT: RoutingSplit = {
  flagKey: FLAG,
  rolloutId: 'rollout-7',
  canaryRelease: 'prompt-v2',
  stableRelease: 'prompt-v1',
  canaryBasisPoints: 2000,
  controlBasisPoints: 2000,
};

let dir: string;
let path: string;
let provider: FlagdProvider;
let flagd: Client;

async function assignments(client: Client): Promise<ReleaseAssignment[]> {
  return Promise.all(USERS.map((user) => resolveRelease(client, FLAG, user, { defaultRelease: 'fallback' })));
}

function counts(list: readonly ReleaseAssignment[]): Record<Cohort, number> {
  const result: Record<Cohort, number> = { stable: 0, canary: 0, control: 0 };
  for (const assignment of list) result[assignment.cohort]++;
  return result;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'routing-flagd-e2e-'));
  path = join(dir, 'flags.json');
  expect((await createFlagdAdapter({ path }).apply(SPLIT)).acknowledged).toBe(true);
  provider = new FlagdProvider({ resolverType: 'in-process', offlineFlagSourcePath: path });
  await OpenFeature.setProviderAndWait('flagd-e2e', provider);
  flagd = OpenFeature.getClient('flagd-e2e');
});

afterAll(async () => {
  await OpenFeature.clearProviders();
  rmSync(dir, { recursive: true, force: true });
});

describe('flagd adapter with the real flagd provider', () => {
  it('assigns every user the cohort of our bucketing and the release of that cohort', async () => {
    const list = await assignments(flagd);
    USERS.forEach((user, i) => {
      const expected = cohortFor(bucketFor(FLAG, user), SPLIT);
      expect(list[i]).toMatchObject({
        flagKey: FLAG,
        cohort: expected,
        release: expected === 'canary' ? 'prompt-v2' : 'prompt-v1',
        rolloutId: 'rollout-7',
      });
    });
    // 20% / 20% / 60% of 2000 users, within sampling noise.
    const seen = counts(list);
    expect(seen.canary).toBeGreaterThan(340);
    expect(seen.canary).toBeLessThan(460);
    expect(seen.control).toBeGreaterThan(340);
    expect(seen.control).toBeLessThan(460);
  });

  it('keeps every user in the same cohort as the embedded provider (moving from embedded to flagd)', async () => {
    const embeddedRouting = new EmbeddedRoutingAdapter();
    await embeddedRouting.apply(SPLIT);
    await OpenFeature.setProviderAndWait('embedded-e2e', new EmbeddedProvider({ adapter: embeddedRouting }));
    const embedded = await assignments(OpenFeature.getClient('embedded-e2e'));
    const fromFlagd = await assignments(flagd);
    expect(fromFlagd.map((a) => a.cohort)).toEqual(embedded.map((a) => a.cohort));
    expect(fromFlagd.map((a) => a.release)).toEqual(embedded.map((a) => a.release));
  });

  it('rolls back: after the adapter writes 0% the provider routes everyone to stable', async () => {
    const changed = new Promise<number>((resolve) => {
      provider.events.addHandler(ProviderEvents.ConfigurationChanged, () => resolve(performance.now()));
    });
    const decidedAt = performance.now();
    const result = await createFlagdAdapter({ path }).apply({ ...SPLIT, canaryBasisPoints: 0, controlBasisPoints: 0 });
    expect(result).toMatchObject({ acknowledged: true, version: 2 });
    // flagd's file mode polls with fs.watchFile (about every 5 s): this is the one wait of the suite.
    const seenAt = await changed;
    expect(seenAt - decidedAt).toBeLessThan(12_000);
    const after = counts(await assignments(flagd));
    expect(after).toEqual({ stable: USERS.length, canary: 0, control: 0 });
    const one = await resolveRelease(flagd, FLAG, 'user-1');
    expect(one).toMatchObject({ release: 'prompt-v1', cohort: 'stable', rolloutId: 'rollout-7' });
  }, 20_000);
});
