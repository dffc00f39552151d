import { isIPv4, isIPv6 } from 'node:net';
import type { RolloutController, RolloutStore } from '@agent-canary/controller';
import { ConfigError, envValue } from '@agent-canary/conventions';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ManualActionHandler } from './api.js';
import { type DashboardConfig, type DashboardOptions, resolveDashboardConfig } from './dashboard/config.js';

/**
 * Environment variables read by {@link resolveServerConfig} (below explicit options), by
 * option name.
 */
export const SERVER_ENV = Object.freeze({
  /** Bearer token of the controller API. */
  apiToken: 'AGENT_CANARY_API_TOKEN',
  /** Bearer token of the OTLP receiver. */
  ingestToken: 'AGENT_CANARY_INGEST_TOKEN',
  /** `true` to accept spans without a token beyond loopback. */
  allowUnauthenticatedIngest: 'AGENT_CANARY_ALLOW_UNAUTHENTICATED_INGEST',
  maxRequestBytes: 'AGENT_CANARY_MAX_REQUEST_BYTES',
  maxDecompressedBytes: 'AGENT_CANARY_MAX_DECOMPRESSED_BYTES',
  maxSpansPerRequest: 'AGENT_CANARY_MAX_SPANS_PER_REQUEST',
  maxObjectsPerRequest: 'AGENT_CANARY_MAX_OBJECTS_PER_REQUEST',
  maxInFlightBytes: 'AGENT_CANARY_MAX_IN_FLIGHT_BYTES',
  headersTimeoutMillis: 'AGENT_CANARY_HEADERS_TIMEOUT_MILLIS',
  bodyTimeoutMillis: 'AGENT_CANARY_BODY_TIMEOUT_MILLIS',
  idleTimeoutMillis: 'AGENT_CANARY_IDLE_TIMEOUT_MILLIS',
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
  /**
   * Bearer token required on every `POST /v1/traces` (`Authorization: Bearer <token>`,
   * compared in constant time; at least 16 characters, and not the `apiToken`: whoever
   * sends spans must not be able to steer rollouts). OTel SDK exporters send it with
   * `OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>`. Without a token the
   * receiver is open, which is refused beyond loopback unless `allowUnauthenticatedIngest`.
   * @default env `AGENT_CANARY_INGEST_TOKEN`
   */
  readonly ingestToken?: string;
  /**
   * Accept spans without a token on a `host` beyond loopback (e.g. when a private network
   * or a proxy in front authenticates senders). Without it, such a server refuses to start
   * unless `ingestToken` is set. Ignored when `ingestToken` is set.
   * @default false (env `AGENT_CANARY_ALLOW_UNAUTHENTICATED_INGEST`)
   */
  readonly allowUnauthenticatedIngest?: boolean;
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** TCP port; 0 picks a free one. @default 4318 (the OTLP/HTTP port) */
  readonly port?: number;
  /** Largest request body as sent (compressed), bytes; larger ones get 413. @default 4_194_304 (4 MiB) */
  readonly maxRequestBytes?: number;
  /**
   * Largest body after gzip decompression, bytes: inflating stops there and the request
   * gets 413. @default 16_777_216 (16 MiB)
   */
  readonly maxDecompressedBytes?: number;
  /**
   * Spans in one export request, counted while the body streams in (before it is
   * decoded); more get 413. The OpenTelemetry Collector's batch processor sends 8 192 by
   * default (`send_batch_max_size` caps it). @default 10_000
   */
  readonly maxSpansPerRequest?: number;
  /**
   * Objects in one export request — JSON objects and arrays, or protobuf messages (spans,
   * attributes, values, events, links) — counted before decoding; more get 413. Bounds
   * the memory of decoding one request, whatever its shape. @default 500_000
   */
  readonly maxObjectsPerRequest?: number;
  /**
   * Request bytes held at once over all connections, compressed and inflated, reserved
   * as they arrive (not as declared); a request that finds no room gets 429 with
   * `Retry-After`. At least `maxRequestBytes + maxDecompressedBytes`.
   * @default 67_108_864 (64 MiB)
   */
  readonly maxInFlightBytes?: number;
  /** Time for a connection to send a request's headers (also closes connections that send nothing), ms. @default 10_000 */
  readonly headersTimeoutMillis?: number;
  /** Time for a request's whole body to arrive once its headers have; slower bodies get 408, ms. @default 10_000 */
  readonly bodyTimeoutMillis?: number;
  /** Time a keep-alive connection may stay idle between requests, ms. @default 5_000 */
  readonly idleTimeoutMillis?: number;
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
  readonly ingestToken: string | undefined;
  readonly allowUnauthenticatedIngest: boolean;
  readonly host: string;
  readonly port: number;
  readonly maxRequestBytes: number;
  readonly maxDecompressedBytes: number;
  readonly maxSpansPerRequest: number;
  readonly maxObjectsPerRequest: number;
  readonly maxInFlightBytes: number;
  readonly headersTimeoutMillis: number;
  readonly bodyTimeoutMillis: number;
  readonly idleTimeoutMillis: number;
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
  maxSpansPerRequest: 10_000,
  maxObjectsPerRequest: 500_000,
  maxInFlightBytes: 64 * 1024 * 1024,
  headersTimeoutMillis: 10_000,
  bodyTimeoutMillis: 10_000,
  idleTimeoutMillis: 5_000,
  maxQueuedSpans: 100_000,
  drainBatchSpans: 4096,
  retryAfterSeconds: 1,
  maxAttributesPerSpan: 256,
  maxEventsPerSpan: 128,
  maxLinksPerSpan: 128,
  shutdownTimeoutMillis: 10_000,
  handleSignals: false,
  allowUnauthenticatedIngest: false,
});

