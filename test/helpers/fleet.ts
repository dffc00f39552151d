/**
 * The fleet end-to-end harness: N replica processes (`fleet-replica.ts`) on loopback
 * sharing one flagd flag file, one controller in the test process, and the two scenarios
 * of issue 8 — a regression rolled back on every replica, a healthy canary promoted.
 * `fleet-prometheus.test.ts` and `fleet-serve.test.ts` differ only in the metric source.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFinalPhase, RolloutController, type RolloutStatus, type RolloutStore } from '@agent-canary/controller';
import type { Cohort } from '@agent-canary/conventions';
import { createGate, type MetricSource, resolveGateConfig } from '@agent-canary/gate';
import { createFlagdAdapter, type FlagdRoutingAdapter } from '@agent-canary/routing-flagd';
import type { ReplicaConfig, ReplicaReport } from './fleet-replica.js';

export const FLEET_FLAG = 'support-agent.release';
export const FLEET_STABLE = 'support-v1';
/** Behaves like the demo's `hard-break` scenario: 40% of its tool calls fail. */
export const FLEET_BAD = 'support-v2-bad';
/** Behaves like the demo's `healthy` scenario. */
export const FLEET_GOOD = 'support-v2';

const ROOT = join(import.meta.dirname, '..', '..');
const REPLICA_SCRIPT = join(ROOT, 'test', 'helpers', 'fleet-replica.ts');

/** Polls `check` until it returns a value, or throws with `describe()` after the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMillis: number,
  describe: () => string = () => '',
  intervalMillis = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMillis;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMillis} ms waiting for ${what}\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMillis));
  }
}

/** A running replica process and its latest report. */
export interface Replica {
  readonly id: string;
  latest(): ReplicaReport | undefined;
  /** Everything it wrote to stderr (for failure messages; never printed). */
  errors(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** Starts one replica; resolves once its provider is ready and it serves. */
export async function startReplica(config: ReplicaConfig): Promise<Replica> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@agent-canary/source', REPLICA_SCRIPT, JSON.stringify(config)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  let latest: ReplicaReport | undefined;
  let pending = '';
  let stderr = '';
  let exited = false;
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        latest = JSON.parse(line) as ReplicaReport;
      } catch {
        stderr = `${stderr}\n[stdout] ${line}`.slice(-8000);
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const replica: Replica = {
    id: config.id,
    latest: () => latest,
    errors: () => stderr,
    exited: () => exited,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
    },
  };
  try {
    await waitFor(
      `replica ${config.id} to serve`,
      () => {
        if (exited) throw new Error(`replica ${config.id} exited:\n${stderr}`);
        return latest !== undefined && latest.requests > 0 ? true : undefined;
      },
      60_000,
      () => stderr,
    );
  } catch (error) {
    await replica.stop();
    throw error;
  }
  return replica;
}

/** A temporary directory with the shared flag file, routing stable only. */
export async function createFlagFile(): Promise<{ dir: string; path: string; routing: FlagdRoutingAdapter }> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-canary-fleet-'));
  const path = join(dir, 'flags.json');
  const routing = createFlagdAdapter({ path });
  const result = await routing.apply({
    flagKey: FLEET_FLAG,
    rolloutId: 'none',
    canaryRelease: FLEET_GOOD,
    stableRelease: FLEET_STABLE,
    canaryBasisPoints: 0,
    controlBasisPoints: 0,
  });
  if (!result.acknowledged) throw new Error(`could not write the flag file: ${result.reason}`);
  return { dir, path, routing };
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** Replica options shared by both fleet tests; `extra` adds the mode-specific ones. */
export function replicaConfig(
  index: number,
  flagFile: string,
  extra: Pick<ReplicaConfig, 'mode'> & Partial<ReplicaConfig>,
): ReplicaConfig {
  return {
    id: `r${index + 1}`,
    flagFile,
    flagKey: FLEET_FLAG,
    stableRelease: FLEET_STABLE,
    canaryReleases: { [FLEET_BAD]: 'hard-break', [FLEET_GOOD]: 'healthy' },
    requestsPerSecond: 30,
    maxRequests: 12_000,
    maxDurationMillis: 360_000,
    seed: 1000 + index,
    ...extra,
  };
}

/**
 * Short steps and 1 s ticks so a rollout ends in tens of seconds. The gate keeps its
 * methods; thresholds that only warn on small samples (p99 ratio, the warn margin) are
 * loosened, because a warn holds a step and the test is about the fleet plumbing.
 *
 * flagd's file mode picks a change up after up to ~5 s: the sample-ratio check counts
 * requests only from 8 s after the first split (`settleMillis`), when every replica serves it.
 */
