/**
 * The command table of releases: `release create | list | show`, and `monitor`, which
 * watches the stable release for behaviour drift.
 */
import { RELEASE_STATUS, type ReleaseStatus } from '@agent-canary/monitor';
import { type Command, Option } from 'commander';
import { ENV } from '../commands/context.js';
import { monitorCommand, PROMETHEUS_URL_ENV } from '../commands/monitor.js';
import { releaseCreate, releaseList, releaseShow } from '../commands/release.js';
import { type CommandWiring, collect, durationOption, integerOption, jsonOption, storeOption } from './options.js';

/** Adds `release` with its subcommands, and `monitor`. */
export function addReleaseCommands(program: Command, { context, setExit, metricSource }: CommandWiring): void {
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
            metricSource,
          ),
        );
      },
    );
}
