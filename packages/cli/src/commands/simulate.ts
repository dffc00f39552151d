import { formatTable, runSimulation, type SimulateFlags, simulationOptionsFromFlags } from '@agent-canary/simulate';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { createOutput } from '../output.js';
import { createStatusLine } from '../progress.js';
import type { CommandContext } from './context.js';

/** Options of `simulate`: the simulation's flags. */
export interface SimulateCommandOptions extends SimulateFlags {
  readonly json: boolean;
}

/**
 * `simulate`: the seeded benchmark on habitual Zipf users — false rollbacks over the
 * heterogeneity grid and time to rollback beside the oracle. Same seed, same report.
 */
export async function simulateCommand(context: CommandContext, options: SimulateCommandOptions): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const { json, ...flags } = options;
  const simulation = simulationOptionsFromFlags(flags);
  const line = createStatusLine({
    write: context.io.stdout,
    isTTY: context.io.isTTY,
    json,
    ...(context.io.columns ? { columns: context.io.columns } : {}),
  });
  let report: Awaited<ReturnType<typeof runSimulation>>;
  try {
    report = await runSimulation({
      ...simulation,
      ...(line.enabled
        ? {
            onProgress: (progress) =>
              line.update(
                `simulating: ${progress.doneRuns}/${progress.totalRuns} runs · ${Math.round(progress.elapsedMillis / 1000)} s`,
              ),
          }
        : {}),
    });
  } finally {
    line.done();
  }
  output.result({ ok: true, report }, formatTable(report));
  return EXIT_CODE.ok;
}
