import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  inProcessSource,
  type Notifier,
  RolloutController,
  RolloutStore,
  webhookNotifier,
} from '@agent-canary/controller';
import { createGate, resolveGateConfig } from '@agent-canary/gate';
import { type BehaviorMonitor, createBehaviorMonitor, processorBehaviorSource } from '@agent-canary/monitor';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { describeReadAccess, OTLP_TRACES_PATH, SERVER_DEFAULTS, SERVER_ENV, startServer } from '@agent-canary/server';
import { loadRolloutDefinition, type RoutingDefinition, type RoutingProvider } from '../config.js';
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
  readonly store?: string;
  /** Behaviour processor snapshot file (state survives restarts). */
  readonly snapshot?: string;
  /** Also run the behaviour monitor of the stable release on the received spans. */
  readonly monitor: boolean;
  readonly actor?: string;
  readonly json: boolean;
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
  const behavior = new BehaviorSpanProcessor(
    options.snapshot === undefined ? {} : { snapshotPath: resolvePath(context, options.snapshot) },
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
    const status =
      (await controller.restore()) ??
      (definition ? await controller.start(definition.rollout, resolveActor(context, options.actor)) : undefined);
    if (options.monitor) {
      monitor = createBehaviorMonitor({
        store,
        source: processorBehaviorSource(behavior),
        notifiers,
        ...(definition ? { flagKey: definition.rollout.flagKey } : {}),
      });
    }
    server = await startServer({
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
      env: context.io.env,
    });
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
        monitor: options.monitor,
      },
      `agent-canary serve listening on ${server.url}\n` +
        `  dashboard         ${server.url}/ (read access: ${describeReadAccess(server.config.dashboard?.readToken, server.config.host)})\n` +
        `  OTLP/HTTP traces  ${server.url}${OTLP_TRACES_PATH}\n` +
        `  controller API    ${server.url}/v1/rollouts (bearer token from --token or ${SERVER_ENV.apiToken})\n` +
        `  routing           ${routingDefinition.provider}, store ${storePath}\n` +
        (status ? `  rollout           ${status.rolloutId} (${status.phase})\n` : '  rollout           none active\n') +
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
