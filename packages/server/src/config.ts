import type { RolloutController, RolloutStore } from '@agent-canary/controller';
import { ConfigError } from '@agent-canary/conventions';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ManualActionHandler } from './api.js';
import { type DashboardConfig, type DashboardOptions, resolveDashboardConfig } from './dashboard/config.js';

/** Environment variables read by {@link resolveServerConfig}. */
export const SERVER_ENV = Object.freeze({
  /** Bearer token of the controller API. */
  apiToken: 'AGENT_CANARY_API_TOKEN',
});

/** Options of `startServer`. Everything is optional; what is absent is switched off. */
export interface ServerOptions {
  /**
   * Span processors fed with every span received on `POST /v1/traces` (e.g. the
   * `BehaviorSpanProcessor`, or a `BatchSpanProcessor` forwarding to another backend).
   * Without any, the receiver answers 404. The server owns them: it shuts them down.
   * @default []
   */
  readonly spanProcessors?: readonly SpanProcessor[];
  /** Controller driven through the HTTP API; its tick loop is stopped on shutdown. @default undefined */
  readonly controller?: RolloutController;
  /** Store the API reads rollouts and verdicts from; closed on shutdown. @default undefined */
  readonly store?: RolloutStore;
  /**
   * Applies the API's manual actions to rollouts `controller` does not drive (the
   * `agent-canary dashboard` command over a store another process writes).
   * @default undefined (actions only on the controller's own rollout)
   */
  readonly actions?: ManualActionHandler;
  /**
   * The live dashboard at `/` (pages, assets, and the read-only JSON they poll); off
   * when absent. See `DashboardOptions` for how read access is granted.
   * @default undefined
   */
  readonly dashboard?: DashboardOptions;
  /**
   * Bearer token required on every `/v1/rollouts` request (compared in constant time).
   * Required when `controller`, `store` or `actions` is set.
   * @default env `AGENT_CANARY_API_TOKEN`
   */
  readonly apiToken?: string;
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** TCP port; 0 picks a free one. @default 4318 (the OTLP/HTTP port) */
  readonly port?: number;
  /** Largest request body as sent (compressed), bytes; larger ones get 413. @default 4_194_304 (4 MiB) */
  readonly maxRequestBytes?: number;
  /** Largest body after gzip decompression, bytes; larger ones get 413. @default 16_777_216 (16 MiB) */
  readonly maxDecompressedBytes?: number;
  /**
   * Request bytes being read or decoded at once, over all connections; past it new
   * requests get 429 with `Retry-After`.
   * @default 67_108_864 (64 MiB)
   */
  readonly maxInFlightBytes?: number;
  /** Spans waiting for the processors; a request that does not fit gets 429 with `Retry-After`. @default 100_000 */
  readonly maxQueuedSpans?: number;
  /** Spans handed to the processors per event-loop turn (keeps the server responsive). @default 4_096 */
  readonly drainBatchSpans?: number;
  /** `Retry-After` of 429 and 503 answers, seconds. @default 1 */
  readonly retryAfterSeconds?: number;
  /** Attributes kept per span (and per event, link, resource); the rest are dropped and counted. @default 256 */
  readonly maxAttributesPerSpan?: number;
  /** Events kept per span. @default 128 */
  readonly maxEventsPerSpan?: number;
  /** Links kept per span. @default 128 */
  readonly maxLinksPerSpan?: number;
  /** Longest a graceful shutdown waits for open requests before closing their connections, ms. @default 10_000 */
  readonly shutdownTimeoutMillis?: number;
  /** Shut down gracefully on SIGTERM and SIGINT. @default false (the CLI sets it) */
  readonly handleSignals?: boolean;
  /** Environment read for defaults. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Resolved {@link ServerOptions}. */
export interface ServerConfig {
  readonly spanProcessors: readonly SpanProcessor[];
  readonly controller: RolloutController | undefined;
  readonly store: RolloutStore | undefined;
  readonly actions: ManualActionHandler | undefined;
  readonly dashboard: DashboardConfig | undefined;
  readonly apiToken: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly maxRequestBytes: number;
  readonly maxDecompressedBytes: number;
  readonly maxInFlightBytes: number;
  readonly maxQueuedSpans: number;
  readonly drainBatchSpans: number;
  readonly retryAfterSeconds: number;
  readonly maxAttributesPerSpan: number;
  readonly maxEventsPerSpan: number;
  readonly maxLinksPerSpan: number;
  readonly shutdownTimeoutMillis: number;
  readonly handleSignals: boolean;
}

/** Defaults of {@link ServerOptions}. */
export const SERVER_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 4318,
  maxRequestBytes: 4 * 1024 * 1024,
  maxDecompressedBytes: 16 * 1024 * 1024,
  maxInFlightBytes: 64 * 1024 * 1024,
  maxQueuedSpans: 100_000,
  drainBatchSpans: 4096,
  retryAfterSeconds: 1,
  maxAttributesPerSpan: 256,
  maxEventsPerSpan: 128,
  maxLinksPerSpan: 128,
  shutdownTimeoutMillis: 10_000,
  handleSignals: false,
});

