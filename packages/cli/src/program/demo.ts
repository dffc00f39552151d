/**
 * The command table of the offline runs: `demo` (a simulated agent through a rollout in
 * virtual time) and `simulate` (the seeded benchmark of the gate).
 */
import type { Command } from 'commander';
import { DASHBOARD_PORT } from '../commands/dashboard.js';
import { demoCommand } from '../commands/demo.js';
import { simulateCommand } from '../commands/simulate.js';
import { type CommandWiring, integerOption, jsonOption, positiveOption } from './options.js';

/** Adds `demo` and `simulate`. */
export function addDemoCommands(program: Command, { context, setExit, runDemo }: CommandWiring): void {
  program
    .command('demo')
    .description('run a simulated support agent through a canary rollout in virtual time, and write its report')
    .option(
      '--scenario <name>',
      'healthy | aa | tool-regression | tone-drift | hard-break (what the canary release does wrong)',
      'hard-break',
    )
    .option('--seed <n>', 'seed of the traffic and the simulated model (default 42)', integerOption)
    .option('--out-dir <dir>', 'directory for the store, routing state and report.html (replaced)', 'agent-canary-demo')
    .option('--dashboard', 'watch it live: serve the dashboard while it runs (paced), and after it ends until Ctrl-C')
    .option('--port <port>', `dashboard port (default ${DASHBOARD_PORT}; 0 picks a free one)`, integerOption)
    .option('--host <host>', 'dashboard interface (default 127.0.0.1)')
    .option(
      '--speed <x>',
      'virtual minutes per wall-clock minute (default 60 with --dashboard, else flat out)',
      positiveOption,
    )
    .option(
      '--token <token>',
      'controller API token of the page actions (env AGENT_CANARY_API_TOKEN; default: made up)',
    )
    .addOption(jsonOption())
    .action(
      async (options: {
        scenario: string;
        seed?: number;
        outDir: string;
        json?: boolean;
        dashboard?: boolean;
        port?: number;
        host?: string;
        speed?: number;
        token?: string;
      }) => {
        setExit(
          await demoCommand(
            context,
            { ...options, json: options.json === true, dashboard: options.dashboard === true },
            runDemo,
          ),
        );
      },
    );

  program
    .command('simulate')
    .description(
      'seeded benchmark on habitual Zipf users: false rollbacks and time to rollback of the gate beside an oracle',
    )
    .option('--quick', 'one heterogeneity cell and fewer runs, for a look in a few minutes')
    .option('--runs <n>', 'runs per cell (overrides the two below)')
    .option('--aa-runs <n>', 'A/A runs per cell (default 2000, quick 100)')
    .option('--effect-runs <n>', 'runs per cell of each effect scenario (default 200, quick 40)')
    .option('--users <n>', 'users of the population (default 10000)')
    .option('--seed <n>', 'base seed: the same seed gives the same report (default 1)')
    .option('--scenarios <ids>', 'comma-separated scenario ids (default all)')
    .option('--gates <ids>', 'comma-separated gate ids: ours, ours-request (default both)')
    .option('--horizon <requests>', 'horizon in canary requests (default 7200; a run also ends after 2 h)')
    .option('--workers <n>', 'worker threads (default min(2, cores))')
    .addOption(jsonOption())
    .action(
      async (options: {
        quick?: boolean;
        runs?: string;
        aaRuns?: string;
        effectRuns?: string;
        users?: string;
        seed?: string;
        scenarios?: string;
        gates?: string;
        horizon?: string;
        workers?: string;
        json?: boolean;
      }) => {
        setExit(await simulateCommand(context, { ...options, json: options.json === true }));
      },
    );
}
