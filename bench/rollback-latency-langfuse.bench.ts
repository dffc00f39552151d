/**
 * Rollback latency with releases as Langfuse prompt versions: from the controller's
 * rollback decision (the gate returns a sequential failure) to the first request served
 * the stable prompt version. Path: RolloutController (SQLite store) -> Langfuse label
 * adapter (split through the embedded adapter, then the canary label moved back over the
 * Langfuse public API) -> app: OpenFeature + EmbeddedProvider for the cohort, then
 * `@langfuse/client` `prompt.get` by label. Langfuse is a local contract server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import { COHORT, isCohort } from '@agent-canary/conventions';
import { EmbeddedProvider, EmbeddedRoutingAdapter } from '@agent-canary/routing';
import { LangfuseClient } from '@langfuse/client';
import { OpenFeature } from '@openfeature/server-sdk';
import { createLangfuseLabelAdapter } from '../packages/routing-langfuse/src/adapter.js';
import { getReleasePrompt } from '../packages/routing-langfuse/src/prompt.js';
import { startLangfuseContractServer } from '../packages/routing-langfuse/src/testing-fixtures/langfuse-server.js';
import { quantile, SequentialFailureGate, wallNow } from '../test/helpers/rollback-bench.js';

const FLAG = 'bench.release';
const PROMPT = 'bench-agent';
const ROUNDS = 5;

const MODES = {
  split: 'app re-evaluates the flag per request, prompt cacheTtlSeconds 0',
  label: 'label only: replica still routes to canary, prompt cacheTtlSeconds 1',
} as const;
type Mode = keyof typeof MODES;

export async function run(): Promise<{ title: string; markdown: string }> {
  const server = await startLangfuseContractServer();
  server.addVersion(PROMPT, 'stable prompt (v1)', ['production']);
  server.addVersion(PROMPT, 'candidate prompt (v2)');
  const dir = mkdtempSync(join(tmpdir(), 'ac-bench-langfuse-'));
  const results: Record<Mode, number[]> = { split: [], label: [] };
  try {
    for (let round = -2; round < 2 * ROUNDS; round++) {
      const mode: Mode = (round + 2) % 2 === 0 ? 'split' : 'label';
      const langfuse = new LangfuseClient({
        publicKey: server.publicKey,
        secretKey: server.secretKey,
        baseUrl: server.baseUrl,
      });
      const inner = new EmbeddedRoutingAdapter();
      const routing = createLangfuseLabelAdapter({ client: langfuse, promptName: PROMPT, inner });
      const domain = `bench-langfuse-${round}`;
      const provider = new EmbeddedProvider({ adapter: inner });
      await OpenFeature.setProviderAndWait(domain, provider);
      const client = OpenFeature.getClient(domain);
      const store = new RolloutStore({ path: join(dir, `rollouts-${round}.db`) });
      const gate = new SequentialFailureGate();
      const controller = new RolloutController({ store, routing, gate, env: {} });
      await controller.start({ id: `bench-${round}`, flagKey: FLAG, canaryRelease: '2', stableRelease: '1' });
      const user = Array.from({ length: 1_000 }, (_, i) => `user-${i}`).find(
        (u) => provider.resolve(FLAG, { targetingKey: u }).variant === COHORT.canary,
      ) as string;
      const serve = async (): Promise<number> => {
        if (mode === 'label') {
          // This replica has not seen the split change: the request stays in the canary cohort.
          return (
            await getReleasePrompt(langfuse, PROMPT, { cohort: COHORT.canary, release: '2' }, { cacheTtlSeconds: 1 })
          ).version;
        }
        const details = await client.getStringDetails(FLAG, '1', { targetingKey: user });
        const cohort = isCohort(details.variant) ? details.variant : COHORT.stable;
        return (await getReleasePrompt(langfuse, PROMPT, { cohort, release: details.value }, { cacheTtlSeconds: 0 }))
          .version;
      };
      if ((await serve()) !== 2) throw new Error('the canary user is not served the canary prompt');
      let stableAt = 0;
      const requests = (async () => {
        for (;;) {
          if ((await serve()) === 1) {
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
      // The first round of each mode warms up and is discarded.
      if (round >= 0) results[mode].push(stableAt - gate.decidedAtMillis);
    }
  } finally {
    await OpenFeature.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (mode: Mode) => {
    const values = results[mode];
    return `| ${MODES[mode]} | ${values.length} | ${quantile(values, 0.5).toFixed(1)} | ${quantile(values, 0.9).toFixed(1)} | ${Math.max(...values).toFixed(1)} |`;
  };
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  const markdown = [
    "Time from the controller's rollback decision (the gate returns a sequential failure) to the first request",
    'served the stable prompt version. The controller sets the split to zero through the embedded adapter, then',
    'moves the `canary` label back onto the `production` version (PATCH + read-back over HTTP on loopback, against a',
    'local server implementing the documented Langfuse endpoints). Rounds alternate between the two read paths; the',
    'first round of each is discarded. Requests loop about once per millisecond.',
    '',
    '| read path | rounds | median ms | p90 ms | max ms |',
    '|---|---|---|---|---|',
    row('split'),
    row('label'),
    '',
    'The split path is as fast as the inner adapter (embedded here; flagd ~5 s polling, Unleash ~1 s + poll).',
    'The label path is bounded by the client prompt cache: after the TTL the client still serves the stale prompt',
    'once while it refetches, so with the @langfuse/client default of 60 s a label-only rollback takes up to 60 s',
    'plus one request per process. Real Langfuse adds its own server-side prompt cache invalidation and network time.',
    `Load average during the run (1 / 5 / 15 min): ${load} on a shared machine.`,
  ].join('\n');
  return { title: 'Rollback latency (Langfuse prompt labels)', markdown };
}
