import { ConfigError } from '@agent-canary/conventions';
import { FLAGD_ADAPTER_ENV } from './env.js';

/** Options of {@link startFlagdSyncServer}. */
export interface FlagdSyncServerOptions {
  /**
   * The flag file to serve: the one the flagd adapter writes. Env `AGENT_CANARY_FLAGD_FILE`,
   * else `FLAGD_OFFLINE_FLAG_SOURCE_PATH`.
   */
  readonly path?: string;
  /**
   * TCP port of the gRPC server; `0` picks a free one (see `FlagdSyncServer.port`). Env
   * `AGENT_CANARY_FLAGD_SYNC_PORT`. @default 8015 (the flagd provider's in-process default)
   */
  readonly port?: number;
  /**
   * Interface to listen on; `0.0.0.0` (or `::`) for app replicas on other machines. Env
   * `AGENT_CANARY_FLAGD_SYNC_HOST`. @default '127.0.0.1'
   */
  readonly host?: string;
  /** Most `SyncFlags` streams open at once; one more is refused with RESOURCE_EXHAUSTED. @default 1000 */
  readonly maxStreams?: number;
  /**
   * How long `close()` lets clients take their final status before cutting the connections.
   * @default 2000
   */
  readonly shutdownTimeoutMillis?: number;
}

/** Resolved {@link FlagdSyncServerOptions}. */
export interface FlagdSyncServerConfig {
  readonly path: string;
  readonly port: number;
  readonly host: string;
  readonly maxStreams: number;
  readonly shutdownTimeoutMillis: number;
}

/** Defaults of {@link FlagdSyncServerOptions}. */
export const FLAGD_SYNC_DEFAULTS = Object.freeze({
  port: 8015,
  host: '127.0.0.1',
  maxStreams: 1000,
  shutdownTimeoutMillis: 2000,
});

/** Environment variables read by {@link resolveFlagdSyncServerConfig}, first match wins. */
export const FLAGD_SYNC_ENV = Object.freeze({
  path: FLAGD_ADAPTER_ENV.path,
  port: Object.freeze(['AGENT_CANARY_FLAGD_SYNC_PORT']),
  host: Object.freeze(['AGENT_CANARY_FLAGD_SYNC_HOST']),
});

type Env = Readonly<Record<string, string | undefined>>;

function fromEnv(env: Env, names: readonly string[]): string | undefined {
  return names.map((name) => env[name]?.trim()).find((value) => value !== undefined && value !== '');
}

/**
 * Resolves options: defaults < environment < explicit options. Throws {@link ConfigError}
 * naming the field (or `env.NAME`) for a missing flag file path or an invalid value.
 *
 * @example
 * resolveFlagdSyncServerConfig({ path: '/var/lib/agent-canary/flags.json', port: 8015 });
 */
export function resolveFlagdSyncServerConfig(
  options: FlagdSyncServerOptions = {},
  env: Env = process.env,
): FlagdSyncServerConfig {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError({ path: '', expected: 'a FlagdSyncServerOptions object', received: options });
  }
  const path = options.path ?? fromEnv(env, FLAGD_SYNC_ENV.path);
  if (typeof path !== 'string' || path === '') {
    throw new ConfigError({
      path: 'path',
      expected: `the flag file to serve (option path or env ${FLAGD_SYNC_ENV.path.join(' / ')})`,
      received: path,
    });
  }
  const envPort = fromEnv(env, FLAGD_SYNC_ENV.port);
  const port = options.port ?? (envPort === undefined ? FLAGD_SYNC_DEFAULTS.port : Number(envPort));
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError({
      path: options.port === undefined && envPort !== undefined ? `env.${FLAGD_SYNC_ENV.port[0]}` : 'port',
      expected: 'a TCP port, an integer from 0 to 65535 (0 picks a free port)',
      received: options.port ?? envPort,
    });
  }
  const host = options.host ?? fromEnv(env, FLAGD_SYNC_ENV.host) ?? FLAGD_SYNC_DEFAULTS.host;
  if (typeof host !== 'string' || host.trim() === '') {
    throw new ConfigError({ path: 'host', expected: 'an interface address or host name', received: host });
  }
  const maxStreams = options.maxStreams ?? FLAGD_SYNC_DEFAULTS.maxStreams;
  if (!Number.isInteger(maxStreams) || maxStreams < 1) {
    throw new ConfigError({ path: 'maxStreams', expected: 'a positive integer', received: maxStreams });
  }
  const shutdownTimeoutMillis = options.shutdownTimeoutMillis ?? FLAGD_SYNC_DEFAULTS.shutdownTimeoutMillis;
  if (
    typeof shutdownTimeoutMillis !== 'number' ||
    !Number.isFinite(shutdownTimeoutMillis) ||
    shutdownTimeoutMillis < 0
  ) {
    throw new ConfigError({
      path: 'shutdownTimeoutMillis',
      expected: 'a non-negative number of milliseconds',
      received: shutdownTimeoutMillis,
    });
  }
  return Object.freeze({ path, port, host, maxStreams, shutdownTimeoutMillis });
}
