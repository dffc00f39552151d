import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Notifier, RolloutStore, webhookNotifier } from '@agent-canary/controller';
import { envValue, type RoutingAdapter } from '@agent-canary/conventions';
import { describeReadAccess, SERVER_ENV, startServer } from '@agent-canary/server';
import type { RolloutDefinition, RoutingDefinition } from '../config.js';
import { actionController, storedRolloutActions } from '../controller-store.js';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { CliFailure, createOutput } from '../output.js';
import { createRoutingAdapter, ROUTING_FILE_ENV } from '../routing.js';
import { type CommandContext, ENV, optionalDefinition, resolveStorePath, untilShutdown } from './context.js';

/** Port of `agent-canary dashboard` (and `demo --dashboard`) when none is given. */
export const DASHBOARD_PORT = 4319;

/** The files of the embedded default's state directory (`createEmbeddedCanary({ stateDir })`). */
const STATE_DIR_FILES = Object.freeze({ store: 'state.db', routing: 'routing.json' });

/** Options of `dashboard`. */
export interface DashboardCommandOptions {
  /**
   * The store: the embedded default's state directory (its `state.db`, and `routing.json`
   * for actions) or the SQLite file itself.
   */
  readonly store?: string;
  /** Rollout definition: the routing and webhook actions use (otherwise the state directory's `routing.json`). */
  readonly config?: string;
  /** @default 4319 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Controller API token: with it, the page's actions are on (env `AGENT_CANARY_API_TOKEN`). */
  readonly token?: string;
  /** Token granting read access (env `AGENT_CANARY_DASHBOARD_TOKEN`). */
  readonly dashboardToken?: string;
  readonly json: boolean;
}

interface StoreLocation {
  readonly storePath: string;
  /** The embedded routing file next to the store, when there is one. */
  readonly routingFile?: string;
}

function locateStore(path: string): StoreLocation {
  if (existsSync(path) && statSync(path).isDirectory()) {
    return { storePath: join(path, STATE_DIR_FILES.store), routingFile: join(path, STATE_DIR_FILES.routing) };
  }
  const sibling = join(dirname(path), STATE_DIR_FILES.routing);
  return { storePath: path, ...(existsSync(sibling) ? { routingFile: sibling } : {}) };
}

/** The routing the page's actions write: the definition's, else the embedded file next to the store or in the environment. */
function actionRouting(
  context: CommandContext,
  definition: RolloutDefinition | undefined,
  location: StoreLocation,
): RoutingDefinition | undefined {
  if (definition !== undefined) return definition.routing;
  const file = location.routingFile ?? envValue(context.io.env[ROUTING_FILE_ENV]);
  return file === undefined ? undefined : { provider: 'embedded', options: { path: file } };
}

/**
 * `dashboard`: serves the live dashboard for a store another process writes (the
 * embedded default: an app running `createEmbeddedCanary({ stateDir })`), on loopback
 * by default, until SIGINT / SIGTERM. With an API token the page's actions are on: they
 * restore a controller on the same store for the rollout and write the same routing
 * (the app's controller reads its state from the store on every tick).
 */
export async function dashboardCommand(context: CommandContext, options: DashboardCommandOptions): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const definition = await optionalDefinition(context, options.config);
  const location = locateStore(resolveStorePath(context, options.store, definition?.storePath));
  if (!existsSync(location.storePath)) {
    throw new CliFailure(
      'store_not_found',
      `no rollout store at ${location.storePath} (pass --store <state directory or file> or set ${ENV.store})`,
      EXIT_CODE.runtime,
    );
  }
  const token = options.token ?? envValue(context.io.env[SERVER_ENV.apiToken]);
  const routingDefinition = actionRouting(context, definition, location);
  const actionsOff =
    token === undefined
      ? `no API token (--token or ${SERVER_ENV.apiToken})`
      : routingDefinition === undefined
        ? `no routing to write: pass --config, or set ${ROUTING_FILE_ENV}`
        : undefined;
  const store = new RolloutStore({ path: location.storePath });
  let routing: RoutingAdapter | undefined;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    if (actionsOff === undefined && routingDefinition !== undefined) {
      routing = await createRoutingAdapter(routingDefinition, { env: context.io.env, cwd: context.io.cwd });
    }
    const notifiers: Notifier[] = definition?.notifications.webhookUrl
      ? [webhookNotifier({ url: definition.notifications.webhookUrl })]
      : [];
    const actions =
      routing === undefined
        ? undefined
        : storedRolloutActions({
            store,
            controller: async () =>
              actionController({
                store,
                routing: routing as RoutingAdapter,
                notifiers,
                clock: context.now,
                env: context.io.env,
              }),
            clock: context.now,
          });
    server = await startServer({
      port: options.port ?? DASHBOARD_PORT,
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(actions === undefined || token === undefined ? {} : { store, actions, apiToken: token }),
      dashboard: {
        store,
        clock: context.now,
        ...(options.dashboardToken === undefined ? {} : { readToken: options.dashboardToken }),
      },
      env: context.io.env,
    });
    const readAccess = describeReadAccess(server.config.dashboard?.readToken, server.config.host);
    output.result(
      {
        ok: true,
        url: `${server.url}/`,
        store: location.storePath,
        readAccess,
        actions: actions !== undefined,
        ...(actionsOff === undefined ? {} : { actionsOff }),
        ...(routingDefinition === undefined || actions === undefined ? {} : { routing: routingDefinition.provider }),
      },
      `agent-canary dashboard on ${server.url}/\n` +
        `  store    ${location.storePath}\n` +
        `  read     ${readAccess}\n` +
        (actions === undefined
          ? `  actions  off: ${actionsOff}\n`
          : `  actions  on, writing ${routingDefinition?.provider} routing (controller API token from --token or ${SERVER_ENV.apiToken})\n`),
    );
    await Promise.race([server.closed, untilShutdown(context.shutdown)]);
  } finally {
    // Closes the API's store too (the same one); closing twice is fine.
    await server?.shutdown();
    store.close();
    await routing?.close();
  }
  return EXIT_CODE.ok;
}
