/**
 * Chaos test of the real `agent-canary serve` process (issue 17; the CLI bundled once, see
 * helpers/serve-cli.ts): a rollout under seeded
 * agent traffic, the server killed with SIGKILL at 50+ random moments — while starting,
 * restoring, ticking, answering exports and manual actions — and restarted on the same
 * store, snapshot and routing file each time. Beside it, the same rollout under the same
 * seeded traffic runs uninterrupted.
 *
 * After every restart the rollout resumes where it was (never an earlier step, never a
 * fresh rollout); every manual action the API acknowledged (pause, resume, the final
 * approval) is in effect after the next restart and in the audit log; the server never
 * exits by itself; and the final decision — promoted, through the same steps — equals the
 * uninterrupted run's. The rollout needs an approval to promote, so it stays open until
 * the kills are done; after it ended, restarts on the finished store start cleanly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutStore } from '@agent-canary/controller';
import { createRng } from '@agent-canary/stats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentTraffic } from './helpers/agent-traffic.js';
import { freePort } from './helpers/prometheus.js';
import {
  bundleServeCli,
  removeServeCliBundle,
  type ServeCli,
  type ServeListening,
  startServeCli,
} from './helpers/serve-cli.js';

const SEED = 20_260_17;
const TOKEN = 'chaos-api-token-0123456789';
const ROLLOUT_ID = 'chaos-rollout';
const FLAG_KEY = 'support-agent.release';
const STABLE = 'support-v1';
const CANARY = 'support-v2';
const MIN_KILLS = 50;
const RESTARTS_AFTER_END = 2;
/** A start that takes longer than this is a failure (not a moment to kill at). */
const START_TIMEOUT_MILLIS = 60_000;
/** The killed run gives up (and says where it was) after this long. */
const CHAOS_DEADLINE_MILLIS = 330_000;

const DEFINITION = `
rolloutId: ${ROLLOUT_ID}
flagKey: ${FLAG_KEY}
canaryRelease: ${CANARY}
stableRelease: ${STABLE}
routing: { provider: embedded, options: { path: routing.json } }
steps:
  - { percent: 20, duration: 8s, minCanaryRequests: 40 }
  - { percent: 50, duration: 8s, minCanaryRequests: 40 }
  - { percent: 100 }
tickInterval: 500ms
requireApproval: true
warmup: { minDuration: 3s, minStableRequests: 60, minCanaryRequests: 20 }
gate:
  minSamples: 40
  maxExposureRequests: 150
  warnMarginFraction: 0.02
  sampleRatio: { unit: request, settleMillis: 2000 }
  checks: { latencyP99: { maxMillis: 10000 } }
serve: { snapshotInterval: 200ms }
`;

const dirs: string[] = [];
const children: ServeCli[] = [];
let bundle: string | undefined;
beforeAll(async () => {
  bundle = await bundleServeCli();
}, 120_000);
afterAll(async () => {
  for (const serve of children) serve.child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  if (bundle !== undefined) await removeServeCliBundle(bundle);
});

interface Run {
  readonly dir: string;
  readonly port: number;
  start(): ServeCli;
  traffic(url: string): AgentTraffic;
}

async function prepareRun(name: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), `agent-canary-chaos-${name}-`));
  dirs.push(dir);
  writeFileSync(join(dir, 'rollout.yaml'), DEFINITION);
  const port = await freePort();
  const args = ['-c', 'rollout.yaml', '--port', String(port), '--store', 'state.db', '--snapshot', 'behavior.json'];
  return {
    dir,
    port,
    start() {
      const serve = startServeCli(bundle as string, args, dir, { AGENT_CANARY_API_TOKEN: TOKEN });
      children.push(serve);
      return serve;
    },
    traffic: (url) =>
      new AgentTraffic({
        url,
        seed: SEED,
        routingFile: join(dir, 'routing.json'),
        flagKey: FLAG_KEY,
        rolloutId: ROLLOUT_ID,
        stableRelease: STABLE,
        canaryRelease: CANARY,
        requestsPerTick: 6,
        tickMillis: 100,
      }),
  };
}

interface Status {
  readonly phase: string;
  readonly stepIndex: number;
  readonly awaitingApproval: boolean;
}

const auth = { authorization: `Bearer ${TOKEN}` };

async function status(url: string): Promise<Status | undefined> {
  try {
    const response = await fetch(`${url}/v1/rollouts/${ROLLOUT_ID}`, {
      headers: auth,
      signal: AbortSignal.timeout(3000),
    });
    return response.status === 200 ? ((await response.json()) as Status) : undefined;
  } catch {
    return undefined;
  }
}

/** Posts a manual action; true only when the API acknowledged it with 200. */
async function act(url: string, action: string, reason: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v1/rollouts/${ROLLOUT_ID}/${action}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'chaos-test', reason }),
      signal: AbortSignal.timeout(3000),
    });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The step transitions of a finished rollout, without the manual pauses and resumes. */
