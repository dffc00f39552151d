/**
 * The `agent-canary` command, built with commander. `run(argv, io)` parses and runs one
 * invocation and returns its exit code; nothing here touches `process` directly, so
 * every command runs in tests without spawning a process.
 */
import { readFileSync } from 'node:fs';
import type { MetricSource } from '@agent-canary/gate';
import { RELEASE_STATUS, type ReleaseStatus } from '@agent-canary/monitor';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { configValidate } from './commands/config.js';
import { type CommandContext, DEFAULT_STORE_PATH, ENV } from './commands/context.js';
import { DASHBOARD_PORT, dashboardCommand } from './commands/dashboard.js';
import { type DemoRunner, demoCommand } from './commands/demo.js';
import { monitorCommand, PROMETHEUS_URL_ENV } from './commands/monitor.js';
import { releaseCreate, releaseList, releaseShow } from './commands/release.js';
import { reportCommand } from './commands/report.js';
import { rolloutAction, rolloutStart, rolloutStatus } from './commands/rollout.js';
import { serveCommand } from './commands/serve.js';
import { simulateCommand } from './commands/simulate.js';
import { parseDurationMillis, ROUTING_PROVIDER, type RoutingProvider } from './config.js';
import { EXIT_CODE, type ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { reportFailure } from './output.js';
import { MANUAL_ACTION, type ManualAction, type OpenStore } from './store.js';

/** Injected collaborators of `run` (all optional). */
export interface RunDependencies {
  /** Opens the controller store; without it the store commands fail with exit code 3. */
  readonly openStore?: OpenStore;
  /** @default Date.now */
  readonly now?: () => number;
  /** Waits; resolves early when `signal` aborts. @default a `setTimeout` promise */
  readonly sleep?: (millis: number, signal?: AbortSignal) => Promise<void>;
  /** Stops long-running commands (`monitor`, `serve`, `dashboard`, `demo --dashboard`); the binary aborts it on SIGINT / SIGTERM. @default never */
  readonly shutdown?: AbortSignal;
  /** Metric source of `monitor` instead of the Prometheus HTTP API (tests, embedding). @default Prometheus at `--prometheus` */
  readonly metricSource?: MetricSource;
  /** Runs `demo`. @default the bundled support-agent demo (`bundledDemo`) */
  readonly runDemo?: DemoRunner;
}

const VERSION = readVersion();

function readVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return manifest.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const ACTION_HELP: Readonly<Record<ManualAction, string>> = {
  pause: 'hold the rollout at its current step (the gate keeps evaluating)',
  resume: 'continue a paused rollout',
  promote: 'skip the remaining steps and make the canary the stable release',
  rollback: 'set the canary share to zero now and end the rollout as rolled back',
  abort: 'stop the rollout without promoting (routing returns to the stable release)',
  approve: 'approve a promotion the rollout is waiting for (requireApproval)',
};

const ROOT_HELP_FOOTER = `
Environment:
  ${ENV.config}   rollout definition file (same as --config)
  ${ENV.store}    controller store (same as --store; default ${DEFAULT_STORE_PATH})
  ${ENV.actor}    who is acting, for the audit log (same as --actor; default $USER)
  AGENT_CANARY_ROUTING_FILE  embedded routing state file, when routing.options.path is not set
  ${PROMETHEUS_URL_ENV}  Prometheus HTTP API the monitor reads (same as --prometheus)
  AGENT_CANARY_API_TOKEN  bearer token of the controller API of serve and dashboard (same as --token)
  AGENT_CANARY_DASHBOARD_TOKEN  token granting read access to the dashboard (same as --dashboard-token)
  AGENT_CANARY_INGEST_TOKEN  bearer token of the serve OTLP receiver (same as --ingest-token)
  Routing providers read their own variables (UNLEASH_*, LAUNCHDARKLY_*, LANGFUSE_*, ...): see docs/cli.md

Exit codes:
  0  success
  1  the rollout rolled back or was aborted, a manual action was refused, or a drift alert is open
  2  usage or configuration error
  3  runtime error (store unreadable, file not writable, ...)

Documentation: docs/cli.md`;

function durationOption(value: string): number {
  const millis = /^\d+$/.test(value) ? Number(value) : parseDurationMillis(value);
  if (millis === undefined || millis <= 0) {
    throw new InvalidArgumentError('expected a duration like "2s", "500ms" or "1m", or milliseconds');
  }
  return millis;
}

function sleep(millis: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // Cleared on abort: a pending timer would keep a stopped `monitor` alive for a whole interval.
    const timer = setTimeout(resolve, millis);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

function integerOption(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number)) {
    throw new InvalidArgumentError('expected a whole number');
  }
  return number;
}

function positiveOption(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError('expected a positive number');
  }
  return number;
}

function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

