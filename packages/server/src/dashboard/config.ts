import type { RolloutStore } from '@agent-canary/controller';
import { ConfigError } from '@agent-canary/conventions';
import type { MetricSource } from '@agent-canary/gate';

/** Environment variables read by {@link resolveDashboardConfig}. */
export const DASHBOARD_ENV = Object.freeze({
  /** Bearer token that grants read access to the dashboard's data. */
  readToken: 'AGENT_CANARY_DASHBOARD_TOKEN',
});

/**
 * Options of the dashboard (`ServerOptions.dashboard`): the pages at `/`, `/rollouts/:id`
 * and `/releases`, and the read-only JSON they poll under `/dashboard/api/`.
 *
 * Read access: a request may read when it carries `Authorization: Bearer <token>` with the
 * read token or the API token; without a read token configured, requests without a token
 * may read too, but only when the server listens on a loopback address and the request
 * names a loopback host (so another site cannot read it through DNS rebinding). Actions
 * always go through the controller API and its token.
 */
export interface DashboardOptions {
  /** Store the pages read: rollouts, gate verdicts, releases and drift alerts. The caller closes it. */
  readonly store: RolloutStore;
  /**
   * Bearer token that grants read access (at least 16 characters); the API token grants it
   * too. With one, every read needs a token, even on loopback.
   * @default env `AGENT_CANARY_DASHBOARD_TOKEN`; without one, reads are open on a loopback listener only
   */
  readonly readToken?: string;
  /** How often an open page asks for new data, ms (at least 250). @default 2000 */
  readonly pollIntervalMillis?: number;
  /**
   * Epoch-milliseconds clock of "now": ages, and where a running rollout's timeline ends
   * (the demo passes its virtual clock).
   * @default Date.now
   */
  readonly clock?: () => number;
  /**
   * Where a running rollout's page reads its current tool mix (the gate's metric source,
   * e.g. `inProcessSource(behavior)`). Without one, the tool mix shows once the rollout
   * has ended, from its post-mortem.
   * @default undefined
   */
  readonly metricSource?: MetricSource;
}

/** Resolved {@link DashboardOptions}. */
export interface DashboardConfig {
  readonly store: RolloutStore;
  readonly readToken: string | undefined;
  readonly pollIntervalMillis: number;
  readonly clock: () => number;
  readonly metricSource: MetricSource | undefined;
}

/** Defaults of {@link DashboardOptions}. */
export const DASHBOARD_DEFAULTS = Object.freeze({
  pollIntervalMillis: 2000,
});

const MIN_TOKEN_LENGTH = 16;
const MIN_POLL_MILLIS = 250;

/**
 * Resolves dashboard options (defaults < environment < options).
 * @throws ConfigError naming the field (`dashboard.<field>`) when a value is invalid.
 */
export function resolveDashboardConfig(
  options: DashboardOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): DashboardConfig {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError({ path: 'dashboard', expected: 'a DashboardOptions object', received: options });
  }
  const store = options.store;
  if (store === null || typeof store !== 'object' || typeof store.listRollouts !== 'function') {
    throw new ConfigError({ path: 'dashboard.store', expected: 'a RolloutStore', received: typeof store });
  }
  const envToken = env[DASHBOARD_ENV.readToken];
  const readToken = options.readToken ?? (envToken === '' ? undefined : envToken);
  if (readToken !== undefined && (typeof readToken !== 'string' || readToken.length < MIN_TOKEN_LENGTH)) {
    throw new ConfigError({
      path: 'dashboard.readToken',
      expected: `a token of at least ${MIN_TOKEN_LENGTH} characters`,
      received: typeof readToken === 'string' ? `${readToken.length} characters` : readToken,
    });
  }
  const pollIntervalMillis = options.pollIntervalMillis ?? DASHBOARD_DEFAULTS.pollIntervalMillis;
  if (
    typeof pollIntervalMillis !== 'number' ||
    !Number.isInteger(pollIntervalMillis) ||
    pollIntervalMillis < MIN_POLL_MILLIS
  ) {
    throw new ConfigError({
      path: 'dashboard.pollIntervalMillis',
      expected: `an integer number of milliseconds >= ${MIN_POLL_MILLIS}`,
      received: pollIntervalMillis,
    });
  }
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function') {
    throw new ConfigError({ path: 'dashboard.clock', expected: 'a function', received: clock });
  }
  const metricSource = options.metricSource;
  if (metricSource !== undefined && typeof metricSource?.read !== 'function') {
    throw new ConfigError({
      path: 'dashboard.metricSource',
      expected: 'a MetricSource',
      received: typeof metricSource,
    });
  }
  return Object.freeze({ store, readToken, pollIntervalMillis, clock, metricSource });
}
