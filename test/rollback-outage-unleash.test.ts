/**
 * A rollback while the real Unleash (7.5.1 on PostgreSQL 15, its own process) is down: the
 * rollout serves a 20% canary through the Admin API, Unleash stops answering, the canary
 * turns bad, the controller is restarted during the outage, and Unleash comes back on the
 * same port and database. The rollback must be pending with an alert in between, and show
 * canary 0 in Unleash within seconds of it answering again, with a resolving notification.
 * Real time: the services are real (the controller's retries are 100 ms .. 1 s here).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import { createUnleashAdapter } from '@agent-canary/routing-unleash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingNotifier, recordingAdapter, SwitchGate, waitFor } from './helpers/outage.js';
import { type RestartableUnleashHandle, startRestartableUnleash, unleashSkipReason } from './helpers/unleash.js';

const skip = unleashSkipReason();
const FLAG = 'support-agent.release';

describe.skipIf(skip !== undefined)(`a rollback while Unleash is down${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let unleash: RestartableUnleashHandle;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-canary-unleash-outage-'));
    unleash = await startRestartableUnleash();
    const created = await fetch(`${unleash.url}/api/admin/projects/default/features`, {
      method: 'POST',
      headers: { authorization: unleash.adminToken, 'content-type': 'application/json' },
      body: JSON.stringify({ name: FLAG, type: 'release' }),
    });
    expect(created.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await unleash?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lands canary 0 within seconds of Unleash answering again, across a controller restart', {
    timeout: 180_000,
  }, async () => {
    const adapter = () =>
      createUnleashAdapter({
        url: unleash.url,
        adminToken: unleash.adminToken,
        environment: unleash.environment,
        timeoutMillis: 2_000,
        retry: { maxAttempts: 2, initialDelayMillis: 20 },
      });
    const observer = adapter();
    const routing = recordingAdapter(adapter());
    const gate = new SwitchGate();
    const notifier = new RecordingNotifier();
    const storePath = join(dir, 'state.db');
    const controllerOn = (store: RolloutStore) =>
      new RolloutController({
        store,
        routing,
        gate,
        notifiers: [notifier],
        env: {},
        routingRetry: { initialDelayMillis: 100, maxDelayMillis: 1_000 },
      });
    let store = new RolloutStore({ path: storePath });
    let controller = controllerOn(store);
    try {
      await controller.start({
        id: 'r-unleash',
        flagKey: FLAG,
        canaryRelease: 'v2',
        stableRelease: 'v1',
        steps: [{ percent: 20, minDurationMillis: 3_600_000, minCanaryRequests: 10 }, { percent: 100 }],
        tickIntervalMillis: 200,
      });
      controller.run();
      expect(await observer.read(FLAG)).toMatchObject({ canaryBasisPoints: 2_000, controlBasisPoints: 2_000 });

      // Unleash goes away; the canary turns bad while it is gone.
      await unleash.stopServer();
      gate.bad = true;
      await waitFor('the routing_pending alert', () => (notifier.routingAlerts().length > 0 ? true : undefined));
      const pending = controller.status();
      expect(pending).toMatchObject({
        phase: 'rolled_back',
        canaryBasisPoints: 0,
        routingPending: true,
        alerts: ['routing_pending'],
        // Unleash cannot be read either: what it last acknowledged is what it serves.
        routing: { pending: true, routed: { canaryBasisPoints: 2_000, source: 'acknowledged' } },
      });
      expect(pending.routing.lastError).toContain('could not be reached');
      expect(notifier.routingAlerts()).toEqual([['alert', 'error']]);

      // The controller is restarted during the outage and takes the pending rollback first.
      controller.stop();
      await controller.idle();
      store.close();
      store = new RolloutStore({ path: storePath });
      controller = controllerOn(store);
      const restored = await controller.restore();
      expect(restored).toMatchObject({ rolloutId: 'r-unleash', phase: 'rolled_back', routingPending: true });
      const attemptsAtRestart = restored?.routing.failedAttempts ?? 0;
      controller.run();
      await waitFor('a retry after the restart', () =>
        controller.status().routing.failedAttempts > attemptsAtRestart + 1 ? true : undefined,
      );

      await unleash.startServer();
      const backAt = performance.now();
      await waitFor(
        'canary 0 in Unleash',
        async () => ((await observer.read(FLAG).catch(() => undefined))?.canaryBasisPoints === 0 ? true : undefined),
        20_000,
        20,
      );
      const recoveryMillis = performance.now() - backAt;
      expect(recoveryMillis).toBeLessThan(5_000);
      await waitFor('the acknowledgement', () => (controller.status().routingPending ? undefined : true));
      expect(controller.status()).toMatchObject({ phase: 'rolled_back', alerts: [] });
      expect(notifier.routingAlerts()).toEqual([
        ['alert', 'error'],
        ['alert_cleared', 'info'],
      ]);
      expect(notifier.sent.at(-1)).toMatchObject({ canaryBasisPoints: 0, routingPendingMillis: expect.any(Number) });
      // Never widened, never promoted.
      expect([...new Set(routing.requested.map((split) => split.canaryBasisPoints))]).toEqual([2_000, 0]);
      expect(store.transitions('r-unleash').map((t) => t.to)).toEqual(['canary@20%', 'rolled_back']);
      process.stdout.write(`unleash: canary 0 ${Math.round(recoveryMillis)} ms after /health answered again\n`);
    } finally {
      controller.stop();
      await controller.idle();
      store.close();
    }
  });
});
