import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  formatTable,
  renderPlotSvg,
  runSimulation,
  type SimulateFlags,
  simulationOptionsFromFlags,
} from '@agent-canary/simulate';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { createOutput } from '../output.js';
import { createStatusLine } from '../progress.js';
import { type CommandContext, resolvePath } from './context.js';

/** Options of `simulate`: the simulation's flags, plus where the plot goes. */
export interface SimulateCommandOptions extends SimulateFlags {
  /** Writes the detection-delay plot (SVG) here. */
  readonly plot?: string;
  readonly json: boolean;
}

/**
 * `simulate`: the seeded detection benchmark (false rollbacks and time to detection of
 * our gate against the article's and Kayenta-style gates). Same seed, same report.
 */
export async function simulateCommand(context: CommandContext, options: SimulateCommandOptions): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const { plot, json, ...flags } = options;
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
  let plotPath: string | undefined;
  if (plot !== undefined) {
    plotPath = resolvePath(context, plot);
    await mkdir(dirname(plotPath), { recursive: true });
    await writeFile(plotPath, renderPlotSvg(report), 'utf8');
  }
  output.result(
    { ok: true, report, ...(plotPath === undefined ? {} : { plot: plotPath }) },
    formatTable(report) + (plotPath === undefined ? '' : `\nplot: ${plotPath}\n`),
  );
  return EXIT_CODE.ok;
}