function decisions(dir: string): {
  phase: string | undefined;
  steps: string[];
  failVerdicts: number;
  actions: string[];
} {
  const store = new RolloutStore({ path: join(dir, 'state.db') });
  try {
    const steps: string[] = [];
    for (const transition of store.transitions(ROLLOUT_ID)) {
      if (transition.trigger === 'pause' || transition.trigger === 'resume') continue;
      if (steps.at(-1) !== transition.to) steps.push(transition.to);
    }
    return {
      phase: store.getRollout(ROLLOUT_ID)?.state.phase,
      steps,
      failVerdicts: store.verdicts(ROLLOUT_ID, 1000).filter((v) => v.verdict === 'fail').length,
      actions: store
        .manualActions(ROLLOUT_ID)
        .filter((a) => a.accepted)
        .map((a) => a.reason),
    };
  } finally {
    store.close();
  }
}

/** The same rollout, never interrupted: approved as soon as it asks. */
async function uninterrupted(run: Run): Promise<number> {
  const startedAt = Date.now();
  const serve = run.start();
  const listening = await serve.listening;
  if (listening === undefined) throw new Error(`serve did not start\n${serve.output()}`);
  const traffic = run.traffic(listening.otlpTracesUrl);
  traffic.start();
  try {
    const deadline = Date.now() + 150_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`the uninterrupted rollout did not finish\n${serve.output()}`);
      const now = await status(listening.url);
      if (now?.phase === 'promoted' || now?.phase === 'rolled_back' || now?.phase === 'aborted') break;
      if (now?.awaitingApproval) await act(listening.url, 'approve', 'uninterrupted: approve');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await traffic.stop();
    serve.child.kill('SIGTERM');
  }
  expect((await serve.exited).code, serve.output()).toBe(0);
  return Date.now() - startedAt;
}