/** Shortest accepted token: a guessable token is no protection. */
const MIN_TOKEN_LENGTH = 16;

type Env = Readonly<Record<string, string | undefined>>;
type PositiveField = Exclude<
  keyof typeof SERVER_DEFAULTS,
  'host' | 'port' | 'handleSignals' | 'allowUnauthenticatedIngest'
>;

function positiveInteger(options: ServerOptions, env: Env, field: PositiveField): number {
  const envName = (SERVER_ENV as Readonly<Record<string, string>>)[field];
  const raw = envName === undefined ? undefined : envValue(env[envName]);
  if (options[field] === undefined && raw !== undefined) {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
      throw new ConfigError({ path: `env.${envName}`, expected: 'a positive integer', received: raw });
    }
    return value;
  }
  const value = options[field] ?? SERVER_DEFAULTS[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError({ path: field, expected: 'a positive integer', received: value });
  }
  return value;
}

function token(value: unknown, path: 'apiToken' | 'ingestToken'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError({
      path,
      expected: `a token of at least ${MIN_TOKEN_LENGTH} characters`,
      // Never the token itself: it is a secret even when too short.
      received: typeof value === 'string' ? `${value.length} characters` : typeof value,
    });
  }
  return value;
}

function allowUnauthenticated(options: ServerOptions, env: Env): boolean {
  if (options.allowUnauthenticatedIngest !== undefined) {
    if (typeof options.allowUnauthenticatedIngest !== 'boolean') {
      throw new ConfigError({
        path: 'allowUnauthenticatedIngest',
        expected: 'true or false',
        received: options.allowUnauthenticatedIngest,
      });
    }
    return options.allowUnauthenticatedIngest;
  }
  const raw = envValue(env[SERVER_ENV.allowUnauthenticatedIngest])?.toLowerCase();
  if (raw === undefined) return SERVER_DEFAULTS.allowUnauthenticatedIngest;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError({
    path: `env.${SERVER_ENV.allowUnauthenticatedIngest}`,
    expected: 'true or false',
    received: raw,
  });
}

/**
 * True when `host` reaches this machine only: `localhost`, `127.0.0.0/8`, `::1`. Any other
 * name or address (including `0.0.0.0` and `::`) is reachable from elsewhere.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  if (isIPv4(bare)) return bare.startsWith('127.');
  if (isIPv6(bare)) {
    const lower = bare.toLowerCase();
    return lower === '::1' || lower === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(lower);
  }
  return false;
}

/**
 * Resolves options against {@link SERVER_DEFAULTS} and the environment
 * (defaults < environment < options).
 * @throws ConfigError naming the field when a value is invalid; when the controller API is
 *   enabled without a token (the dashboard alone needs none); when the receiver listens
 *   beyond loopback without an ingest token (and without `allowUnauthenticatedIngest`).
 */
