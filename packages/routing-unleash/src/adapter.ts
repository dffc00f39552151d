import {
  type ApplyResult,
  ROUTING_ERROR_CODE,
  type RoutingAdapter,
  RoutingError,
  type RoutingSplit,
  sameSplit,
  withRetry,
} from '@agent-canary/conventions';
import { resolveUnleashAdapterConfig, type UnleashAdapterConfig, type UnleashAdapterOptions } from './config.js';
import {
  isOwnStrategy,
  sameStrategy,
  splitFromStrategies,
  strategyForSplit,
  UNLEASH_PROVIDER,
  type UnleashStrategy,
} from './strategy.js';

/** The Unleash routing adapter: a `RoutingAdapter` plus its resolved configuration. */
export interface UnleashRoutingAdapter extends RoutingAdapter {
  readonly config: UnleashAdapterConfig;
}

interface FeatureEnvironment {
  readonly name: string;
  readonly enabled: boolean;
  readonly strategies?: readonly UnleashStrategy[];
}

/** Errors that no retry can fix: they leave `apply` at once. */
const PERMANENT: ReadonlySet<string> = new Set([
  ROUTING_ERROR_CODE.unauthorized,
  ROUTING_ERROR_CODE.flagNotFound,
  ROUTING_ERROR_CODE.flagShape,
]);
const isPermanent = (error: unknown) => error instanceof RoutingError && PERMANENT.has(error.code);

/**
 * Routes through the Unleash Admin API: one `flexibleRollout` strategy in one
 * environment (rollout = canary + control in whole percents, stickiness `userId`,
 * groupId = flag key) with strategy variants `canary` and `control` whose payloads are
 * the release ids. `apply` creates or replaces that strategy (PUT, idempotent), enables
 * the environment and reads it back, retrying with backoff and jitter. The flag must
 * exist; a strategy agent-canary did not write is never overwritten.
 *
 * Errors: `RoutingError` `unauthorized` (401/403), `flagNotFound` (404: flag, project or
 * environment), `flagShape` (strategies the adapter did not write); `ConfigError` for a
 * split Unleash cannot represent (not whole percents).
 *
 * @example
 * const routing = createUnleashAdapter({ url: 'https://unleash.example.com', adminToken: process.env.UNLEASH_ADMIN_TOKEN, environment: 'production' });
 */
export function createUnleashAdapter(options: UnleashAdapterOptions = {}): UnleashRoutingAdapter {
  const config = resolveUnleashAdapterConfig(options);
  const featureUrl = (flagKey: string) =>
    `${config.url}/api/admin/projects/${encodeURIComponent(config.project)}/features/${encodeURIComponent(flagKey)}`;
  const where = `in project "${config.project}", environment "${config.environment}"`;

  async function request(method: string, url: string, flagKey: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: config.adminToken,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(config.timeoutMillis),
      });
    } catch (error) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.unavailable,
        provider: UNLEASH_PROVIDER,
        flagKey,
        message: `Unleash at ${config.url} could not be reached (${method} ${url})`,
        cause: error,
      });
    }
    const text = await response.text();
    if (response.ok) return text === '' ? undefined : JSON.parse(text);
    const detail = serverMessage(text);
    if (response.status === 401 || response.status === 403) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.unauthorized,
        provider: UNLEASH_PROVIDER,
        flagKey,
        message: `Unleash rejected the admin token (HTTP ${response.status}${detail}); it needs an admin token or a PAT with update-feature-strategy and enable/disable-environment permissions in project "${config.project}"`,
      });
    }
    if (response.status === 404) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.flagNotFound,
        provider: UNLEASH_PROVIDER,
        flagKey,
        message: `flag "${flagKey}" not found ${where} (HTTP 404${detail}); create it first (type release)`,
      });
    }
    if (response.status === 400) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.flagShape,
        provider: UNLEASH_PROVIDER,
        flagKey,
        message: `Unleash refused the strategy of flag "${flagKey}" ${where} (HTTP 400${detail})`,
      });
    }
    throw new RoutingError({
      code: ROUTING_ERROR_CODE.unavailable,
      provider: UNLEASH_PROVIDER,
      flagKey,
      message: `Unleash answered HTTP ${response.status}${detail} to ${method} ${url}`,
    });
  }

  async function loadEnvironment(flagKey: string): Promise<FeatureEnvironment> {
    const feature = (await request('GET', featureUrl(flagKey), flagKey)) as { environments?: FeatureEnvironment[] };
    const environment = feature?.environments?.find((env) => env.name === config.environment);
    if (environment === undefined) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.flagNotFound,
        provider: UNLEASH_PROVIDER,
        flagKey,
        message: `flag "${flagKey}" in project "${config.project}" has no environment "${config.environment}"`,
      });
    }
    return environment;
  }

  async function read(flagKey: string): Promise<RoutingSplit | undefined> {
    const environment = await loadEnvironment(flagKey);
    return splitFromStrategies(flagKey, environment.enabled, environment.strategies ?? [], where);
  }

  async function writeOnce(split: RoutingSplit, desired: UnleashStrategy): Promise<void> {
    const environment = await loadEnvironment(split.flagKey);
    const strategies = environment.strategies ?? [];
    const foreign = strategies.filter((strategy) => !isOwnStrategy(strategy));
    if (foreign.length > 0) {
      // Never overwrite someone else's targeting: the operator must remove it first.
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.flagShape,
        provider: UNLEASH_PROVIDER,
        flagKey: split.flagKey,
        message: `flag "${split.flagKey}" ${where} has ${foreign.length} strategy(ies) agent-canary did not write (${foreign.map((s) => s.title ?? s.name).join(', ')}); remove them so the controller owns the flag`,
      });
    }
    const base = `${featureUrl(split.flagKey)}/environments/${encodeURIComponent(config.environment)}`;
    const [own, ...extra] = strategies;
    for (const duplicate of extra) {
      if (duplicate.id !== undefined) await request('DELETE', `${base}/strategies/${duplicate.id}`, split.flagKey);
    }
    if (own === undefined) {
      await request('POST', `${base}/strategies`, split.flagKey, desired);
    } else if (!sameStrategy(own, desired)) {
      await request('PUT', `${base}/strategies/${own.id}`, split.flagKey, desired);
    }
    if (!environment.enabled) await request('POST', `${base}/on`, split.flagKey);
  }

  return {
    config,
    read,
    async apply(split: RoutingSplit): Promise<ApplyResult> {
      const desired = strategyForSplit(split);
      const outcome = await withRetry(
        async () => {
          await writeOnce(split, desired);
          const back = await read(split.flagKey);
          if (!sameSplit(back, split) || back?.rolloutId !== split.rolloutId) {
            throw new Error(`read-back shows ${describe(back)}, not ${describe(split)}`);
          }
        },
        { ...config.retry, isPermanent },
      );
      if (!outcome.ok) {
        const reason = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
        return { acknowledged: false, attempts: outcome.attempts, reason };
      }
      return { acknowledged: true, acknowledgedAtMillis: config.clock(), attempts: outcome.attempts };
    },
    async close() {},
  };
}

function serverMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    return typeof parsed.message === 'string' ? `: ${parsed.message}` : '';
  } catch {
    return text === '' ? '' : `: ${text.slice(0, 200)}`;
  }
}

function describe(split: RoutingSplit | undefined): string {
  if (split === undefined) return 'no split';
  return `canary ${split.canaryRelease} ${split.canaryBasisPoints} bp / control ${split.stableRelease} ${split.controlBasisPoints} bp (rollout ${split.rolloutId})`;
}
