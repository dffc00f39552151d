/**
 * Fleet mode with Prometheus (issue 8): three agent processes, each with the tagging and
 * behaviour processors and its own `/metrics` endpoint; a real Prometheus scraping them
 * every second; one controller in this process reading through `prometheusSource` and
 * writing routing to the flagd flag file the three replicas read with the real flagd
 * provider. A regression is rolled back and every replica stops serving the canary; a
 * healthy canary is promoted and every replica serves it.
 */
import { prometheusSource, RolloutStore } from '@agent-canary/controller';
import type { FlagdRoutingAdapter } from '@agent-canary/routing-flagd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFlagFile,
  FLEET_BAD,
  FLEET_GOOD,
  type Replica,
  removeDir,
  replicaConfig,
  runRollout,
  servedAfterChange,
  startReplica,
  totalByCohort,
} from './helpers/fleet.js';
import { freePort, type PrometheusHandle, prometheusUnavailableReason, startPrometheus } from './helpers/prometheus.js';

const unavailable = prometheusUnavailableReason();
// Locally a missing binary skips with the reason in the title; CI must have it.
const skip = unavailable !== undefined && !process.env['CI'];
const title = skip
  ? `fleet with Prometheus (skipped: ${unavailable})`
  : 'fleet with Prometheus: 3 replicas, flagd file';
const REPLICAS = 3;

describe.skipIf(skip)(title, () => {
  let dir: string | undefined;
  let routing: FlagdRoutingAdapter;
  let replicas: Replica[] = [];
  let prometheus: PrometheusHandle | undefined;
  let store: RolloutStore;

  beforeAll(async () => {
    if (unavailable !== undefined) throw new Error(`CI requires Prometheus: ${unavailable}`);
    const flags = await createFlagFile();
    dir = flags.dir;
    routing = flags.routing;
    store = new RolloutStore({ path: `${dir}/controller.db` });
    const ports = await Promise.all(Array.from({ length: REPLICAS }, () => freePort()));
    replicas = await Promise.all(
      ports.map((metricsPort, index) =>
        startReplica(replicaConfig(index, flags.path, { mode: 'prometheus', metricsPort })),
      ),
    );
    prometheus = await startPrometheus({ targets: ports.map((port) => `127.0.0.1:${port}`), job: 'agents' });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await prometheus?.stop();
    store?.close();
    await removeDir(dir);
  });

  it('rolls back a regression, and every replica then serves only stable', async () => {
    const source = prometheusSource({ url: (prometheus as PrometheusHandle).url, selector: 'job="agents"' });
    const { status } = await runRollout({
      id: 'fleet-prom-bad',
      canaryRelease: FLEET_BAD,
      store,
      routing,
      source,
      timeoutMillis: 90_000,
    });
    expect(status.phase).toBe('rolled_back');
    expect(status.canaryBasisPoints).toBe(0);
    // The gate saw the three replicas' canary traffic through Prometheus and named the failure.
    const verdicts = store.verdicts('fleet-prom-bad');
    const last = verdicts.at(-1);
    expect(last?.verdict).toBe('fail');
    expect(last?.result.requests.canary).toBeGreaterThan(0);
    const failed = last?.result.checks.filter((check) => check.verdict === 'fail').map((check) => check.check);
    expect(failed).toContain('tool_success_rate');
    // Every replica had served the canary before the rollback...
    for (const replica of replicas) expect(replica.latest()?.byRelease[FLEET_BAD] ?? 0, replica.id).toBeGreaterThan(0);
    // ...and after picking the rollback up from the flag file (flagd polls it every ~5 s) serves only stable.
    const after = await servedAfterChange(replicas, status.updatedAtMillis, 60, 45_000);
    for (const [id, cohorts] of Object.entries(after)) {
      expect(cohorts, id).toEqual({ stable: expect.any(Number), canary: 0, control: 0 });
      expect(cohorts.stable, id).toBeGreaterThanOrEqual(60);
    }
  }, 180_000);

  it('promotes a healthy canary, and every replica then serves it to everyone', async () => {
    const source = prometheusSource({ url: (prometheus as PrometheusHandle).url, selector: 'job="agents"' });
    const { status } = await runRollout({
      id: 'fleet-prom-good',
      canaryRelease: FLEET_GOOD,
      store,
      routing,
      source,
      timeoutMillis: 120_000,
    });
    expect(status.phase).toBe('promoted');
    expect(status.canaryBasisPoints).toBe(10_000);
    // It went through the steps (20% -> 50% -> promoted), each on a passing verdict.
    const transitions = store.transitions('fleet-prom-good').map((t) => t.to);
    expect(transitions).toEqual(['canary@20%', 'canary@50%', 'promoted']);
    const after = await servedAfterChange(replicas, status.updatedAtMillis, 60, 45_000);
    for (const [id, cohorts] of Object.entries(after)) {
      expect(cohorts, id).toEqual({ stable: 0, canary: expect.any(Number), control: 0 });
    }
    for (const replica of replicas) expect(replica.latest()?.byRelease[FLEET_GOOD] ?? 0, replica.id).toBeGreaterThan(0);
    expect(totalByCohort(replicas).stable).toBeGreaterThan(0);
  }, 180_000);
});
