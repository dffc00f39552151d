/**
 * A batch of runs, as the main thread or a worker executes it (plain data in and out,
 * so it crosses `postMessage`).
 */
import { type GateId, type RunResult, simulateRun } from './run.js';
import { type Heterogeneity, SCENARIOS } from './scenarios.js';

/** One run to simulate. */
export interface RunTask {
  readonly scenario: string;
  readonly heterogeneity: Heterogeneity;
  readonly canaryBasisPoints: number;
  readonly run: number;
  /** The gates of this run. */
  readonly gates: readonly GateId[];
}

/** What a worker is asked to do. */
export interface BatchRequest {
  readonly seed: number;
  readonly users: number;
  readonly horizonCanaryRequests: number;
  readonly tasks: readonly RunTask[];
}

/** Runs the tasks one after the other. */
export async function runBatch(request: BatchRequest): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const task of request.tasks) {
    const scenario = SCENARIOS.find((candidate) => candidate.id === task.scenario);
    if (!scenario) throw new Error(`unknown scenario ${task.scenario}`);
    results.push(
      await simulateRun({
        seed: request.seed,
        run: task.run,
        scenario,
        heterogeneity: task.heterogeneity,
        canaryBasisPoints: task.canaryBasisPoints,
        gates: task.gates,
        users: request.users,
        horizonCanaryRequests: request.horizonCanaryRequests,
      }),
    );
  }
  return results;
}
