/**
 * The command table of the long-running servers: `serve` (OTLP receiver, controller and
 * its API, dashboard) and `dashboard` (the live page for a store another process writes).
 */
import { type Command, Option } from 'commander';
import { DEFAULT_STORE_PATH, ENV } from '../commands/context.js';
import { DASHBOARD_PORT, dashboardCommand } from '../commands/dashboard.js';
import { serveCommand } from '../commands/serve.js';
import { ROUTING_PROVIDER, type RoutingProvider } from '../config/file-schema.js';
import { type CommandWiring, durationOption, integerOption, jsonOption, storeOption } from './options.js';

/** Adds `serve` and `dashboard`. */
export function addServiceCommands(program: Command, { context, setExit }: CommandWiring): void {
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
}
