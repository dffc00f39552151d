/**
 * Fleet mode without a metrics system (issue 8): three agent processes send every span
 * with the standard OTLP/HTTP exporter to `agent-canary serve` (`startServer`), whose
 * receiver feeds one behaviour processor; the controller reads it in-process and writes
 * routing to the flagd file the replicas read with the real flagd provider. The rollout
 * is watched through the server's HTTP API. A regression is rolled back on every replica;
 * a healthy canary is promoted.
 */
import { inProcessSource, RolloutStore } from '@agent-canary/controller';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import type { FlagdRoutingAdapter } from '@agent-canary/routing-flagd';
import { type AgentCanaryServer, startServer } from '@agent-canary/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFlagFile,
  FLEET_BAD,
  FLEET_GOOD,
  fleetController,
  type Replica,
  removeDir,
  replicaConfig,
  runRollout,
  servedAfterChange,
  startReplica,
} from './helpers/fleet.js';

const REPLICAS = 3;
const TOKEN = 'fleet-serve-test-token-0123456789';

describe('fleet with agent-canary serve: 3 replicas export OTLP, flagd file', () => {
  let dir: string | undefined;
  let routing: FlagdRoutingAdapter;
  let replicas: Replica[] = [];
  let server: AgentCanaryServer;
  let store: RolloutStore;
  let controller: ReturnType<typeof fleetController>;

  const api = async (path: string) => {
    const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const flags = await createFlagFile();
    dir = flags.dir;
    routing = flags.routing;
    store = new RolloutStore({ path: `${dir}/controller.db` });
    const behavior = new BehaviorSpanProcessor({ bucketMillis: 1000 });
    controller = fleetController(store, routing, inProcessSource(behavior));
    server = await startServer({ port: 0, spanProcessors: [behavior], controller, store, apiToken: TOKEN, env: {} });
    replicas = await Promise.all(
      Array.from({ length: REPLICAS }, (_, index) =>
        startReplica(replicaConfig(index, flags.path, { mode: 'otlp', otlpUrl: `${server.url}/v1/traces` })),
      ),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    // Shuts the processor down and closes the store.
    await server?.shutdown();
    await removeDir(dir);
  });

  it('rolls back a regression seen through the receiver, and every replica then serves only stable', async () => {
    let midway: { status: number; body: Record<string, unknown> } | undefined;
    const { status } = await runRollout({
      id: 'fleet-serve-bad',
      canaryRelease: FLEET_BAD,
      store,
      routing,
      controller,
      timeoutMillis: 90_000,
      onStarted: () => void api('/v1/rollouts/fleet-serve-bad').then((answer) => (midway = answer)),
    });
    expect(status.phase).toBe('rolled_back');
    expect(midway).toMatchObject({ status: 200, body: { rolloutId: 'fleet-serve-bad', phase: 'canary' } });
    // The API reports the outcome and the evidence behind it.
    const final = await api('/v1/rollouts/fleet-serve-bad');
    expect(final.body).toMatchObject({ phase: 'rolled_back', canaryBasisPoints: 0, lastVerdict: 'fail' });
    const verdicts = (await api('/v1/rollouts/fleet-serve-bad/verdicts?limit=1')).body['verdicts'] as {
      verdict: string;
      result: { checks: { check: string; verdict: string }[]; requests: { canary: number } };
    }[];
    expect(verdicts[0]?.verdict).toBe('fail');
    expect(verdicts[0]?.result.requests.canary).toBeGreaterThan(0);
    expect(verdicts[0]?.result.checks.filter((c) => c.verdict === 'fail').map((c) => c.check)).toContain(
      'tool_success_rate',
    );
    const stats = server.receiverStats();
    expect(stats.acceptedSpans).toBeGreaterThan(1000);
    expect(stats.rejectedSpans).toBe(0);
    for (const replica of replicas) expect(replica.latest()?.byRelease[FLEET_BAD] ?? 0, replica.id).toBeGreaterThan(0);
    const after = await servedAfterChange(replicas, status.updatedAtMillis, 60, 45_000);
    for (const [id, cohorts] of Object.entries(after)) {
      expect(cohorts, id).toEqual({ stable: expect.any(Number), canary: 0, control: 0 });
    }
  }, 180_000);

  it('promotes a healthy canary, and every replica then serves it to everyone', async () => {
    const { status } = await runRollout({
      id: 'fleet-serve-good',
      canaryRelease: FLEET_GOOD,
      store,
      routing,
      controller,
      timeoutMillis: 120_000,
    });
    expect(status.phase).toBe('promoted');
    expect(store.transitions('fleet-serve-good').map((t) => t.to)).toEqual(['canary@20%', 'canary@50%', 'promoted']);
    const listed = (await api('/v1/rollouts')).body['rollouts'] as { rolloutId: string; phase: string }[];
    expect(listed.map((r) => [r.rolloutId, r.phase]).sort()).toEqual([
      ['fleet-serve-bad', 'rolled_back'],
      ['fleet-serve-good', 'promoted'],
    ]);
    const after = await servedAfterChange(replicas, status.updatedAtMillis, 60, 45_000);
    for (const [id, cohorts] of Object.entries(after)) {
      expect(cohorts, id).toEqual({ stable: 0, canary: expect.any(Number), control: 0 });
    }
  }, 180_000);
});