interface ChaosResult {
  readonly killsDuringRollout: number;
  readonly killsBeforeListening: number;
  readonly acknowledged: string[];
  readonly restartsAfterEnd: number;
  readonly trafficFailures: Readonly<Record<number, number>>;
  readonly millis: number;
  readonly acknowledgedRequests: number;
  /** Median time from spawning serve to its listening document. */
  readonly medianStartMillis: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function chaos(run: Run): Promise<ChaosResult> {
  const startedAt = Date.now();
  const rng = createRng(SEED).fork('kills');
  const acknowledged: string[] = [];
  const problems: string[] = [];
  let killsDuringRollout = 0;
  let killsBeforeListening = 0;
  let restartsAfterEnd = 0;
  let maxStep = 0;
  let paused = false;
  /** The last action sent was not acknowledged: its effect is unknown until the next status. */
  let uncertain = false;
  let approved = false;
  let pauses = 0;
  let traffic: AgentTraffic | undefined;
  const startMillis: number[] = [];

  for (let cycle = 0; ; cycle++) {
    const serve = run.start();
    // The first start is left alone until the rollout has started; later ones may be killed
    // while starting and restoring.
    const killWhileStarting = cycle > 0 && rng.next() < 0.3;
    const startingDelay = rng.next() * 400;
    const servingDelay = 50 + rng.next() * 750;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const kill = () => serve.child.kill('SIGKILL');
    if (killWhileStarting) killTimer = setTimeout(kill, startingDelay);
    const spawnedAt = Date.now();
    const watchdog = setTimeout(() => {
      problems.push(`cycle ${cycle}: serve did not start within ${START_TIMEOUT_MILLIS} ms\n${serve.output()}`);
      kill();
    }, START_TIMEOUT_MILLIS);
    const listening: ServeListening | undefined = await serve.listening;
    clearTimeout(watchdog);
    if (listening !== undefined) startMillis.push(Date.now() - spawnedAt);
    let acting: Promise<void> = Promise.resolve();
    if (listening !== undefined) {
      if (traffic === undefined) {
        traffic = run.traffic(listening.otlpTracesUrl);
        traffic.start();
      }
      if (approved) {
        // The approval was acknowledged: the rollout is over, and a restart says so.
        if (!(listening.ended === true && listening.phase === 'promoted')) {
          problems.push(`cycle ${cycle}: after the approval, serve started with ${JSON.stringify(listening)}`);
        }
        if (restartsAfterEnd++ >= RESTARTS_AFTER_END) {
          clearTimeout(killTimer);
          // Traffic stops first: a graceful shutdown answers 503 to exports by design.
          await traffic?.stop();
          serve.child.kill('SIGTERM');
          const exit = await serve.exited;
          if (exit.code !== 0) problems.push(`final SIGTERM: exit ${exit.code}\n${serve.output()}`);
          break;
        }
      } else if (listening.rolloutId !== ROLLOUT_ID || listening.ended === true) {
        problems.push(`cycle ${cycle}: serve started with ${JSON.stringify(listening)}`);
      }
      if (!killWhileStarting) killTimer = setTimeout(kill, servingDelay);
      acting = (async () => {
        const now = await status(listening.url);
        if (now === undefined || approved) return;
        if (now.stepIndex < maxStep) problems.push(`cycle ${cycle}: step ${now.stepIndex} after step ${maxStep}`);
        maxStep = Math.max(maxStep, now.stepIndex);
        if (['promoted', 'rolled_back', 'aborted'].includes(now.phase)) {
          problems.push(`cycle ${cycle}: the rollout ended (${now.phase}) without the approval`);
          return;
        }
        if (!uncertain && (now.phase === 'paused') !== paused) {
          problems.push(
            `cycle ${cycle}: phase ${now.phase}, but the last acknowledged action left it ${paused ? 'paused' : 'running'}`,
          );
        }
        paused = now.phase === 'paused';
        let action: 'pause' | 'resume' | 'approve' | undefined;
        if (paused) action = 'resume';
        else if (now.awaitingApproval && killsDuringRollout >= MIN_KILLS) action = 'approve';
        else if (!now.awaitingApproval && pauses < 6 && rng.next() < 0.2) action = 'pause';
        if (action === undefined) return;
        if (action === 'pause') pauses++;
        const reason = `chaos cycle ${cycle}: ${action}`;
        if (await act(listening.url, action, reason)) {
          acknowledged.push(reason);
          uncertain = false;
          paused = action === 'pause';
          if (action === 'approve') {
            approved = true;
            // Kill right after the acknowledgement: the approval must survive it.
            clearTimeout(killTimer);
            killTimer = setTimeout(kill, rng.next() * 100);
          }
        } else {
          uncertain = true;
        }
      })();
    } else {
      killsBeforeListening++;
    }
    const exit = await serve.exited;
    clearTimeout(killTimer);
    await acting;
    if (exit.signal !== 'SIGKILL') {
      problems.push(`cycle ${cycle}: serve exited by itself (${exit.code})\n${serve.output()}`);
      break;
    }
    if (!approved) killsDuringRollout++;
    if (problems.length > 0) break;
    if (Date.now() - startedAt > CHAOS_DEADLINE_MILLIS) {
      problems.push(
        `no end after ${cycle + 1} restarts in ${CHAOS_DEADLINE_MILLIS / 1000} s: ${killsDuringRollout} kills during the ` +
          `rollout, step ${maxStep}, approved ${approved}, median start ${median(startMillis)} ms`,
      );
      break;
    }
  }
  await traffic?.stop();
  expect(problems).toEqual([]);
  return {
    killsDuringRollout,
    killsBeforeListening,
    acknowledged,
    restartsAfterEnd,
    trafficFailures: traffic?.stats().refused ?? {},
    millis: Date.now() - startedAt,
    acknowledgedRequests: traffic?.stats().acknowledgedRequests ?? 0,
    medianStartMillis: median(startMillis),
  };
}

describe('agent-canary serve killed at random moments of a rollout', () => {
  it(`resumes after ${MIN_KILLS}+ SIGKILLs, loses no acknowledged action, and decides as an uninterrupted run`, {
    timeout: 400_000,
  }, async ({ annotate }) => {
    const calm = await prepareRun('calm');
    const chaotic = await prepareRun('killed');
    const [calmMillis, result] = await Promise.all([uninterrupted(calm), chaos(chaotic)]);
    await annotate(
      `${result.killsDuringRollout} SIGKILLs during the rollout (${result.killsBeforeListening} before the server listened), ` +
        `${result.restartsAfterEnd} restarts after it ended; ${result.acknowledged.length} acknowledged actions; ` +
        `${result.acknowledgedRequests} agent requests acknowledged; serve starts in ${result.medianStartMillis} ms ` +
        `(median); ${Math.round(result.millis / 1000)} s killed, ` +
        `${Math.round(calmMillis / 1000)} s uninterrupted`,
    );

    expect(result.killsDuringRollout).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(result.killsBeforeListening).toBeGreaterThan(0);
    // Exports were refused only by a server that was gone, never with an error status.
    expect(result.trafficFailures).toEqual({});

    const expected = decisions(calm.dir);
    const actual = decisions(chaotic.dir);
    expect(expected.phase).toBe('promoted');
    expect(actual.phase).toBe(expected.phase);
    expect(actual.steps).toEqual(expected.steps);
    expect(expected.steps).toEqual(['canary@20%', 'canary@50%', 'awaiting_approval@50%', 'promoted']);
    expect(actual.failVerdicts).toBe(0);
    // Every acknowledged action is in the audit log, in order (an action the server applied
    // but could not acknowledge before it was killed may be there too).
    const logged = actual.actions.filter((reason) => reason.startsWith('chaos'));
    let found = 0;
    for (const reason of logged) if (reason === result.acknowledged[found]) found++;
    expect(found, `acknowledged ${JSON.stringify(result.acknowledged)}, logged ${JSON.stringify(logged)}`).toBe(
      result.acknowledged.length,
    );
    expect(result.acknowledged.some((reason) => reason.endsWith('pause'))).toBe(true);
  });
});
