import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { diag } from '@opentelemetry/api';
import { ControllerApi } from './api.js';
import { resolveServerConfig, type ServerConfig, type ServerOptions } from './config.js';
import { isLoopbackHost } from './dashboard/access.js';
import { Dashboard } from './dashboard/dashboard.js';
import { sendJson } from './http.js';
import { emptyReceiverStats, type ReceiverStats, TraceReceiver } from './receiver.js';

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
 * Starts `agent-canary serve`: the OTLP/HTTP trace receiver (`POST /v1/traces`), the
 * controller API (`/v1/rollouts/...`, bearer token), the live dashboard (`/`, when
 * `dashboard` is given), `GET /healthz` and `GET /readyz`, on one `node:http` listener.
 *
 * @throws ConfigError for invalid options; the listen error when the port is taken.
 * @example
 * const behavior = new BehaviorSpanProcessor({ snapshotPath: 'behavior.json' });
 * const server = await startServer({
 *   port: 4318,
 *   spanProcessors: [behavior],
 *   controller, store,               // optional: the controller API
 *   apiToken: process.env.AGENT_CANARY_API_TOKEN,
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

  const server: Server = createServer((request, response) => {
    void dispatch(request, response).catch((error: unknown) => {
      diag.error('agent-canary server: request failed', error);
      if (!response.headersSent) sendJson(response, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      else response.destroy();
    });
  });
  // Slow or stuck clients must not hold a slot forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  async function dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === OTLP_TRACES_PATH) {
      if (receiver === undefined) return notFound(request, response);
      if (request.method !== 'POST') {
        request.resume();
        sendJson(response, 405, { code: 12, message: 'use POST' }, { allow: 'POST' });
        return;
      }
      await receiver.handle(request, response);
      return;
    }
    if (path === '/healthz') {
      request.resume();
      sendJson(response, 200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      request.resume();
      const ready = !shuttingDown && server.listening;
      sendJson(response, ready ? 200 : 503, {
        status: ready ? 'ready' : 'shutting down',
        ...(receiver === undefined ? {} : { queueFill: receiver.queueFill() }),
      });
      return;
    }
    if (api?.matches(path)) {
      await api.handle(request, response, path, url.searchParams);
      return;
    }
    if (dashboard?.matches(path)) {
      await dashboard.handle(request, response, path);
      return;
    }
    notFound(request, response);
  }

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

function notFound(request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  sendJson(response, 404, { error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` } });
}
