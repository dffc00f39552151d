import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  inProcessSource,
  isFinalPhase,
  type Notifier,
  RolloutController,
  type RolloutRecord,
  RolloutStore,
  webhookNotifier,
} from '@agent-canary/controller';
import { ConfigError, envValue } from '@agent-canary/conventions';
import { createGate, resolveGateConfig } from '@agent-canary/gate';
import { type BehaviorMonitor, createBehaviorMonitor, processorBehaviorSource } from '@agent-canary/monitor';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import {
  describeReadAccess,
  OTLP_TRACES_PATH,
  SERVER_DEFAULTS,
  SERVER_ENV,
  type ServerOptions,
  startServer,
} from '@agent-canary/server';
import type { RoutingProvider } from '../config/file-schema.js';
import { loadRolloutDefinition, type RoutingDefinition, type ServeDefinition } from '../config.js';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { createOutput } from '../output.js';
import { createRoutingAdapter } from '../routing.js';
import { type CommandContext, ENV, resolveActor, resolvePath, resolveStorePath, untilShutdown } from './context.js';

/** Options of `serve`. */
export interface ServeCommandOptions {
  /** Rollout definition: routing, gate, webhook, and the rollout to start when none is active. */
  readonly config?: string;
  /** Routing provider, overriding the definition's (its options then come from the environment). */
  readonly routing?: RoutingProvider;
  /** @default 4318 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** API bearer token (env `AGENT_CANARY_API_TOKEN`, which keeps it out of the process list). */
  readonly token?: string;
  /** Token granting read access to the dashboard (env `AGENT_CANARY_DASHBOARD_TOKEN`). */
  readonly dashboardToken?: string;
  /** Bearer token of the OTLP receiver (env `AGENT_CANARY_INGEST_TOKEN`). */
  readonly ingestToken?: string;
  /** Accept spans without a token beyond loopback (file `serve.allowUnauthenticatedIngest`). @default false */
  readonly allowUnauthenticatedIngest?: boolean;
  readonly store?: string;
  /** Behaviour processor snapshot file (state survives restarts). */
  readonly snapshot?: string;
  /** How often the snapshot is written, ms (env `AGENT_CANARY_SNAPSHOT_INTERVAL_MILLIS`, file `serve.snapshotInterval`). */
  readonly snapshotIntervalMillis?: number;
  /** Also run the behaviour monitor of the stable release on the received spans. */
  readonly monitor: boolean;
  readonly actor?: string;
  readonly json: boolean;
}

/** Environment variables `serve` reads itself (the server reads {@link SERVER_ENV}). */
export const SERVE_ENV = Object.freeze({
  snapshotIntervalMillis: 'AGENT_CANARY_SNAPSHOT_INTERVAL_MILLIS',
});

/**
 * The server options of the file's `serve` section, except those an environment variable
 * sets: precedence is flag, then environment, then file, then default.
 */
function serverOptionsOfFile(
  serve: ServeDefinition,
  env: Readonly<Record<string, string | undefined>>,
): Partial<ServerOptions> {
  const { snapshotIntervalMillis: _interval, ...fields } = serve;
  return Object.fromEntries(
    Object.entries(fields).filter(([name]) => {
      const variable = (SERVER_ENV as Readonly<Record<string, string>>)[name];
      return variable === undefined || envValue(env[variable]) === undefined;
    }),
  );
}

function snapshotIntervalOf(
  option: number | undefined,
  env: Readonly<Record<string, string | undefined>>,
  fromFile: number | undefined,
): number | undefined {
  if (option !== undefined) return option;
  const raw = envValue(env[SERVE_ENV.snapshotIntervalMillis]);
  if (raw === undefined) return fromFile;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError({
      path: `env.${SERVE_ENV.snapshotIntervalMillis}`,
      expected: 'a positive integer (milliseconds)',
      received: raw,
    });
  }
  return value;
}

/** What serve says about a rollout of the definition that already ended in the store. */
function endedRolloutNote(record: RolloutRecord, configPath: string | undefined): string {
  const at = new Date(record.state.updatedAtMillis).toISOString();
  return (
    `rollout ${record.id} is over (${record.state.phase} at ${at}); nothing to resume. ` +
    `To start a new rollout, give ${configPath ?? 'the definition'} a new rolloutId (or remove rolloutId ` +
    'for a generated one) and restart serve.'
  );
}

/**
 * `serve`: receives OTLP/HTTP traces into the behaviour processor, runs the controller's
 * gate on them (resuming the active rollout of the store, or starting the definition's),
 * serves the controller's HTTP API and the live dashboard at `/`, and shuts down
 * gracefully on SIGINT / SIGTERM.
 */
