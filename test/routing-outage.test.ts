/**
 * A rollback decided while the flag system cannot be written, for every adapter that runs
 * in this process: the embedded routing file and the flagd flag file (replaced by a
 * directory: what works as root, where permissions do not bind — the permission case runs
 * as another user in rollback-outage-flagd.test.ts), LaunchDarkly's REST API and
 * Langfuse's prompt API (local servers that follow their documented contracts, since the
 * hosted services cannot be reached here: 503 for "down", 403 for a token that lost its
 * write permission). The canary turns bad during the outage; the controller is restarted
 * during it; the rollback must land at the first retry after the flag system is back,
 * with an alert while it failed and a resolving notification after.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, type RolloutOptions, RolloutStore } from '@agent-canary/controller';
import type { RoutingAdapter } from '@agent-canary/conventions';
import { EmbeddedRoutingAdapter } from '@agent-canary/routing';
import { createFlagdAdapter } from '@agent-canary/routing-flagd';
import { createLangfuseLabelAdapter } from '@agent-canary/routing-langfuse';
import { createLaunchDarklyAdapter, splitFromRestFlag } from '@agent-canary/routing-launchdarkly';
import { LangfuseClient } from '@langfuse/client';
import { afterAll, describe, expect, it } from 'vitest';
import { startLangfuseContractServer } from '../packages/routing-langfuse/src/testing-fixtures/langfuse-server.js';
import {
  FakeLaunchDarkly,
  releaseFlagFixture,
} from '../packages/routing-launchdarkly/src/testing-fixtures/fake-launchdarkly.js';
import { ManualScheduler, RecordingNotifier, recordingAdapter, SwitchGate } from './helpers/outage.js';

const FLAG = 'support-agent.release';
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-canary-outage-'));
  dirs.push(dir);
  return dir;
}

interface Outage {
  /** The adapter under test (one instance across the controller restart, as a process would build again). */
  readonly routing: RoutingAdapter;
  readonly canaryRelease: string;
  readonly stableRelease: string;
  /** Canary basis points the flag system serves now, read past the adapter; undefined when it cannot say. */
  routedCanary(): Promise<number | undefined>;
  /** What `routedCanary` shows during the outage. @default 2000 (the rollback has not reached users) */
  readonly routedDuringOutage?: number;
  breakIt(): void;
  /** Changes how it is broken half-way (e.g. down, then a token without permission). */
  breakOtherwise?(): void;
  fixIt(): void;
}

/**
 * Starts a rollout at 20%, breaks the flag system, turns the canary bad, fails a few retries,
 * restarts the controller, fails again, fixes the flag system and fires the next retry.
 */
async function rollbackThroughOutage(outage: Outage) {
  const storePath = join(tempDir(), 'state.db');
  const scheduler = new ManualScheduler();
  const gate = new SwitchGate();
  const notifier = new RecordingNotifier();
  const routing = recordingAdapter(outage.routing);
  const controllerOn = (store: RolloutStore) =>
    new RolloutController({
      store,
      routing,
      gate,
      notifiers: [notifier],
      scheduler,
      env: {},
      routingRetry: { initialDelayMillis: 1_000, maxDelayMillis: 10_000, random: () => 0.5 },
    });
  const options: RolloutOptions = {
    id: 'r-outage',
    flagKey: FLAG,
    canaryRelease: outage.canaryRelease,
    stableRelease: outage.stableRelease,
    steps: [{ percent: 20, minDurationMillis: 3_600_000, minCanaryRequests: 10 }, { percent: 100 }],
  };
  let store = new RolloutStore({ path: storePath });
  let controller = controllerOn(store);
  const fire = () => scheduler.fire(() => controller.idle());

  await controller.start(options);
  controller.run();
  expect(await outage.routedCanary()).toBe(2_000);
  await fire(); // one healthy tick
  expect(controller.status()).toMatchObject({ phase: 'canary', routingPending: false });

  outage.breakIt();
  gate.bad = true;
  await fire(); // the tick that decides the rollback
  const decided = controller.status();
  expect(decided).toMatchObject({
    phase: 'rolled_back',
    canaryBasisPoints: 0,
    routingPending: true,
    alerts: ['routing_pending'],
    routing: { pending: true, failedAttempts: 1 },
  });
  expect(notifier.routingAlerts()).toEqual([['alert', 'error']]);
  // The rollback notification says what users get while the write is pending.
  const transition = notifier.sent.find((n) => n.kind === 'transition' && n.to === 'rolled_back');
  expect(transition).toMatchObject({ canaryBasisPoints: 2_000, pendingSplit: { canaryBasisPoints: 0 } });

  for (let retry = 0; retry < 3; retry++) await fire();
  outage.breakOtherwise?.();
  for (let retry = 0; retry < 2; retry++) await fire();
  expect(controller.status().routing.failedAttempts).toBe(6);
  const stillRouted = await outage.routedCanary();
  if (stillRouted !== undefined) expect(stillRouted).toBe(outage.routedDuringOutage ?? 2_000);

  // Restarted during the outage: the new controller takes the pending rollback first.
  controller.stop();
  store.close();
  store = new RolloutStore({ path: storePath });
  controller = controllerOn(store);
  expect(await controller.restore()).toMatchObject({ rolloutId: 'r-outage', routingPending: true });
  controller.run();
  await fire();
  expect(controller.status().routing.failedAttempts).toBe(8);

  outage.fixIt();
  await fire(); // the next retry after the flag system is back
  expect(await outage.routedCanary()).toBe(0);
  const landed = controller.status();
  expect(landed).toMatchObject({ phase: 'rolled_back', routingPending: false, alerts: [] });
  expect(notifier.routingAlerts()).toEqual([
    ['alert', 'error'],
    ['alert_cleared', 'info'],
  ]);
  const resolved = notifier.sent.at(-1);
  expect(resolved?.routingPendingMillis).toBe(
    (landed.routingSeenAtMillis ?? 0) - (decided.routing.pendingSinceMillis ?? 0),
  );
  expect(resolved).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0 });
  // Nothing was widened or promoted: the controller only ever asked for 20% and then 0%.
  expect([...new Set(routing.requested.map((split) => split.canaryBasisPoints))]).toEqual([2_000, 0]);
  expect(store.transitions('r-outage').map((t) => t.to)).toEqual(['canary@20%', 'rolled_back']);
  // Retries back off (1, 2, 4, 8 s, ... x 3/4 with this jitter) and stop once it landed.
  expect(scheduler.delays.filter((delay) => delay !== 5_000).slice(0, 4)).toEqual([750, 1_500, 3_000, 6_000]);
  expect(scheduler.pending).toBe(0);
  controller.stop();
  store.close();
}

