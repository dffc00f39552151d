import type { RetryOptions, RoutingAdapter } from '@agent-canary/conventions';
import { ConfigError, envValue } from '@agent-canary/conventions';
import type { LangfuseClient } from '@langfuse/client';

/** Environment variables read by {@link resolveLangfuseLabelConfig} (explicit options win). */
export const LANGFUSE_LABEL_ENV = Object.freeze({
  promptName: 'AGENT_CANARY_LANGFUSE_PROMPT',
  canaryLabel: 'AGENT_CANARY_LANGFUSE_CANARY_LABEL',
  productionLabel: 'AGENT_CANARY_LANGFUSE_PRODUCTION_LABEL',
});

/** Options of `createLangfuseLabelAdapter`. */
export interface LangfuseLabelAdapterOptions {
  /** The Langfuse client (its keys and `baseUrl` come from its own options or `LANGFUSE_*` env). */
  readonly client: LangfuseClient;
  /**
   * Adapter that holds the split (who is in the canary): labels cannot, so the cohort
   * comes from the embedded provider, flagd, Unleash or LaunchDarkly.
   */
  readonly inner: RoutingAdapter;
  /** Prompt whose versions are the releases. Env `AGENT_CANARY_LANGFUSE_PROMPT`. */
  readonly promptName?: string;
  /** Label the canary cohort reads. Env `AGENT_CANARY_LANGFUSE_CANARY_LABEL`. @default 'canary' */
  readonly canaryLabel?: string;
  /** Label everyone else reads. Env `AGENT_CANARY_LANGFUSE_PRODUCTION_LABEL`. @default 'production' */
  readonly productionLabel?: string;
  /** Timeout of one Langfuse request. @default 5000 */
  readonly timeoutMillis?: number;
  /** Backoff of a label move that failed or did not read back. @default { maxAttempts: 6, initialDelayMillis: 100 } */
  readonly retry?: RetryOptions;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Resolved {@link LangfuseLabelAdapterOptions}. */
export interface LangfuseLabelConfig {
  readonly client: LangfuseClient;
  readonly inner: RoutingAdapter;
  readonly promptName: string;
  readonly canaryLabel: string;
  readonly productionLabel: string;
  readonly timeoutMillis: number;
  readonly retry: RetryOptions;
  readonly clock: () => number;
}

/** Defaults of {@link LangfuseLabelAdapterOptions}. */
export const LANGFUSE_LABEL_DEFAULTS = Object.freeze({
  canaryLabel: 'canary',
  productionLabel: 'production',
  timeoutMillis: 5_000,
  retry: Object.freeze({ maxAttempts: 6, initialDelayMillis: 100 }),
});

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves options: defaults < environment variables < explicit options. Throws a
 * `ConfigError` naming the field when a value is missing or malformed.
 */
export function resolveLangfuseLabelConfig(
  options: LangfuseLabelAdapterOptions,
  env: Env = process.env,
): LangfuseLabelConfig {
  if (options?.client === undefined || typeof options.client.api !== 'object') {
    throw new ConfigError({
      path: 'client',
      expected: 'a LangfuseClient from @langfuse/client',
      received: options?.client,
    });
  }
  const inner = options.inner;
  if (inner === undefined || typeof inner.apply !== 'function' || typeof inner.read !== 'function') {
    throw new ConfigError({
      path: 'inner',
      expected: 'a RoutingAdapter holding the split (embedded, flagd, ...)',
      received: inner,
    });
  }
  const promptName = options.promptName ?? envValue(env[LANGFUSE_LABEL_ENV.promptName]);
  if (typeof promptName !== 'string' || promptName.trim() === '') {
    throw new ConfigError({
      path: options.promptName === undefined ? `promptName (env ${LANGFUSE_LABEL_ENV.promptName})` : 'promptName',
      expected: 'the name of the Langfuse prompt whose versions are the releases',
      received: promptName,
    });
  }
  const canaryLabel =
    options.canaryLabel ?? envValue(env[LANGFUSE_LABEL_ENV.canaryLabel]) ?? LANGFUSE_LABEL_DEFAULTS.canaryLabel;
  const productionLabel =
    options.productionLabel ??
    envValue(env[LANGFUSE_LABEL_ENV.productionLabel]) ??
    LANGFUSE_LABEL_DEFAULTS.productionLabel;
  for (const [path, label] of [
    ['canaryLabel', canaryLabel],
    ['productionLabel', productionLabel],
  ] as const) {
    // `latest` moves by itself on every new version, so it cannot hold a release.
    if (typeof label !== 'string' || !/^[a-z0-9_.-]+$/.test(label) || label === 'latest') {
      throw new ConfigError({
        path,
        expected: 'a Langfuse label (lowercase letters, digits, "_", ".", "-"), not "latest"',
        received: label,
      });
    }
  }
  if (canaryLabel === productionLabel) {
    throw new ConfigError({
      path: 'canaryLabel',
      expected: `a label other than productionLabel "${productionLabel}"`,
      received: canaryLabel,
    });
  }
  const timeoutMillis = options.timeoutMillis ?? LANGFUSE_LABEL_DEFAULTS.timeoutMillis;
  if (typeof timeoutMillis !== 'number' || !Number.isFinite(timeoutMillis) || timeoutMillis <= 0) {
    throw new ConfigError({
      path: 'timeoutMillis',
      expected: 'a positive number of milliseconds',
      received: timeoutMillis,
    });
  }
  return Object.freeze({
    client: options.client,
    inner,
    promptName,
    canaryLabel,
    productionLabel,
    timeoutMillis,
    retry: options.retry ?? LANGFUSE_LABEL_DEFAULTS.retry,
    clock: options.clock ?? Date.now,
  });
}

/** The prompt version a release id names: releases are prompt versions written as decimal integers (`"7"`, or `"v7"`). */
export function versionOfRelease(release: string): number | undefined {
  const match = /^v?(\d{1,9})$/.exec(release);
  const version = match?.[1] === undefined ? Number.NaN : Number(match[1]);
  return Number.isInteger(version) && version > 0 ? version : undefined;
}
