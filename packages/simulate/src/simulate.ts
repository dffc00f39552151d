/**
 * `runSimulation`: the seeded benchmark over the heterogeneity grid × canary shares ×
 * scenarios × runs, spread over worker threads, summarised per cell and gate with the
 * oracle beside it.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '@agent-canary/conventions';
import { type BatchRequest, type RunTask, runBatch } from './batch.js';
import { type CellSummary, checkTargets, type SimulationReport, summariseCell } from './report.js';
import { GATE, GATE_IDS, type GateId, type RunResult } from './run.js';
import {
  CANARY_SHARES,
  HETEROGENEITY_GRID,
  type Heterogeneity,
  SCENARIO_IDS,
  SCENARIOS,
  TRAFFIC_DEFAULTS,
} from './scenarios.js';

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
  /** Heterogeneity grid. @default HETEROGENEITY_GRID (quick: κ = 50, s = 1.1 only) */
  readonly grid?: readonly Heterogeneity[];
  /** Canary shares in basis points. @default [500, 5000] */
  readonly shares?: readonly number[];
  /** Runs per cell, A/A and effect alike (overrides `aaRuns` and `effectRuns`). */
  readonly runs?: number;
  /** A/A runs per cell. @default 2000 (quick: 100) */
  readonly aaRuns?: number;
  /** Runs per cell of an effect scenario. @default 200 (quick: 40) */
  readonly effectRuns?: number;
  /**
   * Runs per cell that also evaluate the comparison gates (every gate but `ours`): enough to
   * show their rates, at a fraction of the cost. @default 200
   */
  readonly contrastRuns?: number;
  /** A smaller grid and fewer runs, for a look in about a minute. @default false */
  readonly quick?: boolean;
  /** Users of the population. @default 10000 */
  readonly users?: number;
  /** Horizon in canary requests (a run also ends after 2 h). @default 7200 */
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
  readonly grid: readonly Heterogeneity[];
  readonly shares: readonly number[];
  readonly aaRuns: number;
  readonly effectRuns: number;
  readonly contrastRuns: number;
  readonly quick: boolean;
  readonly users: number;
  readonly horizonCanaryRequests: number;
  readonly workers: number;
}

