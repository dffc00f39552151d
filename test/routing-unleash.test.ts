/**
 * End to end against a real unleash-server 7.5.1 + PostgreSQL 15 on loopback: the
 * adapter writes through the Admin API, the app reads through the real unleash-client,
 * our OpenFeature provider and `resolveRelease`.
 */

import { RolloutController, RolloutStore } from '@agent-canary/controller';
import { ConfigError, ROUTING_ERROR_CODE, type RoutingSplit, sameSplit } from '@agent-canary/conventions';
import type { GateEvaluation, GateEvaluator } from '@agent-canary/gate';
import { resolveRelease } from '@agent-canary/instrumentation';
// Relative: the root package.json does not list the provider packages (yet).
import { createUnleashAdapter, UnleashProvider } from '@agent-canary/routing-unleash';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUnleash, type UnleashHandle, unleashSkipReason } from './helpers/unleash.js';

const skip = unleashSkipReason();
const FLAG = 'support-agent.release';
const USERS = Array.from({ length: 2_000 }, (_, i) => `user-${i}`);

function split(canaryBasisPoints: number, controlBasisPoints: number, rolloutId = 'r-1'): RoutingSplit {
  return { flagKey: FLAG, rolloutId, canaryRelease: 'v2', stableRelease: 'v1', canaryBasisPoints, controlBasisPoints };
}