describe('a rollback while the flag system is down lands once it is back', () => {
  it('embedded routing file (the file replaced by a directory)', async () => {
    const path = join(tempDir(), 'routing.json');
    const routing = new EmbeddedRoutingAdapter({ path, retry: { maxAttempts: 2, initialDelayMillis: 1 } });
    await rollbackThroughOutage({
      routing,
      canaryRelease: 'v2',
      stableRelease: 'v1',
      routedCanary: async () => (await routing.read(FLAG).catch(() => undefined))?.canaryBasisPoints,
      breakIt: () => {
        rmSync(path);
        mkdirSync(path);
      },
      fixIt: () => rmSync(path, { recursive: true }),
    });
  });

  it('flagd flag file (the file replaced by a directory)', async () => {
    const path = join(tempDir(), 'flags.json');
    const routing = createFlagdAdapter({ path, retry: { maxAttempts: 2, initialDelayMillis: 1 } });
    await rollbackThroughOutage({
      routing,
      canaryRelease: 'prompt-v2',
      stableRelease: 'prompt-v1',
      routedCanary: async () => (await routing.read(FLAG).catch(() => undefined))?.canaryBasisPoints,
      breakIt: () => {
        rmSync(path);
        mkdirSync(path);
      },
      fixIt: () => rmSync(path, { recursive: true }),
    });
  });

  it('LaunchDarkly REST API (503, then 403 from a token that lost its write permission)', async () => {
    const server = new FakeLaunchDarkly({
      accessToken: 'api-token',
      projectKey: 'default',
      environmentKey: 'production',
      flags: [releaseFlagFixture(FLAG, { canaryRelease: 'prompt-v2', stableRelease: 'prompt-v1' }, 'production')],
    });
    await server.start();
    try {
      const routing = createLaunchDarklyAdapter({
        accessToken: 'api-token',
        baseUrl: server.url,
        retry: { maxAttempts: 2, initialDelayMillis: 1 },
      });
      await rollbackThroughOutage({
        routing,
        canaryRelease: 'prompt-v2',
        stableRelease: 'prompt-v1',
        // What LaunchDarkly serves, from its own store (the API answers errors during the outage).
        routedCanary: async () => {
          const flag = server.flag(FLAG);
          return flag === undefined ? undefined : splitFromRestFlag(flag, 'production')?.canaryBasisPoints;
        },
        breakIt: () => server.setOutage(503),
        breakOtherwise: () => server.setOutage(403),
        fixIt: () => server.setOutage(undefined),
      });
    } finally {
      await server.close();
    }
  });

  it('Langfuse prompt labels (503): the split lands through the inner adapter, the labels once Langfuse is back', async () => {
    const server = await startLangfuseContractServer();
    try {
      server.addVersion('support-agent', 'stable prompt', ['production']);
      server.addVersion('support-agent', 'canary prompt');
      const client = new LangfuseClient({
        publicKey: server.publicKey,
        secretKey: server.secretKey,
        baseUrl: server.baseUrl,
      });
      const inner = new EmbeddedRoutingAdapter();
      const routing = createLangfuseLabelAdapter({
        client,
        promptName: 'support-agent',
        inner,
        retry: { maxAttempts: 2, initialDelayMillis: 1 },
      });
      const labelsSeen: Record<string, number>[] = [];
      await rollbackThroughOutage({
        routing,
        canaryRelease: '2',
        stableRelease: '1',
        // Users in the canary cohort fetch the canary label: the inner split says how many they are.
        routedCanary: async () => {
          labelsSeen.push(server.labels('support-agent'));
          return (await inner.read(FLAG))?.canaryBasisPoints;
        },
        // A rollback shrinks the split first: it reaches users at once; the label waits for Langfuse.
        routedDuringOutage: 0,
        breakIt: () => server.failNext(Number.MAX_SAFE_INTEGER, 503),
        fixIt: () => server.failNext(0, 503),
      });
      expect(labelsSeen.map(({ canary, production }) => [canary, production])).toEqual([
        [2, 1],
        [2, 1],
        [1, 1],
      ]);
    } finally {
      await server.close();
    }
  });
});
