/**
 * The `agent-canary` command, built with commander. `run(argv, io)` parses and runs one
 * invocation and returns its exit code; nothing here touches `process` directly, so
 * every command runs in tests without spawning a process. This file is the wiring (root
 * command, exit codes, JSON errors); the commands table, group by group, is in `program/`.
 */
import { readFileSync } from 'node:fs';
import type { MetricSource } from '@agent-canary/gate';
import { Command, CommanderError } from 'commander';
import { type CommandContext, DEFAULT_STORE_PATH, ENV } from './commands/context.js';
import type { DemoRunner } from './commands/demo.js';
import { PROMETHEUS_URL_ENV } from './commands/monitor.js';
import { EXIT_CODE, type ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { reportFailure } from './output.js';
import { addDemoCommands } from './program/demo.js';
import type { CommandWiring } from './program/options.js';
import { addReleaseCommands } from './program/release.js';
import { addConfigCommands, addRolloutCommands } from './program/rollout.js';
import { addServiceCommands } from './program/services.js';
import type { OpenStore } from './store.js';

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

  const wiring: CommandWiring = {
    context,
    setExit,
    ...(dependencies.metricSource ? { metricSource: dependencies.metricSource } : {}),
    ...(dependencies.runDemo ? { runDemo: dependencies.runDemo } : {}),
  };
  // Added in the order the root help lists them.
  addRolloutCommands(program, wiring);
  addReleaseCommands(program, wiring);
  addDemoCommands(program, wiring);
  addServiceCommands(program, wiring);
  addConfigCommands(program, wiring);
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