describe.skipIf(skip !== undefined)(`routing through Unleash${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let unleash: UnleashHandle;
  let admin: (method: string, path: string, body?: unknown) => Promise<Response>;

  beforeAll(async () => {
    unleash = await startUnleash();
    admin = (method, path, body) =>
      fetch(`${unleash.url}/api/admin/projects/default/features${path}`, {
        method,
        headers: { authorization: unleash.adminToken, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    // The operator creates the flag once; the controller only writes its strategy.
    const created = await admin('POST', '', { name: FLAG, type: 'release' });
    expect(created.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await OpenFeature.close();
    await unleash?.stop();
  });

  const adapter = () =>
    createUnleashAdapter({
      url: unleash.url,
      adminToken: unleash.adminToken,
      environment: unleash.environment,
      retry: { maxAttempts: 3, initialDelayMillis: 10 },
    });

  it('names what is wrong: bad credentials, missing flag, unrepresentable split', async () => {
    const wrongToken = createUnleashAdapter({
      url: unleash.url,
      adminToken: unleash.clientToken,
      environment: unleash.environment,
    });
    await expect(wrongToken.apply(split(500, 500))).rejects.toMatchObject({ code: ROUTING_ERROR_CODE.unauthorized });
    await expect(adapter().apply({ ...split(500, 500), flagKey: 'no.such.flag' })).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagNotFound,
      message: expect.stringContaining('no.such.flag'),
    });
    const wrongEnv = createUnleashAdapter({ url: unleash.url, adminToken: unleash.adminToken, environment: 'staging' });
    await expect(wrongEnv.read(FLAG)).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagNotFound,
      message: expect.stringContaining('"staging"'),
    });
    await expect(adapter().apply(split(250, 25))).rejects.toBeInstanceOf(ConfigError);
    expect(await adapter().read(FLAG)).toBeUndefined();
  });

  it('rolls out, routes 2,000 users through unleash-client and OpenFeature, detects a hand edit, and rolls back', async () => {
    const routing = adapter();
    const applied = await routing.apply(split(500, 500));
    expect(applied).toMatchObject({ acknowledged: true, attempts: 1 });
    expect(await routing.read(FLAG)).toEqual(split(500, 500));
    // Idempotent: a second apply finds the strategy in place.
    expect(await routing.apply(split(500, 500))).toMatchObject({ acknowledged: true, attempts: 1 });
    const strategies = (await (
      await admin('GET', `/${FLAG}/environments/${unleash.environment}/strategies`)
    ).json()) as unknown[];
    expect(strategies).toHaveLength(1);

    const provider = new UnleashProvider({
      url: unleash.url,
      apiToken: unleash.clientToken,
      refreshIntervalMillis: 100,
      metrics: false,
    });
    await OpenFeature.setProviderAndWait('unleash-e2e', provider);
    const client = OpenFeature.getClient('unleash-e2e');
    const evaluateAll = () =>
      Promise.all(USERS.map((user) => resolveRelease(client, FLAG, user, { recordEvaluation: false })));

    const assignments = await evaluateAll();
    const count = (cohort: string) => assignments.filter((a) => a.cohort === cohort).length;
    // 5% each of 2,000: mean 100, sd about 9.7; the band is about ±4 sd.
    expect(count('canary')).toBeGreaterThan(60);
    expect(count('canary')).toBeLessThan(140);
    expect(count('control')).toBeGreaterThan(60);
    expect(count('control')).toBeLessThan(140);
    for (const a of assignments) {
      expect(a.release).toBe(a.cohort === 'canary' ? 'v2' : 'v1');
      expect(a.rolloutId).toBe('r-1');
    }

    // Widening keeps every canary user in the canary (rollout hash and variant hash are both sticky).
    expect(await routing.apply(split(2_000, 2_000))).toMatchObject({ acknowledged: true });
    await clientSees(provider, '40');
    const wide = await evaluateAll();
    assignments.forEach((a, i) => {
      if (a.cohort === 'canary') expect(wide[i]?.cohort).toBe('canary');
    });
    expect(wide.filter((a) => a.cohort === 'canary').length).toBeGreaterThan(count('canary') * 2);

    // Someone edits the rollout by hand: read shows it, so the controller's sameSplit check fails.
    const [own] = (await (await admin('GET', `/${FLAG}/environments/${unleash.environment}/strategies`)).json()) as {
      id: string;
    }[];
    const patched = await admin('PATCH', `/${FLAG}/environments/${unleash.environment}/strategies/${own?.id}`, [
      { op: 'replace', path: '/parameters/rollout', value: '60' },
    ]);
    expect(patched.status).toBe(200);
    const seen = await routing.read(FLAG);
    expect(seen).toMatchObject({ canaryBasisPoints: 3_000, controlBasisPoints: 3_000 });
    expect(sameSplit(seen, split(2_000, 2_000))).toBe(false);

    // Rollback: one write; once the client has refreshed, every user gets stable.
    const rollback = await routing.apply(split(0, 0));
    expect(rollback.acknowledged).toBe(true);
    await clientSees(provider, '0');
    const after = await evaluateAll();
    expect(after.every((a) => a.cohort === 'stable' && a.release === 'v1')).toBe(true);
  });

  it('drives a RolloutController: a hand edit in Unleash makes it hold and alert instead of overwriting', async () => {
    const flag = 'driven.release';
    expect((await admin('POST', '', { name: flag, type: 'release' })).status).toBe(201);
    let now = 1_700_000_000_000;
    const passing: GateEvaluator = {
      async evaluate(context): Promise<GateEvaluation> {
        const result = {
          verdict: 'pass' as const,
          sequentialFailure: false,
          thresholdFailure: false,
          sampleRatioMismatch: false,
          requests: { stable: 5_000, canary: 1_000, control: 1_000 },
          subjects: { stable: 500, canary: 100, control: 100 },
          checks: [],
          reason: 'scripted pass',
          evaluatedAtMillis: context.nowMillis,
        };
        return { result, state: null };
      },
    };
    const store = new RolloutStore();
    const controller = new RolloutController({ store, routing: adapter(), gate: passing, clock: () => now, env: {} });
    await controller.start({
      id: 'r-driven',
      flagKey: flag,
      canaryRelease: 'v2',
      stableRelease: 'v1',
      steps: [{ percent: 5, minDurationMillis: 60_000, minCanaryRequests: 10 }, { percent: 50 }, { percent: 100 }],
    });
    expect(await adapter().read(flag)).toMatchObject({ canaryBasisPoints: 500, controlBasisPoints: 500 });
    const [own] = (await (await admin('GET', `/${flag}/environments/${unleash.environment}/strategies`)).json()) as {
      id: string;
    }[];
    await admin('PATCH', `/${flag}/environments/${unleash.environment}/strategies/${own?.id}`, [
      { op: 'replace', path: '/parameters/rollout', value: '30' },
    ]);
    now += 120_000;
    await controller.tick();
    expect(controller.status()).toMatchObject({ phase: 'paused', alerts: ['routing_conflict'] });
    expect(await adapter().read(flag)).toMatchObject({ canaryBasisPoints: 1_500, controlBasisPoints: 1_500 });
    store.close();
  });

  it('reports a strategy it did not write as flagShape, and never overwrites it', async () => {
    const routing = adapter();
    const added = await admin('POST', `/${FLAG}/environments/${unleash.environment}/strategies`, {
      name: 'default',
      parameters: {},
    });
    expect(added.status).toBe(200);
    await expect(routing.read(FLAG)).rejects.toMatchObject({ code: ROUTING_ERROR_CODE.flagShape });
    await expect(routing.apply(split(500, 500))).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagShape,
      message: expect.stringContaining('did not write'),
    });
  });
});

/** Resolves once the provider's client holds the rollout percentage (checked on each ConfigurationChanged). */
function clientSees(provider: UnleashProvider, rollout: string): Promise<void> {
  const current = () =>
    (
      provider.client.getFeatureToggleDefinition(FLAG)?.strategies?.[0]?.parameters as
        | Record<string, string>
        | undefined
    )?.['rollout'];
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      provider.events.removeHandler(ProviderEvents.ConfigurationChanged, check);
      resolve();
    };
    const check = () => {
      if (current() === rollout) done();
    };
    const timer = setTimeout(() => reject(new Error(`client did not see rollout ${rollout} within 10 s`)), 10_000);
    provider.events.addHandler(ProviderEvents.ConfigurationChanged, check);
    check();
  });
}
