/**
 * The `agent-canary` command, built with commander. `run(argv, io)` parses and runs one
 * invocation and returns its exit code; nothing here touches `process` directly, so
 * every command runs in tests without spawning a process.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { configValidate } from './commands/config.js';
import { type CommandContext, DEFAULT_STORE_PATH, ENV } from './commands/context.js';
import { reportCommand } from './commands/report.js';
import { rolloutAction, rolloutStart, rolloutStatus } from './commands/rollout.js';
import { parseDurationMillis } from './config.js';
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
  /** @default a `setTimeout` promise */
  readonly sleep?: (millis: number) => Promise<void>;
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

Exit codes:
  0  success
  1  the rollout rolled back or was aborted, or a manual action was refused
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

function buildProgram(context: CommandContext, json: boolean, setExit: (code: ExitCode) => void): Command {
  const program = new Command('agent-canary');
  program
    .description('Canary releases for LLM agents: start, watch and steer rollouts, and report on them.')
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
    sleep: dependencies.sleep ?? ((millis) => new Promise((resolve) => setTimeout(resolve, millis))),
  };
  let exitCode: ExitCode = EXIT_CODE.ok;
  const program = buildProgram(context, json, (code) => {
    exitCode = code;
  });
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
