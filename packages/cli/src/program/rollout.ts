/**
 * The command table of rollouts: `rollout start | status | <manual action>`, `report`, and
 * `config validate` for rollout definition files.
 */
import { type Command, Option } from 'commander';
import { configValidate } from '../commands/config.js';
import { ENV } from '../commands/context.js';
import { reportCommand } from '../commands/report.js';
import { rolloutAction, rolloutStart, rolloutStatus } from '../commands/rollout.js';
import { MANUAL_ACTION, type ManualAction } from '../store.js';
import { type CommandWiring, durationOption, jsonOption, storeOption } from './options.js';

const ACTION_HELP: Readonly<Record<ManualAction, string>> = {
  pause: 'hold the rollout at its current step (the gate keeps evaluating)',
  resume: 'continue a paused rollout',
  promote: 'skip the remaining steps and make the canary the stable release',
  rollback: 'set the canary share to zero now and end the rollout as rolled back',
  abort: 'stop the rollout without promoting (routing returns to the stable release)',
  approve: 'approve a promotion the rollout is waiting for (requireApproval)',
};

/** Adds `rollout` with its subcommands, and `report`. */
export function addRolloutCommands(program: Command, { context, setExit }: CommandWiring): void {
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
}

/** Adds `config validate`. */
export function addConfigCommands(program: Command, { context, setExit }: CommandWiring): void {
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
}