export async function serveCommand(context: CommandContext, options: ServeCommandOptions): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const configPath = options.config ?? context.io.env[ENV.config];
  const definition = configPath
    ? await loadRolloutDefinition(resolvePath(context, configPath), context.io.env)
    : undefined;
  const routingDefinition: RoutingDefinition =
    options.routing === undefined
      ? (definition?.routing ?? { provider: 'embedded', options: {} })
      : {
          provider: options.routing,
          options: definition?.routing.provider === options.routing ? definition.routing.options : {},
        };
  // serve is the long-running controller process: it also runs the flagd sync server of mode: sync.
  const routing = await createRoutingAdapter(routingDefinition, {
    env: context.io.env,
    cwd: context.io.cwd,
    serveFlagdSync: true,
  });
  const storePath = resolveStorePath(context, options.store, definition?.storePath);
  mkdirSync(dirname(storePath), { recursive: true });
  const store = new RolloutStore({ path: storePath });
  const serveDefinition = definition?.serve ?? {};
  const snapshotIntervalMillis = snapshotIntervalOf(
    options.snapshotIntervalMillis,
    context.io.env,
    serveDefinition.snapshotIntervalMillis,
  );
  const behavior = new BehaviorSpanProcessor(
    options.snapshot === undefined
      ? {}
      : {
          snapshotPath: resolvePath(context, options.snapshot),
          ...(snapshotIntervalMillis === undefined ? {} : { snapshotIntervalMillis }),
        },
  );
  const notifiers: Notifier[] = definition?.notifications.webhookUrl
    ? [webhookNotifier({ url: definition.notifications.webhookUrl })]
    : [];
  let monitor: BehaviorMonitor | undefined;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const controller = new RolloutController({
      store,
      routing,
      gate: createGate(resolveGateConfig(definition?.gate ?? {}), inProcessSource(behavior)),
      notifiers,
      env: context.io.env,
    });
    let status = await controller.restore();
    // A definition whose fixed rollout id already ended in this store is not started again
    // (the id is taken): serve runs without a rollout and says so.
    let ended: RolloutRecord | undefined;
    if (status === undefined && definition !== undefined) {
      const previous = definition.rollout.id === undefined ? undefined : store.getRollout(definition.rollout.id);
      if (previous !== undefined && isFinalPhase(previous.state.phase)) ended = previous;
      else status = await controller.start(definition.rollout, resolveActor(context, options.actor));
    }
    const endedNote = ended === undefined ? undefined : endedRolloutNote(ended, configPath);
    if (options.monitor) {
      monitor = createBehaviorMonitor({
        store,
        source: processorBehaviorSource(behavior),
        notifiers,
        ...(definition ? { flagKey: definition.rollout.flagKey } : {}),
      });
    }
    server = await startServer({
      ...serverOptionsOfFile(serveDefinition, context.io.env),
      spanProcessors: [behavior],
      controller,
      store,
      port: options.port ?? SERVER_DEFAULTS.port,
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.token === undefined ? {} : { apiToken: options.token }),
      dashboard: {
        store,
        metricSource: inProcessSource(behavior),
        ...(options.dashboardToken === undefined ? {} : { readToken: options.dashboardToken }),
      },
      ...(options.ingestToken === undefined ? {} : { ingestToken: options.ingestToken }),
      ...(options.allowUnauthenticatedIngest === true ? { allowUnauthenticatedIngest: true } : {}),
      env: context.io.env,
    });
    const ingest =
      server.config.ingestToken !== undefined
        ? `bearer token from --ingest-token or ${SERVER_ENV.ingestToken}`
        : server.config.allowUnauthenticatedIngest
          ? 'no token: anyone who can reach it may send spans'
          : 'no token: loopback only';
    if (status) controller.run();
    monitor?.run();
    output.result(
      {
        ok: true,
        url: server.url,
        dashboardUrl: `${server.url}/`,
        otlpTracesUrl: `${server.url}${OTLP_TRACES_PATH}`,
        routing: routingDefinition.provider,
        store: storePath,
        ...(status ? { rolloutId: status.rolloutId, phase: status.phase } : {}),
        ...(ended ? { rolloutId: ended.id, phase: ended.state.phase, ended: true, note: endedNote } : {}),
        ingestAuth: server.config.ingestToken !== undefined,
        monitor: options.monitor,
      },
      `agent-canary serve listening on ${server.url}\n` +
        `  dashboard         ${server.url}/ (read access: ${describeReadAccess(server.config.dashboard?.readToken, server.config.host)})\n` +
        `  OTLP/HTTP traces  ${server.url}${OTLP_TRACES_PATH} (${ingest})\n` +
        `  controller API    ${server.url}/v1/rollouts (bearer token from --token or ${SERVER_ENV.apiToken})\n` +
        `  routing           ${routingDefinition.provider}, store ${storePath}\n` +
        (status
          ? `  rollout           ${status.rolloutId} (${status.phase})\n`
          : endedNote
            ? `  rollout           ${endedNote}\n`
            : '  rollout           none active\n') +
        (options.monitor ? '  monitor           watching the stable release for drift\n' : ''),
    );
    await Promise.race([server.closed, untilShutdown(context.shutdown)]);
    output.note('agent-canary serve: shutting down (draining spans, persisting state)');
  } finally {
    monitor?.stop();
    await monitor?.idle();
    // Shuts down the processor (last snapshot), stops the controller loop and closes the store.
    if (server) await server.shutdown();
    else {
      await behavior.shutdown();
      store.close();
    }
    await routing.close();
  }
  return EXIT_CODE.ok;
}