const GATE_OPTIONS = {
  minSamples: 40,
  // Promotion needs this much canary exposure (or tight bounds); seconds-long steps here.
  maxExposureRequests: 150,
  sampleRatio: { settleMillis: 8000, unit: 'request' },
  warnMarginFraction: 0.02,
  warmup: { minMillis: 4000, minStableRequests: 80, minCanaryRequests: 20 },
  checks: { latencyP99: { maxMillis: 10_000 } },
} as const;

const ROLLOUT_TIMING = {
  steps: [
    { percent: 20, minDurationMillis: 6000, minCanaryRequests: 40 },
    { percent: 50, minDurationMillis: 6000, minCanaryRequests: 40 },
    { percent: 100 },
  ],
  tickIntervalMillis: 1000,
  warmup: { minDurationMillis: 4000, minStableRequests: 80, minCanaryRequests: 20 },
  noDataTimeoutMillis: 120_000,
  maxDurationMillis: 600_000,
};

/** A controller with the fleet tests' gate options. */
export function fleetController(
  store: RolloutStore,
  routing: FlagdRoutingAdapter,
  source: MetricSource,
): RolloutController {
  const gate = createGate(resolveGateConfig(GATE_OPTIONS), source);
  return new RolloutController({ store, routing, gate, env: {} });
}

function fail(message: string): never {
  throw new Error(message);
}

/** Runs one rollout to its end with a controller in this process; returns its final status. */
export async function runRollout(options: {
  readonly id: string;
  readonly canaryRelease: string;
  readonly store: RolloutStore;
  readonly routing: FlagdRoutingAdapter;
  /** The gate's source (a new controller is built), or `controller` to use an existing one. */
  readonly source?: MetricSource;
  readonly controller?: RolloutController;
  readonly timeoutMillis: number;
  /** Called once the controller is running (e.g. to query the HTTP API). */
  readonly onStarted?: (controller: RolloutController) => void;
}): Promise<{ status: RolloutStatus; controller: RolloutController }> {
  const controller =
    options.controller ??
    fleetController(
      options.store,
      options.routing,
      options.source ?? fail('runRollout needs a source or a controller'),
    );
  await controller.start({
    id: options.id,
    flagKey: FLEET_FLAG,
    canaryRelease: options.canaryRelease,
    stableRelease: FLEET_STABLE,
    ...ROLLOUT_TIMING,
  });
  controller.run();
  options.onStarted?.(controller);
  try {
    const status = await waitFor(
      `rollout ${options.id} to finish`,
      () => {
        const status = controller.status();
        return isFinalPhase(status.phase) ? status : undefined;
      },
      options.timeoutMillis,
      () => {
        const verdicts = options.store.verdicts(options.id, 3).map((v) => `${v.verdict}: ${v.reason}`);
        return `status: ${JSON.stringify({ ...controller.status(), config: undefined })}\nlast verdicts:\n${verdicts.join('\n')}`;
      },
    );
    return { status, controller };
  } finally {
    controller.stop();
    await controller.idle();
    // A rollout that timed out must not block the next test's rollout of the same flag.
    if (!isFinalPhase(controller.status().phase)) await controller.abort({ actor: 'test', reason: 'timed out' });
  }
}

/**
 * Waits until every replica has picked up a flag change made after `sinceMillis` and has
 * served at least `minRequests` since, then returns what each served since that change.
 */
export async function servedAfterChange(
  replicas: readonly Replica[],
  sinceMillis: number,
  minRequests: number,
  timeoutMillis: number,
): Promise<Record<string, Record<Cohort, number>>> {
  return waitFor(
    `every replica to serve ${minRequests} requests after the flag change`,
    () => {
      const result: Record<string, Record<Cohort, number>> = {};
      for (const replica of replicas) {
        const report = replica.latest();
        if (report === undefined || (report.lastChangeAtMillis ?? 0) <= sinceMillis) return undefined;
        const served = report.sinceChange.stable + report.sinceChange.canary + report.sinceChange.control;
        if (served < minRequests) return undefined;
        result[replica.id] = { ...report.sinceChange };
      }
      return result;
    },
    timeoutMillis,
    () => replicas.map((r) => `${r.id}: ${JSON.stringify(r.latest())}\n${r.errors().slice(-1000)}`).join('\n'),
  );
}

/** Total requests per cohort over the replicas' latest reports. */
export function totalByCohort(replicas: readonly Replica[]): Record<Cohort, number> {
  const total: Record<Cohort, number> = { stable: 0, canary: 0, control: 0 };
  for (const replica of replicas) {
    const report = replica.latest();
    if (report === undefined) continue;
    for (const cohort of ['stable', 'canary', 'control'] as const) total[cohort] += report.byCohort[cohort];
  }
  return total;
}
