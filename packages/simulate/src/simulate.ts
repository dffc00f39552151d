/**
 * `runSimulation`: the seeded detection benchmark over scenarios × runs, spread over
 * worker threads, summarised per scenario and gate.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '@agent-canary/conventions';
import { type BatchRequest, type RunTask, runBatch } from './batch.js';
import { GATE_IDS, type GateId } from './gates.js';
import { checkTargets, type SimulationReport, summariseScenario } from './report.js';
import type { RunResult } from './run.js';
import { SCENARIO_IDS, SCENARIOS, TRAFFIC_DEFAULTS } from './scenarios.js';

/** Progress of a simulation, for a progress bar. */
export interface SimulationProgress {
  readonly doneRuns: number;
  readonly totalRuns: number;
  readonly elapsedMillis: number;
}

/** Options of {@link runSimulation}. */
export interface SimulationOptions {
  /** Base seed: the same seed gives the same report. */
  readonly seed: number;
  /** Scenario ids (see `SCENARIO_IDS`). @default all */
  readonly scenarios?: readonly string[];
  /** Gate ids (see `GATE_IDS`). @default all */
  readonly gates?: readonly GateId[];
  /** Runs per scenario, A/A and effect alike (overrides `aaRuns` and `effectRuns`). */
  readonly runs?: number;
  /** Runs per A/A scenario. @default 2000 (quick: 200) */
  readonly aaRuns?: number;
  /** Runs per effect scenario. @default 500 (quick: 100) */
  readonly effectRuns?: number;
  /** Runs of the sticky-user A/A variant (the costliest: every arrival simulated). @default 500 (quick: 100) */
  readonly stickyRuns?: number;
  /** Fewer runs, for a look in well under a minute. @default false */
  readonly quick?: boolean;
  /** Horizon in canary requests (2 h at 1 canary request/s). Scenarios may need longer (tail-only: 15k). @default 7200 */
  readonly horizonCanaryRequests?: number;
  /** Worker threads; 1 runs in the calling thread. @default min(2, available cores) */
  readonly workers?: number;
  readonly onProgress?: (progress: SimulationProgress) => void;
}

/** Resolved {@link SimulationOptions}. */
export interface SimulationConfig {
  readonly seed: number;
  readonly scenarios: readonly string[];
  readonly gates: readonly GateId[];
  readonly aaRuns: number;
  readonly effectRuns: number;
  readonly stickyRuns: number;
  readonly quick: boolean;
  readonly horizonCanaryRequests: number;
  readonly workers: number;
}

/** Defaults of {@link SimulationOptions}. */
export const SIMULATION_DEFAULTS = Object.freeze({
  aaRuns: 2000,
  effectRuns: 500,
  stickyRuns: 500,
  quickAaRuns: 200,
  quickEffectRuns: 100,
  quickStickyRuns: 100,
  horizonCanaryRequests: 7200,
  maxWorkers: 2,
  /** Runs per message to a worker: large enough to amortise messaging, small enough to balance. */
  batchRuns: 10,
});

function positiveInteger(path: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError({ path, expected: 'a positive integer', received: value });
  }
  return value;
}

/**
 * Validates options and fills in defaults.
 *
 * @throws ConfigError naming the field, what was expected and what was received.
 */
export function resolveSimulationConfig(options: SimulationOptions): SimulationConfig {
  if (typeof options.seed !== 'number' || !Number.isInteger(options.seed)) {
    throw new ConfigError({ path: 'seed', expected: 'an integer', received: options.seed });
  }
  const scenarios = options.scenarios ?? SCENARIO_IDS;
  for (const id of scenarios) {
    if (!SCENARIO_IDS.includes(id)) {
      throw new ConfigError({ path: 'scenarios', expected: `ids among ${SCENARIO_IDS.join(', ')}`, received: id });
    }
  }
  const gates = options.gates ?? GATE_IDS;
  for (const id of gates) {
    if (!GATE_IDS.includes(id)) {
      throw new ConfigError({ path: 'gates', expected: `ids among ${GATE_IDS.join(', ')}`, received: id });
    }
  }
  const quick = options.quick ?? false;
  const runs = options.runs === undefined ? undefined : positiveInteger('runs', options.runs, 1);
  const aaDefault = quick ? SIMULATION_DEFAULTS.quickAaRuns : SIMULATION_DEFAULTS.aaRuns;
  const effectDefault = quick ? SIMULATION_DEFAULTS.quickEffectRuns : SIMULATION_DEFAULTS.effectRuns;
  return {
    seed: options.seed,
    scenarios,
    gates,
    aaRuns: runs ?? positiveInteger('aaRuns', options.aaRuns, aaDefault),
    effectRuns: runs ?? positiveInteger('effectRuns', options.effectRuns, effectDefault),
    stickyRuns:
      runs ??
      positiveInteger(
        'stickyRuns',
        options.stickyRuns,
        quick ? SIMULATION_DEFAULTS.quickStickyRuns : SIMULATION_DEFAULTS.stickyRuns,
      ),
    quick,
    horizonCanaryRequests: positiveInteger(
      'horizonCanaryRequests',
      options.horizonCanaryRequests,
      SIMULATION_DEFAULTS.horizonCanaryRequests,
    ),
    workers: positiveInteger(
      'workers',
      options.workers,
      Math.min(SIMULATION_DEFAULTS.maxWorkers, availableParallelism()),
    ),
  };
}

