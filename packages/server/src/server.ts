import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { diag } from '@opentelemetry/api';
import { ControllerApi } from './api.js';
import { resolveServerConfig, type ServerConfig, type ServerOptions } from './config.js';
import { isLoopbackHost } from './dashboard/access.js';
import { Dashboard } from './dashboard/dashboard.js';
import { sendJson } from './http.js';
import { emptyReceiverStats, type ReceiverStats, TraceReceiver } from './receiver.js';
import { exactRoute, type Route, Router } from './router.js';

/** Path of the OTLP/HTTP trace receiver. */
export const OTLP_TRACES_PATH = '/v1/traces';

/** A running server (see {@link startServer}). */
export interface AgentCanaryServer {
  /** Base URL, e.g. `http://127.0.0.1:4318`. */
  readonly url: string;
  /** The port listened on (useful with `port: 0`). */
  readonly port: number;
  /** Resolved configuration. */
  readonly config: ServerConfig;
  /** The receiver's counters. */
  receiverStats(): ReceiverStats;
  /**
   * Graceful shutdown, idempotent: readiness turns 503 and new export requests get 503 with
   * `Retry-After`; the listener stops accepting; open requests finish (up to
   * `shutdownTimeoutMillis`); queued spans are handed to the processors, which are shut down
   * (the behaviour processor writes its last snapshot); the controller's tick loop stops
   * after its current tick; the store is closed.
   */
  shutdown(): Promise<void>;
  /** Resolves when a shutdown (by call or by signal) has finished. */
  readonly closed: Promise<void>;
}

/**
 * Starts `agent-canary serve`: the OTLP/HTTP trace receiver (`POST /v1/traces`, its own
 * bearer token optional on loopback and required beyond), the controller API
 * (`/v1/rollouts/...`, bearer token), the live dashboard (`/`, when `dashboard` is given),
 * `GET /healthz` and `GET /readyz`, on one `node:http` listener whose routing table is
 * built here.
 *
 * @throws ConfigError for invalid options; the listen error when the port is taken.
 * @example
 * const behavior = new BehaviorSpanProcessor({ snapshotPath: 'behavior.json' });
 * const server = await startServer({
 *   port: 4318,
 *   spanProcessors: [behavior],
 *   controller, store,               // optional: the controller API
 *   apiToken: process.env.AGENT_CANARY_API_TOKEN,
 *   ingestToken: process.env.AGENT_CANARY_INGEST_TOKEN,
 *   handleSignals: true,
 * });
 */
export async function startServer(options: ServerOptions = {}): Promise<AgentCanaryServer> {
  const config = resolveServerConfig(options);
  const receiver = config.spanProcessors.length > 0 ? new TraceReceiver(config, config.spanProcessors) : undefined;
  const api =
    config.apiToken !== undefined &&
    (config.controller !== undefined || config.store !== undefined || config.actions !== undefined)
      ? new ControllerApi(config.apiToken, config.controller, config.store, config.actions)
      : undefined;
  const dashboard =
    config.dashboard === undefined
      ? undefined
      : new Dashboard(config.dashboard, {
          apiToken: api === undefined ? undefined : config.apiToken,
          actions: api?.acts ?? false,
          loopback: isLoopbackHost(config.host),
        });
  let shuttingDown = false;

  // The routing table: every endpoint of the server, in one place.
  const routes: Route[] = [
    exactRoute('/healthz', { GET: (_request, response) => sendJson(response, 200, { status: 'ok' }) }),
    exactRoute('/readyz', {
      GET: (_request, response) => {
        const ready = !shuttingDown && server.listening;
        sendJson(response, ready ? 200 : 503, {
          status: ready ? 'ready' : 'shutting down',
          ...(receiver === undefined ? {} : { queueFill: receiver.queueFill() }),
        });
      },
    }),
  ];
  if (receiver !== undefined) {
    routes.push(
      exactRoute(
        OTLP_TRACES_PATH,
        { POST: (request, response) => receiver.handle(request, response) },
        (request, response) => {
          request.resume();
          sendJson(response, 405, { code: 12, message: 'use POST' }, { allow: 'POST' });
        },
      ),
    );
  }
  if (api !== undefined) routes.push(api.route());
  if (dashboard !== undefined) {
    routes.push({
      matches: (path) => dashboard.matches(path),
      handle: (request, response, target) => dashboard.handle(request, response, target.path),
    });
  }
  const router = new Router(routes);

  const server: Server = createServer(
    {
      // Slow or stuck clients must not hold a connection forever: headers, then the body
      // (the receiver answers 408 itself at bodyTimeoutMillis; this is the backstop), then
      // idleness between requests.
      headersTimeout: config.headersTimeoutMillis,
      requestTimeout: config.headersTimeoutMillis + config.bodyTimeoutMillis + 1000,
      keepAliveTimeout: config.idleTimeoutMillis,
      // How often the timeouts are checked (Node's default is every 30 s).
      connectionsCheckingInterval: Math.max(
        50,
        Math.min(1000, Math.floor(Math.min(config.headersTimeoutMillis, config.bodyTimeoutMillis) / 4)),
      ),
    },
    (request, response) => {
      void router.dispatch(request, response).catch((error: unknown) => {
        diag.error('agent-canary server: request failed', error);
        if (!response.headersSent) sendJson(response, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
        else response.destroy();
      });
    },
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => diag.error('agent-canary server: listener error', error));
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let shutdownPromise: Promise<void> | undefined;
  const onSignal = () => void shutdown();

  async function shutdown(): Promise<void> {
    shutdownPromise ??= (async () => {
      shuttingDown = true;
      receiver?.close();
      if (config.handleSignals) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMillis);
      timer.unref();
      await listenerClosed;
      clearTimeout(timer);
      await receiver?.drained();
      for (const processor of config.spanProcessors) {
        try {
          await processor.shutdown();
        } catch (error) {
          diag.error('agent-canary server: a span processor failed to shut down', error);
        }
      }
      if (config.controller !== undefined) {
        config.controller.stop();
        await config.controller.idle();
      }
      try {
        config.store?.close();
      } catch (error) {
        diag.error('agent-canary server: closing the store failed', error);
      }
      resolveClosed();
    })();
    return shutdownPromise;
  }

  if (config.handleSignals) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  return {
    url: `http://${host}:${port}`,
    port,
    config,
    receiverStats: () => receiver?.stats() ?? emptyReceiverStats(),
    shutdown,
    closed,
  };
}