/** Shortest accepted API token: a guessable token is no protection. */
const MIN_TOKEN_LENGTH = 16;

type PositiveField = Exclude<keyof typeof SERVER_DEFAULTS, 'host' | 'port' | 'handleSignals'>;

function positiveInteger(options: ServerOptions, field: PositiveField): number {
  const value = options[field] ?? SERVER_DEFAULTS[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError({ path: field, expected: 'a positive integer', received: value });
  }
  return value;
}

/**
 * Resolves options against {@link SERVER_DEFAULTS} and the environment
 * (defaults < environment < options).
 * @throws ConfigError naming the field when a value is invalid, or when the controller API
 *   is enabled without a token (the dashboard alone needs none).
 */
export function resolveServerConfig(
  options: ServerOptions = {},
  env: Readonly<Record<string, string | undefined>> = options.env ?? process.env,
): ServerConfig {
  const port = options.port ?? SERVER_DEFAULTS.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError({ path: 'port', expected: 'an integer in 0..65535', received: port });
  }
  const host = options.host ?? SERVER_DEFAULTS.host;
  if (typeof host !== 'string' || host === '') {
    throw new ConfigError({ path: 'host', expected: 'a host name or address', received: host });
  }
  const spanProcessors = options.spanProcessors ?? [];
  if (!Array.isArray(spanProcessors) || spanProcessors.some((p) => typeof p?.onEnd !== 'function')) {
    throw new ConfigError({
      path: 'spanProcessors',
      expected: 'an array of span processors',
      received: spanProcessors,
    });
  }
  const envToken = env[SERVER_ENV.apiToken];
  const apiToken = options.apiToken ?? (envToken === '' ? undefined : envToken);
  const apiEnabled = options.controller !== undefined || options.store !== undefined || options.actions !== undefined;
  if (options.actions !== undefined && typeof options.actions !== 'function') {
    throw new ConfigError({
      path: 'actions',
      expected: 'a function (rolloutId, action, input)',
      received: options.actions,
    });
  }
  if (apiToken !== undefined && (typeof apiToken !== 'string' || apiToken.length < MIN_TOKEN_LENGTH)) {
    throw new ConfigError({
      path: 'apiToken',
      expected: `a token of at least ${MIN_TOKEN_LENGTH} characters`,
      received: typeof apiToken === 'string' ? `${apiToken.length} characters` : apiToken,
    });
  }
  if (apiEnabled && apiToken === undefined) {
    throw new ConfigError({
      path: 'apiToken',
      expected: `a bearer token for the controller API (option apiToken or env ${SERVER_ENV.apiToken})`,
    });
  }
  return Object.freeze({
    spanProcessors: Object.freeze([...spanProcessors]),
    controller: options.controller,
    store: options.store,
    actions: options.actions,
    dashboard: options.dashboard === undefined ? undefined : resolveDashboardConfig(options.dashboard, env),
    apiToken,
    host,
    port,
    maxRequestBytes: positiveInteger(options, 'maxRequestBytes'),
    maxDecompressedBytes: positiveInteger(options, 'maxDecompressedBytes'),
    maxInFlightBytes: positiveInteger(options, 'maxInFlightBytes'),
    maxQueuedSpans: positiveInteger(options, 'maxQueuedSpans'),
    drainBatchSpans: positiveInteger(options, 'drainBatchSpans'),
    retryAfterSeconds: positiveInteger(options, 'retryAfterSeconds'),
    maxAttributesPerSpan: positiveInteger(options, 'maxAttributesPerSpan'),
    maxEventsPerSpan: positiveInteger(options, 'maxEventsPerSpan'),
    maxLinksPerSpan: positiveInteger(options, 'maxLinksPerSpan'),
    shutdownTimeoutMillis: positiveInteger(options, 'shutdownTimeoutMillis'),
    handleSignals: options.handleSignals ?? SERVER_DEFAULTS.handleSignals,
  });
}