function jsonOption(): Option {
  return new Option('--json', 'print one JSON document to stdout and nothing else');
}

function storeOption(): Option {
  return new Option('--store <path>', `controller store file (env ${ENV.store}; default ${DEFAULT_STORE_PATH})`);
}

/** True when the user asked for JSON (before any `--` terminator). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function buildProgram(
  context: CommandContext,
  json: boolean,
  setExit: (code: ExitCode) => void,
  dependencies: RunDependencies,
): Command {
  const program = new Command('agent-canary');
  program
    .description(
      'Canary releases for LLM agents: start, watch and steer rollouts, report on them, register releases, ' +
        'watch for drift, and serve the controller and its live dashboard.',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .exitOverride()
    .configureOutput({
      writeOut: context.io.stdout,
      // Under --json, commander's own messages are replaced by the JSON error document.
      writeErr: json ? () => {} : context.io.stderr,
    })
    .showHelpAfterError(json ? false : '(add --help for usage)')
    .addHelpText('after', ROOT_HELP_FOOTER);

  const rollout = program
    .command('rollout')
    .description('start a rollout, look at it, and steer it by hand')
    .addHelpText('after', '\nRun `agent-canary rollout <command> --help` for the options of each command.');

  rollout
    .command('start')
    .description('validate a rollout definition and start it (first step) in the controller store')
    .option('-c, --config <path>', `rollout definition, YAML or JSON (env ${ENV.config})`)
    .addOption(storeOption())
    .option('--actor <name>', `who starts it, for the audit log (env ${ENV.actor}; default $USER)`)
    .addOption(jsonOption())
    .action(async (options: { config?: string; store?: string; actor?: string; json?: boolean }) => {
      setExit(await rolloutStart(context, { ...options, json: options.json === true }));
    });

  rollout
    .command('status')
    .description('show one rollout (exit 1 if it rolled back), or list every rollout')
    .argument('[rolloutId]', 'rollout to show; all rollouts when omitted')
    .addOption(storeOption())
    .option('-w, --watch', 'poll until the rollout ends; shows progress on a terminal')
    .addOption(
      new Option('--interval <duration>', 'poll interval of --watch').argParser(durationOption).default(2000, '2s'),
    )
    .option('--timeout <duration>', 'give up --watch after this long (exit 3)', durationOption)
    .addOption(jsonOption())
    .action(
      async (
        rolloutId: string | undefined,
        options: { store?: string; watch?: boolean; interval: number; timeout?: number; json?: boolean },
      ) => {
        setExit(
          await rolloutStatus(context, rolloutId, {
            ...(options.store ? { store: options.store } : {}),
            json: options.json === true,
            watch: options.watch === true,
            intervalMillis: options.interval,
            ...(options.timeout === undefined ? {} : { timeoutMillis: options.timeout }),
          }),
        );
      },
    );

  for (const action of Object.values(MANUAL_ACTION)) {
    rollout
      .command(action)
      .description(`${ACTION_HELP[action]}; exit 1 if the controller refuses it`)
      .argument('<rolloutId>', 'rollout to act on')
      .requiredOption('--reason <text>', 'why, for the audit log (required)')
      .option('--actor <name>', `who acts (env ${ENV.actor}; default $USER)`)
      .option('-c, --config <path>', `rollout definition: routing provider and webhook to use (env ${ENV.config})`)
      .addOption(storeOption())
      .addOption(jsonOption())
      .action(
        async (
          rolloutId: string,
          options: { config?: string; store?: string; actor?: string; reason: string; json?: boolean },
        ) => {
          setExit(await rolloutAction(context, action, rolloutId, { ...options, json: options.json === true }));
        },
      );
  }

  program
    .command('report')
    .description('write a self-contained HTML report of one rollout (opens without network access)')
    .requiredOption('-r, --rollout <id>', 'rollout to report on (required)')
    .option('-o, --out <file>', 'output file', 'agent-canary-report.html')
    .addOption(storeOption())
    .addOption(jsonOption())
    .action(async (options: { rollout: string; out: string; store?: string; json?: boolean }) => {
      setExit(await reportCommand(context, { ...options, json: options.json === true }));
    });

  const release = program
    .command('release')
    .description('register releases (prompt, model, parameters) and look at their status')
    .addHelpText('after', '\nRun `agent-canary release <command> --help` for the options of each command.');

  release
    .command('create')
    .description('register a release in the controller store (its prompt hash, model and parameters)')
    .requiredOption('--id <release>', 'release id: the value the release flag serves (required)')
    .requiredOption('--model <name>', 'model name as sent to the provider (required)')
    .addOption(
      new Option('--prompt-file <file>', 'prompt text to hash (the text itself is not stored)').conflicts('promptHash'),
    )
    .option('--prompt-hash <hash>', 'prompt hash, when the text is not at hand (e.g. sha256:0123456789abcdef)')
    .option('--provider <name>', 'model provider (gen_ai.provider.name)')
    .option('--param <key=value>', 'model parameter, repeatable (temperature=0.2)', collect)
    .option('--prompt-name <name>', 'prompt name in a prompt-management system (e.g. Langfuse)')
    .option('--prompt-version <n>', 'prompt version there', integerOption)
    .option('--prompt-label <label>', 'label the app fetches the prompt by')
    .option('--description <text>', 'free text for humans')
    .option('--stable', 'register it as the release already serving everyone (the first release)')
    .addOption(storeOption())
    .option('--actor <name>', `who registers it (env ${ENV.actor}; default $USER)`)
    .addOption(jsonOption())
    .action(
      async (options: {
        id: string;
        model: string;
        promptFile?: string;
        promptHash?: string;
        provider?: string;
        param?: string[];
        promptName?: string;
        promptVersion?: number;
        promptLabel?: string;
        description?: string;
        stable?: boolean;
        store?: string;
        actor?: string;
        json?: boolean;
      }) => {
        const { param, ...rest } = options;
        setExit(await releaseCreate(context, { ...rest, params: param ?? [], json: options.json === true }));
      },
    );

  release
    .command('list')
    .description('list registered releases with their current status, newest first')
    .addOption(new Option('--status <status>', 'only releases with this status').choices(Object.values(RELEASE_STATUS)))
    .option('--flag <key>', 'derive statuses from the rollouts of this release flag only')
    .addOption(storeOption())
    .addOption(jsonOption())
    .action(async (options: { status?: ReleaseStatus; flag?: string; store?: string; json?: boolean }) => {
      setExit(await releaseList(context, { ...options, json: options.json === true }));
    });

  release
    .command('show')
    .description('show one release: configuration and status history (exit 3 when unknown)')
    .argument('<id>', 'release id')
    .option('--flag <key>', 'derive its status from the rollouts of this release flag only')
    .addOption(storeOption())
    .addOption(jsonOption())
    .action(async (id: string, options: { flag?: string; store?: string; json?: boolean }) => {
      setExit(await releaseShow(context, id, { ...options, json: options.json === true }));
    });

  program
    .command('monitor')
    .description('watch the stable release for behaviour drift against its baseline (exit 1 when an alert is open)')
    .addOption(new Option('--flag <key>', 'follow the promotions of this release flag').conflicts('release'))
    .option('--release <id>', 'watch this release instead of the stable one in the store')
    .option('--window <duration>', 'monitoring window (default 1h)', durationOption)
    .option('--baseline <duration>', 'observation before a baseline is frozen (default 1h)', durationOption)
    .option('--interval <duration>', 'time between ticks (default 60s)', durationOption)
    .option('--webhook <url>', 'POST drift alerts to this URL')
    .option('--prometheus <url>', `Prometheus HTTP API to read metrics from (env ${PROMETHEUS_URL_ENV})`)
    .option('--once', 'tick once, print the result and exit')
    .option('--freeze-baseline', 'accept the last --baseline of behaviour as the new normal, then exit')
    .option('--reason <text>', 'why the baseline is frozen (required with --freeze-baseline)')
    .option('--actor <name>', `who freezes it (env ${ENV.actor}; default $USER)`)
    .addOption(storeOption())
    .addOption(jsonOption())
    .action(
      async (options: {
        flag?: string;
        release?: string;
        window?: number;
        baseline?: number;
        interval?: number;
        webhook?: string;
        prometheus?: string;
        once?: boolean;
        freezeBaseline?: boolean;
        reason?: string;
        actor?: string;
        store?: string;
        json?: boolean;
      }) => {
        const { window, baseline, interval, once, freezeBaseline, json: asJson, ...rest } = options;
        setExit(
          await monitorCommand(
            context,
            {
              ...rest,
              ...(window === undefined ? {} : { windowMillis: window }),
              ...(baseline === undefined ? {} : { baselineMillis: baseline }),
              ...(interval === undefined ? {} : { intervalMillis: interval }),
              once: once === true,
              freezeBaseline: freezeBaseline === true,
              json: asJson === true,
            },
            dependencies.metricSource,
          ),
        );
      },
    );

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
            dependencies.runDemo,
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

  program
    .command('serve')
    .description(
      'receive OTLP traces, run the controller on them, serve its HTTP API and the live dashboard (until SIGINT/SIGTERM)',
    )
    .option('-c, --config <path>', `rollout definition: routing, gate, webhook, rollout to start (env ${ENV.config})`)
    .addOption(
      new Option('--routing <provider>', "routing provider, overriding the definition's").choices(
        Object.values(ROUTING_PROVIDER),
      ),
    )
    .option('--port <port>', 'TCP port (0 picks a free one)', integerOption, 4318)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--token <token>', 'bearer token of the controller API (prefer env AGENT_CANARY_API_TOKEN)')
    .option(
      '--dashboard-token <token>',
      'token granting read access to the dashboard (prefer env AGENT_CANARY_DASHBOARD_TOKEN)',
    )
    .option(
      '--ingest-token <token>',
      'bearer token senders of spans must present (prefer env AGENT_CANARY_INGEST_TOKEN; required beyond loopback)',
    )
    .option('--allow-unauthenticated-ingest', 'accept spans without a token on a host beyond loopback')
    .addOption(storeOption())
    .option('--snapshot <file>', 'behaviour processor snapshot file (keeps its state across restarts)')
    .option(
      '--snapshot-interval <duration>',
      'how often the snapshot is written (env AGENT_CANARY_SNAPSHOT_INTERVAL_MILLIS; default 30s)',
      durationOption,
    )
    .option('--monitor', 'also watch the stable release for behaviour drift')
    .option('--actor <name>', `who starts the definition's rollout (env ${ENV.actor}; default $USER)`)
    .addOption(jsonOption())
    .action(
      async (options: {
        config?: string;
        routing?: RoutingProvider;
        port: number;
        host: string;
        token?: string;
        dashboardToken?: string;
        ingestToken?: string;
        allowUnauthenticatedIngest?: boolean;
        store?: string;
        snapshot?: string;
        snapshotInterval?: number;
        monitor?: boolean;
        actor?: string;
        json?: boolean;
      }) => {
        const { snapshotInterval, ...rest } = options;
        setExit(
          await serveCommand(context, {
            ...rest,
            ...(snapshotInterval === undefined ? {} : { snapshotIntervalMillis: snapshotInterval }),
            monitor: options.monitor === true,
            json: options.json === true,
          }),
        );
      },
    );

  program
    .command('dashboard')
    .description(
      'serve the live dashboard for a store another process writes, e.g. the embedded default (until SIGINT/SIGTERM)',
    )
    .option(
      '--store <path>',
      `the embedded state directory (state.db, routing.json) or the store file (env ${ENV.store}; default ${DEFAULT_STORE_PATH})`,
    )
    .option('-c, --config <path>', `rollout definition: the routing and webhook actions use (env ${ENV.config})`)
    .option('--port <port>', 'TCP port (0 picks a free one)', integerOption, DASHBOARD_PORT)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--token <token>', 'controller API token: turns the page actions on (prefer env AGENT_CANARY_API_TOKEN)')
    .option(
      '--dashboard-token <token>',
      'token granting read access to the dashboard (prefer env AGENT_CANARY_DASHBOARD_TOKEN)',
    )
    .addOption(jsonOption())
    .action(
      async (options: {
        store?: string;
        config?: string;
        port: number;
        host: string;
        token?: string;
        dashboardToken?: string;
        json?: boolean;
      }) => {
        setExit(await dashboardCommand(context, { ...options, json: options.json === true }));
      },
    );

  const config = program.command('config').description('work with rollout definition files');
  config
    .command('validate')
    .description('check a rollout definition file and print it with defaults applied (exit 2 if invalid)')
    .argument('[file]', `definition file, YAML or JSON (default: --config or env ${ENV.config})`)
    .option('-c, --config <path>', 'definition file')
    .addOption(jsonOption())
    .action(async (file: string | undefined, options: { config?: string; json?: boolean }) => {
      setExit(await configValidate(context, file, { ...options, json: options.json === true }));
    });

  return program;
}

/**
 * Runs one invocation of `agent-canary` and returns its exit code.
 *
 * @param argv the user's arguments, without `node` and the script path
 * @example
 * const code = await run(['rollout', 'status', '--json'], processIo());
 */
export async function run(argv: readonly string[], io: CliIo, dependencies: RunDependencies = {}): Promise<number> {
  const json = wantsJson(argv);
  const context: CommandContext = {
    io,
    ...(dependencies.openStore ? { openStore: dependencies.openStore } : {}),
    now: dependencies.now ?? Date.now,
    sleep: dependencies.sleep ?? sleep,
    ...(dependencies.shutdown ? { shutdown: dependencies.shutdown } : {}),
  };
  let exitCode: ExitCode = EXIT_CODE.ok;
  const program = buildProgram(
    context,
    json,
    (code) => {
      exitCode = code;
    },
    dependencies,
  );
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExit(io, json, error);
    return reportFailure(io, json, error);
  }
}

function commanderExit(io: CliIo, json: boolean, error: CommanderError): ExitCode {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_CODE.ok;
  if (json) {
    // `commander.help` is the help printed because no command was given.
    const message = error.code === 'commander.help' ? 'a command is required' : error.message.replace(/^error: /, '');
    io.stdout(`${JSON.stringify({ ok: false, error: { code: 'usage', message } }, null, 2)}\n`);
  }
  return EXIT_CODE.usage;
}