/**
 * A worker running the TypeScript sources needs the tsx loader registered in its own
 * thread; built code (`dist/worker.js`) runs as is.
 */
function startWorker(): Worker {
  const built = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return new Worker(built);
  const source = new URL('./worker.ts', import.meta.url).href;
  return new Worker(
    `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`,
    { eval: true },
  );
}

async function runInWorkers(
  batches: readonly BatchRequest[],
  workers: number,
  onBatch: (results: RunResult[]) => void,
): Promise<void> {
  const queue = [...batches];
  const pool = Array.from({ length: Math.min(workers, batches.length) }, () => startWorker());
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const batch = queue.shift();
              if (!batch) {
                resolve();
                return;
              }
              worker.postMessage(batch);
            };
            worker.on('message', (message: { ok: boolean; results?: RunResult[]; error?: string }) => {
              if (!message.ok) {
                reject(new Error(`simulation worker failed: ${message.error}`));
                return;
              }
              onBatch(message.results ?? []);
              next();
            });
            worker.on('error', reject);
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
}

/**
 * Runs the detection benchmark: every selected scenario × run, each run one seeded
 * traffic stream fed to every selected gate (our gate through `createGate`), and
 * summarises false rollbacks, power and delays per scenario and gate. Deterministic:
 * the same options give the same report, whatever the number of workers.
 *
 * @example
 * const report = await runSimulation({ seed: 1, quick: true });
 * console.log(formatTable(report));
 * @throws ConfigError on invalid options.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const config = resolveSimulationConfig(options);
  const started = Date.now();
  const selected = SCENARIOS.filter((scenario) => config.scenarios.includes(scenario.id));
  const tasks: RunTask[] = [];
  const horizonOf = new Map<string, number>();
  for (const scenario of selected) {
    const runs = scenario.sticky ? config.stickyRuns : scenario.effect ? config.effectRuns : config.aaRuns;
    const horizon = Math.max(config.horizonCanaryRequests, scenario.horizonCanaryRequests ?? 0);
    horizonOf.set(scenario.id, horizon);
    for (let run = 0; run < runs; run += 1) tasks.push({ scenario: scenario.id, run, horizonCanaryRequests: horizon });
  }
  const batches: BatchRequest[] = [];
  for (let index = 0; index < tasks.length; index += SIMULATION_DEFAULTS.batchRuns) {
    batches.push({
      seed: config.seed,
      gates: config.gates,
      tasks: tasks.slice(index, index + SIMULATION_DEFAULTS.batchRuns),
    });
  }
  const results: RunResult[] = [];
  const onBatch = (batch: RunResult[]) => {
    results.push(...batch);
    options.onProgress?.({ doneRuns: results.length, totalRuns: tasks.length, elapsedMillis: Date.now() - started });
  };
  if (config.workers <= 1) {
    for (const batch of batches) onBatch(await runBatch(batch));
  } else {
    await runInWorkers(batches, config.workers, onBatch);
  }
  const scenarios = selected.map((scenario) =>
    summariseScenario(
      scenario,
      horizonOf.get(scenario.id) ?? config.horizonCanaryRequests,
      results.filter((result) => result.scenario === scenario.id),
      config.gates,
    ),
  );
  return {
    seed: config.seed,
    quick: config.quick,
    aaRuns: config.aaRuns,
    effectRuns: config.effectRuns,
    stickyRuns: config.stickyRuns,
    horizonCanaryRequests: config.horizonCanaryRequests,
    evaluationSeconds: TRAFFIC_DEFAULTS.evaluationMillis / 1000,
    gates: config.gates,
    scenarios,
    targets: checkTargets(
      scenarios,
      selected.filter((scenario) => scenario.rate).map((scenario) => scenario.id),
    ),
    gateEvaluations: results.reduce((sum, result) => sum + result.evaluations, 0),
    sourceReads: results.reduce((sum, result) => sum + result.sourceReads, 0),
  };
}
