import { resolve } from 'node:path';
import type { RetryOptions } from '@agent-canary/conventions';
import { ConfigError } from '@agent-canary/conventions';
import { FLAGD_ADAPTER_ENV } from './env.js';
import type { FlagdSyncServer } from './sync-server.js';

/** Options of {@link createFlagdAdapter}. */
export interface FlagdAdapterOptions {
  /**
   * The flagd flag file the controller writes and the agent app (or a flagd daemon) reads.
   * Env `AGENT_CANARY_FLAGD_FILE`, else `FLAGD_OFFLINE_FLAG_SOURCE_PATH` (the variable the
   * flagd provider reads, so one setting serves both sides).
   */
  readonly path?: string;
  /** Retries of a write that did not read back. @default { maxAttempts: 5, initialDelayMillis: 10 } */
  readonly retry?: RetryOptions;
  /** @default Date.now */
  readonly clock?: () => number;
  /**
   * Sync mode: a started `FlagdSyncServer` serving the same file (`startFlagdSyncServer`).
   * Each `apply` then pushes the written split to every connected flagd provider before it
   * resolves, and `close` stops the server. @default undefined (file mode)
   */
  readonly sync?: FlagdSyncServer;
}

/** Resolved {@link FlagdAdapterOptions}. */
export interface FlagdAdapterConfig {
  readonly path: string;
  readonly retry: RetryOptions;
  readonly clock: () => number;
  /** `undefined` in file mode. */
  readonly sync: FlagdSyncServer | undefined;
}

/** Defaults of {@link FlagdAdapterOptions}. */
export const FLAGD_ADAPTER_DEFAULTS = Object.freeze({
  // A local file write either works at once or fails for a reason retries do not fix.
  retry: Object.freeze({ maxAttempts: 5, initialDelayMillis: 10 }),
  clock: Date.now,
});

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves options: defaults < environment < explicit options. Throws {@link ConfigError}
 * naming the field when the flag file path is missing.
 *
 * @example
 * resolveFlagdAdapterConfig({ path: '/etc/flagd/flags.json' });
 */
export function resolveFlagdAdapterConfig(
  options: FlagdAdapterOptions = {},
  env: Env = process.env,
): FlagdAdapterConfig {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError({ path: '', expected: 'a FlagdAdapterOptions object', received: options });
  }
  const fromEnv = FLAGD_ADAPTER_ENV.path.map((name) => env[name]).find((value) => value !== undefined && value !== '');
  const path = options.path ?? fromEnv;
  if (typeof path !== 'string' || path === '') {
    throw new ConfigError({
      path: 'path',
      expected: `the flagd flag file path (option path or env ${FLAGD_ADAPTER_ENV.path.join(' / ')})`,
      received: path,
    });
  }
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new ConfigError({
      path: 'clock',
      expected: 'a function returning epoch milliseconds',
      received: options.clock,
    });
  }
  const sync = options.sync;
  if (sync !== undefined) {
    if (typeof sync?.refresh !== 'function' || typeof sync.close !== 'function') {
      throw new ConfigError({ path: 'sync', expected: 'a FlagdSyncServer (startFlagdSyncServer)', received: sync });
    }
    if (resolve(sync.config.path) !== resolve(path)) {
      throw new ConfigError({
        path: 'sync',
        expected: `a FlagdSyncServer serving the adapter's flag file ${path}`,
        received: sync.config.path,
      });
    }
  }
  return Object.freeze({
    path,
    retry: options.retry ?? FLAGD_ADAPTER_DEFAULTS.retry,
    clock: options.clock ?? FLAGD_ADAPTER_DEFAULTS.clock,
    sync,
  });
}
