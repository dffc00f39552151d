import type { Cohort, Verdict } from '@agent-canary/conventions';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { CliFailure, createOutput } from '../output.js';
import { createStatusLine, formatProgress } from '../progress.js';
import { type CommandContext, resolvePath } from './context.js';

/** Progress of a running demo (the fields of the support-agent example's `DemoProgress` the CLI shows). */
export interface DemoProgressView {
  readonly elapsedMillis: number;
  readonly step: number;
  readonly stepCount: number;
  readonly sharePercent: number;
  readonly requests: Readonly<Record<Cohort, number>>;
  readonly lastVerdict?: Verdict;
}

/** One decision of the demo's controller (fields of the example's `DemoDecision`). */
export interface DemoDecisionView {
  readonly elapsedMillis: number;
  readonly from: string;
  readonly to: string;
  readonly canaryRequests: number;
  readonly reason: string;
}

/** What a demo run returns (fields of the example's `DemoResult`; the rest is printed as is under `--json`). */
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

/**
 * Runs the demo: `runDemo` of the support-agent example (`examples/support-agent`). It is
 * injected rather than imported because the example itself uses this package (its report
 * and its embedded canary): a static import would make the two packages depend on each
 * other.
 */
export type DemoRunner = (options: DemoRunOptions) => Promise<DemoResultView>;

// Resolved from this file, in `src/commands` and in `dist/commands` alike.
const DEMO_MODULE = new URL('../../../../examples/support-agent/src/index.ts', import.meta.url);

/**
 * Loads `runDemo` from the support-agent example of the repository checkout (the demo is
 * not published with the package).
 */
export const loadRepositoryDemo: DemoRunner = async (options) => {
  let module: { runDemo?: unknown };
  try {
    module = (await import(DEMO_MODULE.href)) as { runDemo?: unknown };
  } catch (error) {
    throw new CliFailure(
      'demo_unavailable',
      `the demo runs from a checkout of the agent-canary repository (pnpm demo); could not load ${DEMO_MODULE.pathname}: ` +
        (error instanceof Error ? error.message.split('\n')[0] : String(error)),
      EXIT_CODE.runtime,
    );
  }
  if (typeof module.runDemo !== 'function') {
    throw new CliFailure('demo_unavailable', `${DEMO_MODULE.pathname} does not export runDemo`, EXIT_CODE.runtime);
  }
  return (module.runDemo as DemoRunner)(options);
};

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
  runDemo: DemoRunner = loadRepositoryDemo,
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
    result = await runDemo({
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