export function resolveServerConfig(options: ServerOptions = {}, env: Env = options.env ?? process.env): ServerConfig {
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
  const apiToken = token(options.apiToken ?? envValue(env[SERVER_ENV.apiToken]), 'apiToken');
  const apiEnabled = options.controller !== undefined || options.store !== undefined || options.actions !== undefined;
  if (options.actions !== undefined && typeof options.actions !== 'function') {
    throw new ConfigError({
      path: 'actions',
      expected: 'a function (rolloutId, action, input)',
      received: options.actions,
    });
  }
  if (apiEnabled && apiToken === undefined) {
    throw new ConfigError({
      path: 'apiToken',
      expected: `a bearer token for the controller API (option apiToken or env ${SERVER_ENV.apiToken})`,
    });
  }
  const ingestToken = token(options.ingestToken ?? envValue(env[SERVER_ENV.ingestToken]), 'ingestToken');
  if (ingestToken !== undefined && ingestToken === apiToken) {
    throw new ConfigError({
      path: 'ingestToken',
      expected: 'a token different from apiToken (senders of spans must not be able to steer rollouts)',
      received: 'the apiToken',
    });
  }
  const allowUnauthenticatedIngest = allowUnauthenticated(options, env);
  const receiverEnabled = spanProcessors.length > 0;
  if (receiverEnabled && ingestToken === undefined && !allowUnauthenticatedIngest && !isLoopbackHost(host)) {
    throw new ConfigError({
      path: 'ingestToken',
      expected:
        `a bearer token for the OTLP receiver, which listens on ${host}, beyond loopback ` +
        `(option ingestToken or env ${SERVER_ENV.ingestToken}; or allowUnauthenticatedIngest: true ` +
        `/ env ${SERVER_ENV.allowUnauthenticatedIngest}=true to accept spans from anyone who can reach it)`,
    });
  }
  const maxRequestBytes = positiveInteger(options, env, 'maxRequestBytes');
  const maxDecompressedBytes = positiveInteger(options, env, 'maxDecompressedBytes');
  const maxInFlightBytes = positiveInteger(options, env, 'maxInFlightBytes');
  if (maxInFlightBytes < maxRequestBytes + maxDecompressedBytes) {
    throw new ConfigError({
      path: 'maxInFlightBytes',
      expected:
        `at least maxRequestBytes + maxDecompressedBytes (${maxRequestBytes + maxDecompressedBytes}), ` +
        'so that a request within both limits can be read',
      received: maxInFlightBytes,
    });
  }
  return Object.freeze({
    spanProcessors: Object.freeze([...spanProcessors]),
    controller: options.controller,
    store: options.store,
    actions: options.actions,
    dashboard: options.dashboard === undefined ? undefined : resolveDashboardConfig(options.dashboard, env),
    apiToken,
    ingestToken,
    allowUnauthenticatedIngest,
    host,
    port,
    maxRequestBytes,
    maxDecompressedBytes,
    maxSpansPerRequest: positiveInteger(options, env, 'maxSpansPerRequest'),
    maxObjectsPerRequest: positiveInteger(options, env, 'maxObjectsPerRequest'),
    maxInFlightBytes,
    headersTimeoutMillis: positiveInteger(options, env, 'headersTimeoutMillis'),
    bodyTimeoutMillis: positiveInteger(options, env, 'bodyTimeoutMillis'),
    idleTimeoutMillis: positiveInteger(options, env, 'idleTimeoutMillis'),
    maxQueuedSpans: positiveInteger(options, env, 'maxQueuedSpans'),
    drainBatchSpans: positiveInteger(options, env, 'drainBatchSpans'),
    retryAfterSeconds: positiveInteger(options, env, 'retryAfterSeconds'),
    maxAttributesPerSpan: positiveInteger(options, env, 'maxAttributesPerSpan'),
    maxEventsPerSpan: positiveInteger(options, env, 'maxEventsPerSpan'),
    maxLinksPerSpan: positiveInteger(options, env, 'maxLinksPerSpan'),
    shutdownTimeoutMillis: positiveInteger(options, env, 'shutdownTimeoutMillis'),
    handleSignals: options.handleSignals ?? SERVER_DEFAULTS.handleSignals,
  });
}
