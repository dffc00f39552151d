import type { Cohort, Verdict } from '@agent-canary/conventions';
import { runDemo } from '../demo/run-demo.js';
import type { Scenario } from '../demo/scenarios.js';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { createOutput } from '../output.js';
import { createStatusLine, formatProgress } from '../progress.js';
import { type CommandContext, resolvePath } from './context.js';

/** Progress of a running demo (the fields of the demo's `DemoProgress` the CLI shows). */
export interface DemoProgressView {
  readonly elapsedMillis: number;
  readonly step: number;
  readonly stepCount: number;
  readonly sharePercent: number;
  readonly requests: Readonly<Record<Cohort, number>>;
  readonly lastVerdict?: Verdict;
}

/** One decision of the demo's controller (fields of the demo's `DemoDecision`). */
export interface DemoDecisionView {
  readonly elapsedMillis: number;
  readonly from: string;
  readonly to: string;
  readonly canaryRequests: number;
  readonly reason: string;
}

/** What a demo run returns (fields of the demo's `DemoResult`; the rest is printed as is under `--json`). */
export interface DemoResultView {
  readonly scenario: string;
  readonly seed: number;
  readonly outcome: string;
  readonly rolloutId: string;
  readonly decisions: readonly DemoDecisionView[];
  readonly reportPath: string;
  readonly storePath: string;
  readonly virtualDurationMillis: number;
  readonly wallMillis: number;
  readonly requests: Readonly<Record<Cohort, number>>;
}

/** Options the CLI passes to the demo runner. */
export interface DemoRunOptions {
  readonly scenario: string;
  readonly outDir: string;
  readonly seed?: number;
  readonly json?: boolean;
  readonly onProgress?: (progress: DemoProgressView) => void;
}

/** Runs the demo (injected in tests; the default is the bundled support-agent demo). */
export type DemoRunner = (options: DemoRunOptions) => Promise<DemoResultView>;

/** The bundled demo (`src/demo`): a simulated support agent under a canary in virtual time. */
export const bundledDemo: DemoRunner = (options) =>
  // runDemo validates the scenario itself (a ConfigError naming `scenario`).
  runDemo({ ...options, scenario: options.scenario as Scenario });

/** Options of `demo`. */
export interface DemoCommandOptions {
  readonly scenario: string;
  readonly seed?: number;
  readonly outDir: string;
  readonly json: boolean;
}

function minutes(millis: number): string {
  return `${(millis / 60_000).toFixed(1).padStart(5)} min`;
}

/**
 * `demo`: a simulated support agent under a canary rollout in virtual time, with real
 * instrumentation, routing, gate and controller. Exit 0 whenever the demo ran, whatever
 * its outcome (a rollback is what the bad scenarios are there to show).
 */
export async function demoCommand(
  context: CommandContext,
  options: DemoCommandOptions,
  run: DemoRunner = bundledDemo,
): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const line = createStatusLine({
    write: context.io.stdout,
    isTTY: context.io.isTTY,
    json: options.json,
    ...(context.io.columns ? { columns: context.io.columns } : {}),
  });
  output.note(`demo ${options.scenario}: rolling out support-v2 over support-v1 in virtual time...`);
  let result: DemoResultView;
  try {
    result = await run({
      scenario: options.scenario,
      outDir: resolvePath(context, options.outDir),
      json: options.json,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(line.enabled
        ? {
            onProgress: (progress: DemoProgressView) =>
              line.update(
                formatProgress({
                  label: minutes(progress.elapsedMillis).trim(),
                  step: progress.step,
                  stepCount: progress.stepCount,
                  canaryPercent: progress.sharePercent,
                  requests: progress.requests,
                  ...(progress.lastVerdict === undefined ? {} : { verdict: progress.lastVerdict }),
                }),
              ),
          }
        : {}),
    });
  } finally {
    line.done();
  }
  output.result({ ok: true, ...result }, formatDemoResult(result));
  return EXIT_CODE.ok;
}

/** Human-readable result of a demo run: outcome, every decision with its reason, where the report is. */
export function formatDemoResult(result: DemoResultView): string {
  const requests = result.requests;
  return [
    `${result.scenario} (seed ${result.seed}): ${result.outcome} after ${minutes(result.virtualDurationMillis).trim()} ` +
      `of virtual time (${(result.wallMillis / 1000).toFixed(1)} s)`,
    `requests  stable ${requests.stable} · canary ${requests.canary} · control ${requests.control}`,
    'decisions',
    ...result.decisions.map(
      (decision) =>
        `  ${minutes(decision.elapsedMillis)}  ${decision.from} -> ${decision.to} ` +
        `(${decision.canaryRequests} canary requests)\n             ${decision.reason}`,
    ),
    `report    ${result.reportPath}`,
    `store     ${result.storePath} (agent-canary rollout status ${result.rolloutId} --store ${result.storePath})`,
  ].join('\n');
}
