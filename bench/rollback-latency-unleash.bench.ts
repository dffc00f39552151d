/**
 * Rollback latency through Unleash: from the controller's rollback decision (the gate
 * returns a sequential failure) to the first request routed to stable, through the real
 * RolloutController (SQLite store), the Unleash adapter (Admin API), a real
 * unleash-server 7.5.1 + PostgreSQL 15 on loopback, unleash-client polling, our
 * UnleashProvider and the OpenFeature SDK. Client refresh intervals alternate by round.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import { OpenFeature } from '@openfeature/server-sdk';
import { createUnleashAdapter } from '../packages/routing-unleash/src/adapter.js';
import { UnleashProvider } from '../packages/routing-unleash/src/provider.js';
import { quantile, SequentialFailureGate, wallNow } from '../test/helpers/rollback-bench.js';
import { startUnleash, unleashUnavailableReason } from '../test/helpers/unleash.js';

const FLAG = 'bench.release';
const ROUNDS = 5;
const INTERVALS = [250, 1_000] as const;

export async function run(): Promise<{ title: string; markdown: string }> {
  const title = 'Rollback latency (Unleash)';
  const missing = unleashUnavailableReason();
  if (missing !== undefined) return { title, markdown: `Not run: ${missing}.` };
  const unleash = await startUnleash();
  const dir = mkdtempSync(join(tmpdir(), 'ac-bench-unleash-'));
  const results = new Map<number, number[]>(INTERVALS.map((i) => [i, []]));
  const applyMillis: number[] = [];
  try {
    const created = await fetch(`${unleash.url}/api/admin/projects/default/features`, {
      method: 'POST',
      headers: { authorization: unleash.adminToken, 'content-type': 'application/json' },
      body: JSON.stringify({ name: FLAG, type: 'release' }),
    });
    if (created.status !== 201) throw new Error(`creating the flag: HTTP ${created.status}`);
    const routing = createUnleashAdapter({
      url: unleash.url,
      adminToken: unleash.adminToken,
      environment: unleash.environment,
    });
    const timedRouting = {
      ...routing,
      async apply(split: Parameters<typeof routing.apply>[0]) {
        const start = performance.now();
        const result = await routing.apply(split);
        if (split.canaryBasisPoints === 0) applyMillis.push(performance.now() - start);
        return result;
      },
    };
    let canaryUser: string | undefined;
    for (let round = -1; round < ROUNDS * INTERVALS.length; round++) {
      const interval = INTERVALS[(round + INTERVALS.length) % INTERVALS.length] as number;
      const provider = new UnleashProvider({
        url: unleash.url,
        apiToken: unleash.clientToken,
        refreshIntervalMillis: interval,
        metrics: false,
      });
      const domain = `bench-unleash-${round}`;
      await OpenFeature.setProviderAndWait(domain, provider);
      const client = OpenFeature.getClient(domain);
      const store = new RolloutStore({ path: join(dir, `rollouts-${round}.db`) });
      const gate = new SequentialFailureGate();
      const controller = new RolloutController({ store, routing: timedRouting, gate, env: {} });
      await controller.start({ id: `bench-${round}`, flagKey: FLAG, canaryRelease: 'v2', stableRelease: 'v1' });
      const evaluate = (user: string) => provider.resolve(FLAG, 'x', { targetingKey: user }).variant;
      // Wait (event-driven) until this client serves the canary, then find a canary user once.
      await new Promise<void>((resolve) => {
        const check = () => {
          canaryUser ??= Array.from({ length: 1_000 }, (_, i) => `user-${i}`).find((u) => evaluate(u) === 'canary');
          if (canaryUser !== undefined && evaluate(canaryUser) === 'canary') resolve();
        };
        provider.events.addHandler('PROVIDER_CONFIGURATION_CHANGED' as never, check);
        check();
      });
      const user = canaryUser as string;
      let stableAt = 0;
      const requests = (async () => {
        // ~1 request per millisecond through the OpenFeature client, as a busy agent.
        for (;;) {
          if ((await client.getStringValue(FLAG, 'x', { targetingKey: user })) === 'v1') {
            stableAt = wallNow();
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      })();
      await controller.tick();
      await requests;
      store.close();
      await OpenFeature.clearProviders();
      // The first round warms up (JIT, SQLite, connections) and is discarded.
      if (round >= 0) results.get(interval)?.push(stableAt - gate.decidedAtMillis);
    }
  } finally {
    await OpenFeature.close();
    await unleash.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (interval: number) => {
    const values = results.get(interval) ?? [];
    return `| ${interval} ms | ${values.length} | ${quantile(values, 0.5).toFixed(0)} | ${quantile(values, 0.9).toFixed(0)} | ${Math.max(...values).toFixed(0)} |`;
  };
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  const markdown = [
    "Time from the controller's rollback decision (the gate returns a sequential failure) to the first request",
    'routed to stable. Path: reducer -> SQLite commit -> Unleash adapter (Admin API: PUT strategy, read back) ->',
    'unleash-server 7.5.1 + PostgreSQL 15 on loopback -> unleash-client poll -> UnleashProvider -> OpenFeature client.',
    'A request loop evaluates a canary user about once per millisecond. Rounds alternate between client refresh',
    'intervals; the first round is discarded.',
    '',
    '| client refreshInterval | rounds | median ms | p90 ms | max ms |',
    '|---|---|---|---|---|',
    ...INTERVALS.map(row),
    '',
    `Adapter write + read-back (rollback apply) median: ${quantile(applyMillis, 0.5).toFixed(0)} ms.`,
    'Expected: the write (tens of ms) + the server bumping its revision, which invalidates the client-API cache (a',
    'scheduler job every 1 s) + the client poll (up to refreshInterval). With unleash-client’s default 15 s',
    'refreshInterval a rollback takes up to about 16 s to reach every app process; Unleash Edge or streaming',
    'changes the last term. The DESIGN target of 1 s applies to the embedded provider and flagd, not to remote flag systems.',
    `Load average during the run (1 / 5 / 15 min): ${load} on a shared machine.`,
  ].join('\n');
  return { title, markdown };
}
