/**
 * The demo: the support agent serves seeded traffic while a canary rollout of its new
 * release runs in virtual time with the real cadence (5% 15 min -> 20% 30 min -> 50% 1 h
 * -> 100%, a gate tick every 5 s, 60 s warm-up). Nothing is faked past the model and the
 * tools: spans go through the real OpenTelemetry SDK, the tagging and behaviour
 * processors, routing goes through OpenFeature and the embedded provider, and the real
 * gate and controller decide, persisting to SQLite.
 */
import { rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  inProcessSource,
  isFinalPhase,
  RolloutController,
  RolloutStore,
  type TickResult,
} from '@agent-canary/controller';
import { type Cohort, ConfigError } from '@agent-canary/conventions';
import { createEmbeddedCanary } from '@agent-canary/embedded';
import { type AgentCanaryHandle, registerAgentCanary } from '@agent-canary/instrumentation';
import { type AgentCanaryServer, startServer } from '@agent-canary/server';
import { createRng, zipfSampler } from '@agent-canary/stats';
import { context, propagation, trace } from '@opentelemetry/api';
import { controllerStoreOpener } from '../controller-store.js';
import { buildReportData, renderReportHtml } from '../report.js';
import { SupportAgent } from './agent.js';
import { DEMO_DEFAULTS, type DemoOptions } from './options.js';
import { DEMO_OUTCOME, type DemoOutcome, type DemoResult, decisionOf, progressOf, warmupOf } from './results.js';
import { CANARY_BEHAVIOR, isScenario, RELEASE, SCENARIOS, STABLE_BEHAVIOR } from './scenarios.js';
import { drawIntent, type SupportRequest } from './simulated-model.js';

/** Key of the release flag the agent evaluates. */
export const DEMO_FLAG_KEY = 'support-agent.release';

/** Where virtual time starts (a fixed instant, so runs are reproducible to the millisecond). */
export const VIRTUAL_EPOCH_MILLIS = Date.UTC(2026, 0, 15, 9, 0, 0);

/** Width of the behaviour processor's single time bucket (longer than any demo run). */
const DEMO_BUCKET_MILLIS = 12 * 60 * 60 * 1000;

/** Canary and control requests before a threshold is judged or a pass given (gate default: 50). */
const DEMO_GATE_MIN_SAMPLES = 200;