/** Defaults of {@link SimulationOptions}. */
export const SIMULATION_DEFAULTS = Object.freeze({
  aaRuns: 2000,
  effectRuns: 200,
  contrastRuns: 200,
  quickAaRuns: 100,
  quickEffectRuns: 40,
  quickGrid: Object.freeze([Object.freeze({ concentration: 50, zipfExponent: 1.1 })]) as readonly Heterogeneity[],
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
  const grid = options.grid ?? (quick ? SIMULATION_DEFAULTS.quickGrid : HETEROGENEITY_GRID);
  grid.forEach((cell, index) => {
    if (!(cell.concentration > 0) || !Number.isFinite(cell.concentration)) {
      throw new ConfigError({
        path: `grid[${index}].concentration`,
        expected: 'a number > 0',
        received: cell.concentration,
      });
    }
    if (!(cell.zipfExponent >= 0) || !Number.isFinite(cell.zipfExponent)) {
      throw new ConfigError({
        path: `grid[${index}].zipfExponent`,
        expected: 'a number >= 0',
        received: cell.zipfExponent,
      });
    }
  });
  const shares = options.shares ?? CANARY_SHARES;
  shares.forEach((share, index) => {
    if (!Number.isInteger(share) || share < 1 || share > 5000) {
      throw new ConfigError({ path: `shares[${index}]`, expected: 'basis points in 1..5000', received: share });
    }
  });
  const runs = options.runs === undefined ? undefined : positiveInteger('runs', options.runs, 1);
  return {
    seed: options.seed,
    scenarios,
    gates,
    grid,
    shares,
    aaRuns:
      runs ??
      positiveInteger('aaRuns', options.aaRuns, quick ? SIMULATION_DEFAULTS.quickAaRuns : SIMULATION_DEFAULTS.aaRuns),
    effectRuns:
      runs ??
      positiveInteger(
        'effectRuns',
        options.effectRuns,
        quick ? SIMULATION_DEFAULTS.quickEffectRuns : SIMULATION_DEFAULTS.effectRuns,
      ),
    contrastRuns: positiveInteger('contrastRuns', options.contrastRuns, SIMULATION_DEFAULTS.contrastRuns),
    quick,
    users: positiveInteger('users', options.users, TRAFFIC_DEFAULTS.users),
    horizonCanaryRequests: positiveInteger(
      'horizonCanaryRequests',
      options.horizonCanaryRequests,
      TRAFFIC_DEFAULTS.horizonCanaryRequests,
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
  onBatch: (request: BatchRequest, results: RunResult[]) => void,
): Promise<void> {
  const queue = [...batches];
  const pool = Array.from({ length: Math.min(workers, batches.length) }, () => startWorker());
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let current: BatchRequest | undefined;
            const next = () => {
              current = queue.shift();
              if (!current) {
                resolve();
                return;
              }
              worker.postMessage(current);
            };
            worker.on('message', (message: { ok: boolean; results?: RunResult[]; error?: string }) => {
              if (!message.ok || !current) {
                reject(new Error(`simulation worker failed: ${message.error}`));
                return;
              }
              onBatch(current, message.results ?? []);
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

/** Key of a (heterogeneity, share, scenario) cell. */
function cellKey(heterogeneity: Heterogeneity, share: number, scenario: string): string {
  return `${heterogeneity.concentration}/${heterogeneity.zipfExponent}/${share}/${scenario}`;
}

/**
 * Runs the benchmark: every heterogeneity × share × scenario cell, each run one seeded
 * population and traffic stream fed to every selected gate (the real `createGate` with
 * the default configuration), and summarises false rollbacks, power and delays per cell
 * and gate beside the oracle. Deterministic: the same options give the same report,
 * whatever the number of workers.
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
  // Ordered by run, then scenario: the scenarios of one run share its population (run.ts).
  const runsOf = (effect: boolean) => (effect ? config.effectRuns : config.aaRuns);
  const maxRuns = Math.max(0, ...selected.map((scenario) => runsOf(scenario.effect)));
  for (const heterogeneity of config.grid) {
    for (const share of config.shares) {
      for (let run = 0; run < maxRuns; run += 1) {
        for (const scenario of selected) {
          if (run >= runsOf(scenario.effect)) continue;
          const gates = run < config.contrastRuns ? config.gates : config.gates.filter((gate) => gate === GATE.ours);
          tasks.push({ scenario: scenario.id, heterogeneity, canaryBasisPoints: share, run, gates });
        }
      }
    }
  }
  const batches: BatchRequest[] = [];
  for (let index = 0; index < tasks.length; index += SIMULATION_DEFAULTS.batchRuns) {
    batches.push({
      seed: config.seed,
      users: config.users,
      horizonCanaryRequests: config.horizonCanaryRequests,
      tasks: tasks.slice(index, index + SIMULATION_DEFAULTS.batchRuns),
    });
  }
  const byCell = new Map<string, RunResult[]>();
  let done = 0;
  const onBatch = (request: BatchRequest, results: RunResult[]) => {
    results.forEach((result, index) => {
      const task = request.tasks[index];
      if (!task) return;
      const key = cellKey(task.heterogeneity, task.canaryBasisPoints, task.scenario);
      const list = byCell.get(key) ?? [];
      list.push(result);
      byCell.set(key, list);
    });
    done += results.length;
    options.onProgress?.({ doneRuns: done, totalRuns: tasks.length, elapsedMillis: Date.now() - started });
  };
  if (config.workers <= 1) {
    for (const batch of batches) onBatch(batch, await runBatch(batch));
  } else {
    await runInWorkers(batches, config.workers, onBatch);
  }
  const cells: CellSummary[] = [];
  for (const heterogeneity of config.grid) {
    for (const share of config.shares) {
      for (const scenario of selected) {
        const results = (byCell.get(cellKey(heterogeneity, share, scenario.id)) ?? []).sort((a, b) => a.run - b.run);
        cells.push(summariseCell(scenario, heterogeneity, share, results, config.gates));
      }
    }
  }
  let evaluations = 0;
  let reads = 0;
  for (const results of byCell.values()) {
    for (const result of results) {
      evaluations += result.evaluations;
      reads += result.sourceReads;
    }
  }
  return {
    seed: config.seed,
    quick: config.quick,
    aaRuns: config.aaRuns,
    effectRuns: config.effectRuns,
    users: config.users,
    horizonCanaryRequests: config.horizonCanaryRequests,
    evaluationSeconds: TRAFFIC_DEFAULTS.evaluationMillis / 1000,
    gates: config.gates,
    cells,
    targets: checkTargets(cells),
    gateEvaluations: evaluations,
    sourceReads: reads,
  };
}
