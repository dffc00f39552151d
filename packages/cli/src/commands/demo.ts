import { randomBytes } from 'node:crypto';
import { type Cohort, envValue, type Verdict } from '@agent-canary/conventions';
import { SERVER_ENV } from '@agent-canary/server';
import { runDemo } from '../demo/run-demo.js';
import type { Scenario } from '../demo/scenarios.js';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { createOutput } from '../output.js';
import { createStatusLine, formatProgress } from '../progress.js';
import { type CommandContext, resolvePath, untilShutdown } from './context.js';
import { DASHBOARD_PORT } from './dashboard.js';

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
  /** URL of the dashboard, when one was served. */
  readonly dashboardUrl?: string;
}

/** Options the CLI passes to the demo runner. */
export interface DemoRunOptions {
  readonly scenario: string;
  readonly outDir: string;
  readonly seed?: number;
  readonly json?: boolean;
  readonly onProgress?: (progress: DemoProgressView) => void;
  /** Virtual milliseconds per wall-clock millisecond (the demo's `speed`). */
  readonly speed?: number;
  /** Serve the live dashboard while the demo runs (the demo's `dashboard`). */
  readonly dashboard?: {
    readonly apiToken: string;
    readonly port: number;
    readonly host?: string;
    readonly onListening?: (url: string) => void;
    readonly holdOpen?: (result: DemoResultView) => Promise<void>;
  };
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
  /** Serve the live dashboard while the demo runs, and until SIGINT / SIGTERM after it ends. */
  readonly dashboard?: boolean;
  /** Dashboard port. @default 4319 */
  readonly port?: number;
  /** Dashboard interface. @default '127.0.0.1' */
  readonly host?: string;
  /** Virtual minutes per wall-clock minute. @default 60 with `dashboard`, else as fast as it goes */
  readonly speed?: number;
  /** Controller API token of the page's actions. @default env `AGENT_CANARY_API_TOKEN`, else a new random one, printed */
  readonly token?: string;
}

/** Virtual time per wall-clock time of `demo --dashboard`: a virtual minute each second. */
export const DEMO_DASHBOARD_SPEED = 60;

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
  const speed = options.speed ?? (options.dashboard ? DEMO_DASHBOARD_SPEED : undefined);
  // With a dashboard the result is printed when the rollout ends, before the page stops.
  let printed = false;
  let dashboard: DemoRunOptions['dashboard'];
  if (options.dashboard) {
    const given = options.token ?? envValue(context.io.env[SERVER_ENV.apiToken]);
    const apiToken = given ?? randomBytes(24).toString('base64url');
    dashboard = {
      apiToken,
      port: options.port ?? DASHBOARD_PORT,
      ...(options.host === undefined ? {} : { host: options.host }),
      onListening: (url) =>
        output.note(
          `dashboard ${url}  (watch the rollout live; actions need the controller API token` +
            `${given === undefined ? ` ${apiToken}, made up for this demo` : ` from --token or ${SERVER_ENV.apiToken}`})`,
        ),
      // Printed as soon as the rollout ends; the page stays up for a look until Ctrl-C.
      holdOpen: async (ended) => {
        line.done();
        output.result({ ok: true, ...ended }, formatDemoResult(ended));
        printed = true;
        output.note('the dashboard keeps serving; Ctrl-C stops it');
        await untilShutdown(context.shutdown);
      },
    };
  }
  let result: DemoResultView;
  try {
    result = await run({
      scenario: options.scenario,
      outDir: resolvePath(context, options.outDir),
      json: options.json,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(speed === undefined ? {} : { speed }),
      ...(dashboard === undefined ? {} : { dashboard }),
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
  if (!printed) output.result({ ok: true, ...result }, formatDemoResult(result));
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
    ...(result.dashboardUrl === undefined ? [] : [`dashboard ${result.dashboardUrl}`]),
    `store     ${result.storePath} (agent-canary rollout status ${result.rolloutId} --store ${result.storePath})`,
  ].join('\n');
}
