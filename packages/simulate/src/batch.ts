/**
 * A batch of runs, as the main thread or a worker executes it (plain data in and out,
 * so it crosses `postMessage`).
 */
import type { GateId } from './gates.js';
import { type RunResult, simulateRun } from './run.js';
import { SCENARIOS } from './scenarios.js';

/** One (scenario, run) pair to simulate. */
export interface RunTask {
  readonly scenario: string;
  readonly run: number;
  readonly horizonCanaryRequests: number;
}

/** What a worker is asked to do. */
export interface BatchRequest {
  readonly seed: number;
  readonly gates: readonly GateId[];
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
        gates: request.gates,
        horizonCanaryRequests: task.horizonCanaryRequests,
      }),
    );
  }
  return results;
}
