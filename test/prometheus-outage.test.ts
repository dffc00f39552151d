/**
 * The metric source down in the middle of a rollout (issue 17): a replica process serving
 * a healthy canary (real flagd provider on the shared flag file, metrics on `/metrics`), a
 * real Prometheus scraping it, and a controller reading it through `prometheusSource`.
 * Prometheus is stopped for longer than a step lasts, then started again on the same port
 * and data. While it is down every verdict is `inconclusive` (naming the unreachable
 * source) and the rollout holds: no step, no rollback. Once it is back the controller
 * recovers by itself and promotes the canary.
 */
import { prometheusSource, RolloutStore } from '@agent-canary/controller';
import type { FlagdRoutingAdapter } from '@agent-canary/routing-flagd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFlagFile,
  FLEET_GOOD,
  type Replica,
  removeDir,
  replicaConfig,
  runRollout,
  startReplica,
  waitFor,
} from './helpers/fleet.js';
import { freePort, type PrometheusHandle, prometheusUnavailableReason, startPrometheus } from './helpers/prometheus.js';

const unavailable = prometheusUnavailableReason();
// Locally a missing binary skips with the reason in the title; CI must have it.
const skip = unavailable !== undefined && !process.env['CI'];
const title = skip
  ? `metric source outage (skipped: ${unavailable})`
  : 'metric source outage: Prometheus down mid-rollout';
const OUTAGE_MILLIS = 10_000;

describe.skipIf(skip)(title, () => {
  let dir: string | undefined;
  let routing: FlagdRoutingAdapter;
  let replica: Replica | undefined;
  let prometheus: PrometheusHandle | undefined;
  let store: RolloutStore;
  let metricsPort: number;

  beforeAll(async () => {
    if (unavailable !== undefined) throw new Error(`CI requires Prometheus: ${unavailable}`);
    const flags = await createFlagFile();
    dir = flags.dir;
    routing = flags.routing;
    store = new RolloutStore({ path: `${dir}/controller.db` });
    metricsPort = await freePort();
    replica = await startReplica(
      replicaConfig(0, flags.path, { mode: 'prometheus', metricsPort, requestsPerSecond: 60 }),
    );
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${metricsPort}`], job: 'agents' });
  }, 120_000);

  afterAll(async () => {
    await replica?.stop();
    await prometheus?.stop();
    store?.close();
    await removeDir(dir);
  });

  it('answers inconclusive and holds while Prometheus is down, then recovers by itself and promotes', async () => {
    const first = prometheus as PrometheusHandle;
    const source = prometheusSource({ url: first.url, selector: 'job="agents"' });
    let outage: { from: number; to: number } | undefined;
    let outageDone: Promise<void> = Promise.resolve();
    const { status } = await runRollout({
      id: 'prometheus-outage',
      canaryRelease: FLEET_GOOD,
      store,
      routing,
      source,
      timeoutMillis: 150_000,
      onStarted: () => {
        outageDone = (async () => {
          // A few evaluations with data first.
          await waitFor(
            'two verdicts with metrics',
            () => (store.verdicts('prometheus-outage').length >= 2 ? true : undefined),
            10_000,
          );
          const from = Date.now();
          await first.stop({ keepData: true });
          await new Promise((resolve) => setTimeout(resolve, OUTAGE_MILLIS));
          prometheus = await startPrometheus({
            targets: [`127.0.0.1:${metricsPort}`],
            job: 'agents',
            port: first.port,
            dataDir: first.dataDir,
          });
          outage = { from, to: Date.now() };
        })();
      },
    });
    await outageDone;
    expect(status.phase).toBe('promoted');
    const window = outage as { from: number; to: number };
    // A tick that started before the stop may still have read the old answer.
    const during = store
      .verdicts('prometheus-outage', 1000)
      .filter((v) => v.atMillis > window.from + 1500 && v.atMillis < window.to);
    expect(during.length).toBeGreaterThanOrEqual(OUTAGE_MILLIS / 1000 - 3);
    for (const verdict of during) {
      expect(verdict.verdict).toBe('inconclusive');
      expect(verdict.reason).toMatch(/no metrics \(Prometheus at .* did not answer/);
    }
    // Held: no step and no rollback while the source was down.
    const transitions = store.transitions('prometheus-outage');
    expect(transitions.filter((t) => t.atMillis > window.from + 1500 && t.atMillis < window.to)).toEqual([]);
    expect(transitions.map((t) => t.to)).toEqual(['canary@20%', 'canary@50%', 'promoted']);
    // Recovered by itself: evaluations with metrics again, then the promotion.
    const after = store.verdicts('prometheus-outage', 1000).filter((v) => v.atMillis > window.to);
    expect(after.some((v) => v.verdict === 'pass')).toBe(true);
    expect(transitions.at(-1)?.atMillis).toBeGreaterThan(window.to);
  }, 200_000);
});