/**
 * Runs one demo scenario to its end (promoted, rolled back, or held at the horizon) and
 * writes `report.html` to `outDir`. Spans also go to an OTLP endpoint or Langfuse when
 * their environment variables are set (`registerAgentCanary`).
 *
 * The run owns the process's global OpenTelemetry registration while it lasts and
 * releases it at the end, so runs can follow each other in one process.
 *
 * @throws ConfigError on an unknown scenario or invalid option.
 * @example
 * const result = await runDemo({ scenario: 'hard-break', outDir: './demo-out', seed: 7 });
 * result.outcome; // 'rolled_back'
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  if (!isScenario(options.scenario)) {
    throw new ConfigError({ path: 'scenario', expected: `one of ${SCENARIOS.join(', ')}`, received: options.scenario });
  }
  const seed = options.seed ?? DEMO_DEFAULTS.seed;
  const rate = options.requestsPerSecond ?? DEMO_DEFAULTS.requestsPerSecond;
  const users = options.users ?? DEMO_DEFAULTS.users;
  const horizonMillis = options.horizonMillis ?? DEMO_DEFAULTS.horizonMillis;
  const progressEvery = options.progressIntervalMillis ?? DEMO_DEFAULTS.progressIntervalMillis;
  checkPositive('seed', seed, true, 0);
  checkPositive('requestsPerSecond', rate, false);
  checkPositive('users', users, true);
  checkPositive('horizonMillis', horizonMillis, false);
  const speed = options.speed ?? Number.POSITIVE_INFINITY;
  if (typeof speed !== 'number' || Number.isNaN(speed) || speed <= 0) {
    throw new ConfigError({ path: 'speed', expected: 'a positive number (or Infinity)', received: speed });
  }
  if (options.dashboard !== undefined && options.restartControllerAtMillis !== undefined) {
    throw new ConfigError({
      path: 'restartControllerAtMillis',
      expected: 'no controller restart while a dashboard is served (it acts through the first controller)',
      received: options.restartControllerAtMillis,
    });
  }
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  // Each run starts fresh: an old behaviour snapshot would mix another run's traffic in.
  for (const name of ['state.db', 'state.db-wal', 'state.db-shm', 'routing.json', 'behavior.json']) {
    rmSync(join(outDir, name), { force: true });
  }

  let now = VIRTUAL_EPOCH_MILLIS;
  const clock = () => now;
  const rolloutId = `support-agent-${options.scenario}-${seed}`;
  const canary = await createEmbeddedCanary({
    flagKey: DEMO_FLAG_KEY,
    stableRelease: RELEASE.stable,
    canaryRelease: RELEASE.canary,
    id: rolloutId,
    ...(options.steps === undefined ? {} : { steps: options.steps }),
    // Absolute thresholds judge the canary's point estimate; from 50 requests on (the
    // default) one early cluster of failures can hold them broken for three ticks and roll
    // back a good canary. The demo judges them from 200 requests on; the sequential tests,
    // which catch the bad canaries, are valid at any sample size and are unaffected.
    gate: { minSamples: DEMO_GATE_MIN_SAMPLES },
    stateDir: outDir,
    // Check the routing file on every request: in virtual time a rollback must reach the
    // very next request, whatever the wall clock says.
    routingRefreshMillis: 0,
    // One time bucket for the whole demo (the gate reads everything since the rollout start
    // whatever the bucket width, so decisions are the same). It makes each tick's window a
    // copy instead of a merge of hundreds of buckets.
    behavior: { bucketMillis: DEMO_BUCKET_MILLIS, retentionMillis: DEMO_BUCKET_MILLIS },
    clock,
    env: {},
  });
  let telemetry: AgentCanaryHandle | undefined;
  const storePath = canary.config.storePath ?? join(outDir, 'state.db');
  let store = canary.store;
  let controller = canary.controller;
  let restartedAtMillis: number | undefined;
  const requests: Record<Cohort, number> = { stable: 0, canary: 0, control: 0 };
  let server: AgentCanaryServer | undefined;
  try {
    telemetry = await registerAgentCanary({ serviceName: 'support-agent-demo', spanProcessors: [canary.behavior] });
    const agent = new SupportAgent({
      client: canary.client,
      flagKey: DEMO_FLAG_KEY,
      stableRelease: RELEASE.stable,
      behaviors: { [RELEASE.stable]: STABLE_BEHAVIOR, [RELEASE.canary]: CANARY_BEHAVIOR[options.scenario] },
      seed,
    });
    const traffic = createRng(seed).fork('traffic');
    const userOf = zipfSampler(users, DEMO_DEFAULTS.zipfExponent);
    const meanGapMillis = 1000 / rate;
    let status = await canary.start();
    const startMillis = now;
    if (options.dashboard !== undefined) {
      server = await startServer({
        port: options.dashboard.port,
        ...(options.dashboard.host === undefined ? {} : { host: options.dashboard.host }),
        controller,
        store,
        apiToken: options.dashboard.apiToken,
        dashboard: { store, clock, metricSource: inProcessSource(canary.behavior) },
        env: {},
      });
      options.dashboard.onListening?.(`${server.url}/`);
    }
    // Paced runs wait for the wall clock to catch up with virtual time; one that falls behind
    // still lets the dashboard answer every 50 ms.
    const wallStart = performance.now();
    let yieldedAt = wallStart;
    const pace = async (virtualMillis: number): Promise<void> => {
      if (!Number.isFinite(speed)) return;
      const wait = wallStart + (virtualMillis - startMillis) / speed - performance.now();
      if (wait >= 10) await new Promise((done) => setTimeout(done, wait));
      else if (performance.now() - yieldedAt < 50) return;
      else await new Promise((done) => setImmediate(done));
      yieldedAt = performance.now();
    };
    const tickMillis = status.config.tickIntervalMillis;
    let nextTick = startMillis + tickMillis;
    let nextProgress = startMillis;
    let nextArrival = startMillis + traffic.exponential(1) * meanGapMillis;
    let index = 0;
    let lastTick: TickResult | undefined;
    const report = (force: boolean) => {
      if (!options.onProgress || (!force && now < nextProgress)) return;
      while (nextProgress <= now) nextProgress += progressEvery;
      options.onProgress(progressOf(status, now - startMillis, requests, lastTick));
    };
    report(true);
    for (;;) {
      if (nextTick <= nextArrival) {
        await pace(nextTick);
        now = nextTick;
        nextTick += tickMillis;
        if (restartedAtMillis === undefined && options.restartControllerAtMillis !== undefined) {
          if (now - startMillis >= options.restartControllerAtMillis) {
            // Kill: no stop, no idle, no goodbye; the process that replaces it opens the same file.
            store.close();
            store = new RolloutStore({ path: storePath });
            controller = new RolloutController({ store, routing: canary.routing, gate: canary.gate, clock, env: {} });
            await controller.restore(rolloutId);
            restartedAtMillis = now - startMillis;
          }
        }
        const before = status.phase === 'canary' ? status.stepIndex : -1;
        lastTick = await controller.tick();
        status = lastTick.status;
        report(status.stepIndex !== before || isFinalPhase(status.phase));
        if (isFinalPhase(status.phase) || now - startMillis >= horizonMillis) break;
        continue;
      }
      await pace(nextArrival);
      now = nextArrival;
      const request: SupportRequest = {
        index,
        userId: `user-${userOf(traffic)}`,
        intent: drawIntent(traffic),
        orderId: `A${100_000 + traffic.int(900_000)}`,
        arrivalMillis: now,
      };
      index++;
      nextArrival += traffic.exponential(1) * meanGapMillis;
      const reply = await agent.handle(request);
      requests[reply.assignment.cohort]++;
      // Let timers and I/O run now and then (OTLP export, snapshot writes): the loop itself never waits.
      if (index % 2000 === 0) await new Promise((done) => setImmediate(done));
    }
    const outcome: DemoOutcome =
      status.phase === 'promoted'
        ? DEMO_OUTCOME.promoted
        : status.phase === 'rolled_back'
          ? DEMO_OUTCOME.rolledBack
          : DEMO_OUTCOME.held;
    const transitions = store.transitions(rolloutId);
    const decisions = transitions.map((transition) => decisionOf(transition, startMillis, status.config.steps));
    const warmup = warmupOf(store, rolloutId, startMillis);
    const reportPath = join(outDir, 'report.html');
    await writeReport(storePath, rolloutId, now, reportPath);
    const result: DemoResult = {
      scenario: options.scenario,
      seed,
      outcome,
      rolloutId,
      decisions,
      reportPath,
      storePath,
      virtualDurationMillis: now - startMillis,
      wallMillis: Math.round(performance.now() - started),
      requests: { ...requests },
      ...(warmup === undefined ? {} : { warmup }),
      ...(restartedAtMillis === undefined ? {} : { controllerRestartedAtMillis: restartedAtMillis }),
      ...(server === undefined ? {} : { dashboardUrl: `${server.url}/` }),
    };
    await options.dashboard?.holdOpen?.(result);
    return result;
  } finally {
    // The server stops the controller's loop and closes the store; the rest below is idempotent.
    await server?.shutdown();
    controller.stop();
    await controller.idle();
    if (store !== canary.store) store.close();
    await telemetry?.shutdown();
    await canary.close();
    // Give the globals back, so the next run (or the host app) can register its own.
    trace.disable();
    context.disable();
    propagation.disable();
  }
}

function checkPositive(path: string, value: number, integer: boolean, min = Number.MIN_VALUE): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new ConfigError({ path, expected: integer ? 'a positive integer' : 'a positive number', received: value });
  }
}

async function writeReport(storePath: string, rolloutId: string, nowMillis: number, out: string): Promise<void> {
  const store = await controllerStoreOpener()(storePath, {});
  try {
    const data = await buildReportData(store, rolloutId, nowMillis);
    if (data === undefined) throw new Error(`rollout ${rolloutId} is missing from ${storePath}`);
    await writeFile(out, renderReportHtml(data), 'utf8');
  } finally {
    await store.close();
  }
}
