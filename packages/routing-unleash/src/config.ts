import type { RetryOptions } from '@agent-canary/conventions';
import { ConfigError, envValue } from '@agent-canary/conventions';

/** Environment variables read by {@link resolveUnleashAdapterConfig} (explicit options win). */
export const UNLEASH_ENV = Object.freeze({
  url: 'UNLEASH_URL',
  adminToken: 'UNLEASH_ADMIN_TOKEN',
  project: 'UNLEASH_PROJECT',
  environment: 'UNLEASH_ENVIRONMENT',
});

/** Options of `createUnleashAdapter`. */
export interface UnleashAdapterOptions {
  /** Base URL of the Unleash server, e.g. `https://unleash.example.com` (a trailing `/api` is accepted). Env `UNLEASH_URL`. */
  readonly url?: string;
  /** Admin API token (or a personal access token) sent as `Authorization`. Env `UNLEASH_ADMIN_TOKEN`. */
  readonly adminToken?: string;
  /** Project holding the flag. Env `UNLEASH_PROJECT`. @default 'default' */
  readonly project?: string;
  /** Environment whose strategy the controller writes. Env `UNLEASH_ENVIRONMENT`. @default 'production' */
  readonly environment?: string;
  /** Timeout of one HTTP request. @default 5000 */
  readonly timeoutMillis?: number;
  /** Backoff of a write that failed or did not read back. @default { maxAttempts: 6, initialDelayMillis: 100 } */
  readonly retry?: RetryOptions;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Resolved {@link UnleashAdapterOptions}. */
export interface UnleashAdapterConfig {
  /** Base URL without a trailing slash or `/api`. */
  readonly url: string;
  readonly adminToken: string;
  readonly project: string;
  readonly environment: string;
  readonly timeoutMillis: number;
  readonly retry: RetryOptions;
  readonly clock: () => number;
}

/** Defaults of {@link UnleashAdapterOptions}. */
export const UNLEASH_ADAPTER_DEFAULTS = Object.freeze({
  project: 'default',
  environment: 'production',
  timeoutMillis: 5_000,
  retry: Object.freeze({ maxAttempts: 6, initialDelayMillis: 100 }),
});

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves options: defaults < environment variables < explicit options. Throws a
 * `ConfigError` naming the field when a value is missing or malformed.
 *
 * @example
 * const config = resolveUnleashAdapterConfig({ url: 'http://127.0.0.1:4242', adminToken: '*:*.secret' });
 */
export function resolveUnleashAdapterConfig(
  options: UnleashAdapterOptions = {},
  env: Env = process.env,
): UnleashAdapterConfig {
  const url = options.url ?? envValue(env[UNLEASH_ENV.url]);
  if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/.test(url)) {
    throw new ConfigError({
      path: options.url === undefined ? `url (env ${UNLEASH_ENV.url})` : 'url',
      expected: 'the http(s) base URL of the Unleash server',
      received: url,
    });
  }
  const adminToken = options.adminToken ?? envValue(env[UNLEASH_ENV.adminToken]);
  if (typeof adminToken !== 'string' || adminToken.trim() === '') {
    throw new ConfigError({
      path: options.adminToken === undefined ? `adminToken (env ${UNLEASH_ENV.adminToken})` : 'adminToken',
      expected: 'an Unleash admin API token or personal access token',
      received: adminToken,
    });
  }
  const project = options.project ?? envValue(env[UNLEASH_ENV.project]) ?? UNLEASH_ADAPTER_DEFAULTS.project;
  requireName('project', project);
  const environment =
    options.environment ?? envValue(env[UNLEASH_ENV.environment]) ?? UNLEASH_ADAPTER_DEFAULTS.environment;
  requireName('environment', environment);
  const timeoutMillis = options.timeoutMillis ?? UNLEASH_ADAPTER_DEFAULTS.timeoutMillis;
  if (typeof timeoutMillis !== 'number' || !Number.isFinite(timeoutMillis) || timeoutMillis <= 0) {
    throw new ConfigError({
      path: 'timeoutMillis',
      expected: 'a positive number of milliseconds',
      received: timeoutMillis,
    });
  }
  return Object.freeze({
    url: url.replace(/\/+$/, '').replace(/\/api$/, ''),
    adminToken,
    project,
    environment,
    timeoutMillis,
    retry: options.retry ?? UNLEASH_ADAPTER_DEFAULTS.retry,
    clock: options.clock ?? Date.now,
  });
}

function requireName(path: string, value: unknown): void {
  if (typeof value !== 'string' || !/^[A-Za-z0-9._~-]+$/.test(value)) {
    throw new ConfigError({ path, expected: 'an Unleash name (letters, digits, ".", "_", "~", "-")', received: value });
  }
}
