import type { RetryOptions } from '@agent-canary/conventions';
import { ConfigError } from '@agent-canary/conventions';

/** A `fetch` compatible function (injected in tests; the global one by default). */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link createLaunchDarklyAdapter}. */
export interface LaunchDarklyAdapterOptions {
  /**
   * LaunchDarkly API access token (a service token with the Writer role, or a custom role
   * allowing `updateFallthrough`, `updateFlagVariations`, `updateOn`, `updateOffVariation` on
   * the flag). Never an SDK key. Env `LAUNCHDARKLY_ACCESS_TOKEN`.
   */
  readonly accessToken?: string;
  /** Project key. Env `LAUNCHDARKLY_PROJECT_KEY`. @default 'default' */
  readonly projectKey?: string;
  /** Environment whose fallthrough the controller drives. Env `LAUNCHDARKLY_ENVIRONMENT_KEY`. @default 'production' */
  readonly environmentKey?: string;
  /** API base URL (other instances: `https://app.eu.launchdarkly.com`, federal...). Env `LAUNCHDARKLY_BASE_URL`. @default 'https://app.launchdarkly.com' */
  readonly baseUrl?: string;
  /** Context kind the percentage rollout buckets by. @default 'user' */
  readonly contextKind?: string;
  /** Context attribute the rollout buckets by, when not the context key. @default undefined (the key) */
  readonly bucketBy?: string;
  /**
   * Roll back with `turnFlagOff` (serving the stable variation as the off variation)
   * instead of a 0% rollout: the emergency stop. Leaves the flag off until the next rollout.
   * @default false
   */
  readonly rollbackWithFlagOff?: boolean;
  /** Timeout of one HTTP request. @default 10000 */
  readonly requestTimeoutMillis?: number;
  /** Retries of a write (429, 5xx, network, read-back not yet showing it). @default { maxAttempts: 6, initialDelayMillis: 250, maxDelayMillis: 8000 } */
  readonly retry?: RetryOptions;
  /** @default globalThis.fetch */
  readonly fetch?: FetchFunction;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Resolved {@link LaunchDarklyAdapterOptions}. */
export interface LaunchDarklyAdapterConfig {
  readonly accessToken: string;
  readonly projectKey: string;
  readonly environmentKey: string;
  readonly baseUrl: string;
  readonly contextKind: string;
  readonly bucketBy: string | undefined;
  readonly rollbackWithFlagOff: boolean;
  readonly requestTimeoutMillis: number;
  readonly retry: RetryOptions;
  readonly fetch: FetchFunction;
  readonly clock: () => number;
}

/** Defaults of {@link LaunchDarklyAdapterOptions}. */
export const LAUNCHDARKLY_ADAPTER_DEFAULTS = Object.freeze({
  projectKey: 'default',
  environmentKey: 'production',
  baseUrl: 'https://app.launchdarkly.com',
  contextKind: 'user',
  rollbackWithFlagOff: false,
  requestTimeoutMillis: 10_000,
  // LaunchDarkly rate-limits writes per token; start slower than a local file would.
  retry: Object.freeze({ maxAttempts: 6, initialDelayMillis: 250, maxDelayMillis: 8_000 }),
});

/** Environment variables read by {@link resolveLaunchDarklyAdapterConfig} (below explicit options). */
export const LAUNCHDARKLY_ADAPTER_ENV = Object.freeze({
  accessToken: 'LAUNCHDARKLY_ACCESS_TOKEN',
  projectKey: 'LAUNCHDARKLY_PROJECT_KEY',
  environmentKey: 'LAUNCHDARKLY_ENVIRONMENT_KEY',
  baseUrl: 'LAUNCHDARKLY_BASE_URL',
});

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves options: defaults < environment < explicit options. Throws {@link ConfigError}
 * naming the field path, what was expected and what was received (never the token itself).
 *
 * @example
 * resolveLaunchDarklyAdapterConfig({ projectKey: 'support', environmentKey: 'production' }, process.env);
 */
export function resolveLaunchDarklyAdapterConfig(
  options: LaunchDarklyAdapterOptions = {},
  env: Env = process.env,
): LaunchDarklyAdapterConfig {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError({ path: '', expected: 'a LaunchDarklyAdapterOptions object', received: options });
  }
  const pick = (key: keyof typeof LAUNCHDARKLY_ADAPTER_ENV): string | undefined => {
    const value = options[key] ?? env[LAUNCHDARKLY_ADAPTER_ENV[key]];
    return value === '' ? undefined : value;
  };
  const accessToken = pick('accessToken');
  if (typeof accessToken !== 'string') {
    throw new ConfigError({
      path: 'accessToken',
      expected: `a LaunchDarkly API access token (option accessToken or env ${LAUNCHDARKLY_ADAPTER_ENV.accessToken})`,
      received: accessToken === undefined ? undefined : typeof accessToken,
    });
  }
  if (accessToken.startsWith('sdk-') || accessToken.startsWith('mob-')) {
    // An SDK or mobile key cannot use the REST API; saying so beats a later 401.
    throw new ConfigError({
      path: 'accessToken',
      expected: 'an API access token (api-...), not an SDK or mobile key',
      received: `${accessToken.slice(0, 4)}...`,
    });
  }
  const projectKey = nonEmpty(pick('projectKey') ?? LAUNCHDARKLY_ADAPTER_DEFAULTS.projectKey, 'projectKey');
  const environmentKey = nonEmpty(
    pick('environmentKey') ?? LAUNCHDARKLY_ADAPTER_DEFAULTS.environmentKey,
    'environmentKey',
  );
  const baseUrl = nonEmpty(pick('baseUrl') ?? LAUNCHDARKLY_ADAPTER_DEFAULTS.baseUrl, 'baseUrl').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseUrl)) {
    throw new ConfigError({ path: 'baseUrl', expected: 'an http(s) URL', received: baseUrl });
  }
  const contextKind = nonEmpty(options.contextKind ?? LAUNCHDARKLY_ADAPTER_DEFAULTS.contextKind, 'contextKind');
  const bucketBy = options.bucketBy === undefined ? undefined : nonEmpty(options.bucketBy, 'bucketBy');
  const requestTimeoutMillis = options.requestTimeoutMillis ?? LAUNCHDARKLY_ADAPTER_DEFAULTS.requestTimeoutMillis;
  if (typeof requestTimeoutMillis !== 'number' || !(requestTimeoutMillis > 0)) {
    throw new ConfigError({
      path: 'requestTimeoutMillis',
      expected: 'a positive number',
      received: requestTimeoutMillis,
    });
  }
  const rollbackWithFlagOff = options.rollbackWithFlagOff ?? LAUNCHDARKLY_ADAPTER_DEFAULTS.rollbackWithFlagOff;
  if (typeof rollbackWithFlagOff !== 'boolean') {
    throw new ConfigError({ path: 'rollbackWithFlagOff', expected: 'a boolean', received: rollbackWithFlagOff });
  }
  const fetchFunction = options.fetch ?? (globalThis.fetch as FetchFunction | undefined);
  if (typeof fetchFunction !== 'function') {
    throw new ConfigError({
      path: 'fetch',
      expected: 'a fetch function (Node 20 has one built in)',
      received: fetchFunction,
    });
  }
  return Object.freeze({
    accessToken,
    projectKey,
    environmentKey,
    baseUrl,
    contextKind,
    bucketBy,
    rollbackWithFlagOff,
    requestTimeoutMillis,
    retry: options.retry ?? LAUNCHDARKLY_ADAPTER_DEFAULTS.retry,
    fetch: fetchFunction,
    clock: options.clock ?? Date.now,
  });
}

function nonEmpty(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError({ path, expected: 'a non-empty string', received: value });
  }
  return value;
}
