import { ConfigError, type SafeResult } from '@agent-canary/conventions';

/** One step of the rollout cadence, as given by the user. */
export interface RolloutStepOptions {
  /** Canary share of traffic in percent (0, 100]. `100` means promote. */
  readonly percent: number;
  /** Minimum time spent at this step before advancing. @default 15 min / 30 min / 1 h (article cadence), else 15 min */
  readonly minDurationMillis?: number;
  /** Minimum canary requests served during this step (growth of the gate's count since the step began) before advancing. @default 100 */
  readonly minCanaryRequests?: number;
}

/** A resolved step. */
export interface RolloutStep {
  readonly percent: number;
  readonly minDurationMillis: number;
  readonly minCanaryRequests: number;
}

/** Warm-up options (statistics.md §4): no advance and no threshold-failure counting before it ends. */
export interface RolloutWarmupOptions {
  /** @default 60000 */
  readonly minDurationMillis?: number;
  /** @default 500 */
  readonly minStableRequests?: number;
  /** @default 50 */
  readonly minCanaryRequests?: number;
}

/** Resolved warm-up: it ends once the time has passed, or earlier once both request minimums are met (the gate's rule). */
export interface RolloutWarmupConfig {
  readonly minDurationMillis: number;
  readonly minStableRequests: number;
  readonly minCanaryRequests: number;
}

/** What a user passes to start a rollout. Required fields first. */
export interface RolloutOptions {
  /** Key of the release flag (the OpenFeature flag the agent evaluates). */
  readonly flagKey: string;
  /** Release id the canary cohort gets. */
  readonly canaryRelease: string;
  /** Release id the stable and control cohorts get. */
  readonly stableRelease: string;
  /** Rollout id; the controller generates one when absent. */
  readonly id?: string;
  /** Cadence; the last step must be 100 (promote). @default 5% (15 min) -> 20% (30 min) -> 50% (1 h) -> 100% */
  readonly steps?: readonly RolloutStepOptions[];
  /** Active time (paused time excluded) after which an unfinished rollout rolls back. @default 21600000 (6 h). Env `AGENT_CANARY_MAX_DURATION_MILLIS` */
  readonly maxDurationMillis?: number;
  /** Gate evaluation period of the driver. @default 5000. Env `AGENT_CANARY_TICK_INTERVAL_MILLIS` */
  readonly tickIntervalMillis?: number;
  /** Consecutive evaluations with a failed absolute threshold before rolling back. @default 3. Env `AGENT_CANARY_CONSECUTIVE_FAILURES` */
  readonly consecutiveFailuresBeforeRollback?: number;
  /** @default { minDurationMillis: 60000, minStableRequests: 500, minCanaryRequests: 50 } */
  readonly warmup?: RolloutWarmupOptions;
  /** Wait for a human `approve` before promoting to 100%. @default false. Env `AGENT_CANARY_REQUIRE_APPROVAL` */
  readonly requireApproval?: boolean;
  /** Hold and alert when the canary has had no traffic for this long. @default 300000 (5 min). Env `AGENT_CANARY_NO_DATA_TIMEOUT_MILLIS` */
  readonly noDataTimeoutMillis?: number;
}

/** A resolved rollout configuration (stored with the rollout; it never changes afterwards). */
export interface RolloutConfig {
  readonly flagKey: string;
  readonly canaryRelease: string;
  readonly stableRelease: string;
  readonly id?: string;
  readonly steps: readonly RolloutStep[];
  readonly maxDurationMillis: number;
  readonly tickIntervalMillis: number;
  readonly consecutiveFailuresBeforeRollback: number;
  readonly warmup: RolloutWarmupConfig;
  readonly requireApproval: boolean;
  readonly noDataTimeoutMillis: number;
}

const MINUTE = 60_000;

/** Defaults of {@link RolloutOptions}: the article's cadence and rollback rule. */
export const ROLLOUT_DEFAULTS = Object.freeze({
  steps: Object.freeze([
    Object.freeze({ percent: 5, minDurationMillis: 15 * MINUTE, minCanaryRequests: 100 }),
    Object.freeze({ percent: 20, minDurationMillis: 30 * MINUTE, minCanaryRequests: 100 }),
    Object.freeze({ percent: 50, minDurationMillis: 60 * MINUTE, minCanaryRequests: 100 }),
    Object.freeze({ percent: 100, minDurationMillis: 0, minCanaryRequests: 0 }),
  ]) as readonly RolloutStep[],
  stepMinDurationMillis: 15 * MINUTE,
  stepMinCanaryRequests: 100,
  maxDurationMillis: 6 * 60 * MINUTE,
  tickIntervalMillis: 5_000,
  consecutiveFailuresBeforeRollback: 3,
  warmup: Object.freeze({ minDurationMillis: MINUTE, minStableRequests: 500, minCanaryRequests: 50 }),
  requireApproval: false,
  noDataTimeoutMillis: 5 * MINUTE,
});

/** Environment variables read by {@link resolveRolloutConfig} (below explicit options). */
export const ROLLOUT_ENV = Object.freeze({
  maxDurationMillis: 'AGENT_CANARY_MAX_DURATION_MILLIS',
  tickIntervalMillis: 'AGENT_CANARY_TICK_INTERVAL_MILLIS',
  consecutiveFailuresBeforeRollback: 'AGENT_CANARY_CONSECUTIVE_FAILURES',
  requireApproval: 'AGENT_CANARY_REQUIRE_APPROVAL',
  noDataTimeoutMillis: 'AGENT_CANARY_NO_DATA_TIMEOUT_MILLIS',
});

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves options: defaults < environment < explicit options. Throws {@link ConfigError}
 * naming the field path, what was expected and what was received.
 *
 * @example
 * const config = resolveRolloutConfig({ flagKey: 'agent-release', canaryRelease: 'v2', stableRelease: 'v1' });
 */
export function resolveRolloutConfig(options: RolloutOptions, env: Env = process.env): RolloutConfig {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError({ path: '', expected: 'a RolloutOptions object', received: options });
  }
  const flagKey = requireString(options.flagKey, 'flagKey');
  const canaryRelease = requireString(options.canaryRelease, 'canaryRelease');
  const stableRelease = requireString(options.stableRelease, 'stableRelease');
  if (canaryRelease === stableRelease) {
    throw new ConfigError({
      path: 'canaryRelease',
      expected: 'a release different from stableRelease',
      received: canaryRelease,
    });
  }
  const id = options.id === undefined ? undefined : requireString(options.id, 'id');
  const steps = resolveSteps(options.steps);
  const warmupOptions = options.warmup ?? {};
  const warmup: RolloutWarmupConfig = Object.freeze({
    minDurationMillis: nonNegative(
      warmupOptions.minDurationMillis,
      ROLLOUT_DEFAULTS.warmup.minDurationMillis,
      'warmup.minDurationMillis',
    ),
    minStableRequests: nonNegativeInteger(
      warmupOptions.minStableRequests,
      ROLLOUT_DEFAULTS.warmup.minStableRequests,
      'warmup.minStableRequests',
    ),
    minCanaryRequests: nonNegativeInteger(
      warmupOptions.minCanaryRequests,
      ROLLOUT_DEFAULTS.warmup.minCanaryRequests,
      'warmup.minCanaryRequests',
    ),
  });
  const config: RolloutConfig = {
    flagKey,
    canaryRelease,
    stableRelease,
    ...(id === undefined ? {} : { id }),
    steps,
    maxDurationMillis: positive(
      options.maxDurationMillis ?? envNumber(env, 'maxDurationMillis'),
      ROLLOUT_DEFAULTS.maxDurationMillis,
      'maxDurationMillis',
    ),
    tickIntervalMillis: positive(
      options.tickIntervalMillis ?? envNumber(env, 'tickIntervalMillis'),
      ROLLOUT_DEFAULTS.tickIntervalMillis,
      'tickIntervalMillis',
    ),
    consecutiveFailuresBeforeRollback: positiveInteger(
      options.consecutiveFailuresBeforeRollback ?? envNumber(env, 'consecutiveFailuresBeforeRollback'),
      ROLLOUT_DEFAULTS.consecutiveFailuresBeforeRollback,
      'consecutiveFailuresBeforeRollback',
    ),
    warmup,
    requireApproval: boolean(
      options.requireApproval ?? envBoolean(env),
      ROLLOUT_DEFAULTS.requireApproval,
      'requireApproval',
    ),
    noDataTimeoutMillis: positive(
      options.noDataTimeoutMillis ?? envNumber(env, 'noDataTimeoutMillis'),
      ROLLOUT_DEFAULTS.noDataTimeoutMillis,
      'noDataTimeoutMillis',
    ),
  };
  return Object.freeze(config);
}

/** Like {@link resolveRolloutConfig}, but returns the error instead of throwing. */
export function safeResolveRolloutConfig(options: RolloutOptions, env: Env = process.env): SafeResult<RolloutConfig> {
  try {
    return { ok: true, value: resolveRolloutConfig(options, env) };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, error };
    throw error;
  }
}

/** Canary and control shares in basis points (of 10 000) for a canary percentage. */
export function splitForPercent(percent: number): { canaryBasisPoints: number; controlBasisPoints: number } {
  const canaryBasisPoints = Math.round(percent * 100);
  // Control mirrors the canary's size so both are compared over the same window with equal power.
  return { canaryBasisPoints, controlBasisPoints: Math.min(canaryBasisPoints, 10_000 - canaryBasisPoints) };
}

function resolveSteps(steps: readonly RolloutStepOptions[] | undefined): readonly RolloutStep[] {
  if (steps === undefined) return ROLLOUT_DEFAULTS.steps;
  if (!Array.isArray(steps) || steps.length === 0) {
    throw new ConfigError({
      path: 'steps',
      expected: 'a non-empty array of steps ending at percent 100',
      received: steps,
    });
  }
  const resolved: RolloutStep[] = [];
  let previous = 0;
  steps.forEach((step: RolloutStepOptions, index) => {
    const path = `steps[${index}]`;
    if (step === null || typeof step !== 'object') {
      throw new ConfigError({
        path,
        expected: 'a step object { percent, minDurationMillis?, minCanaryRequests? }',
        received: step,
      });
    }
    const percent = step.percent;
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent <= previous || percent > 100) {
      throw new ConfigError({
        path: `${path}.percent`,
        expected: `a number in (${previous}, 100], larger than the previous step`,
        received: percent,
      });
    }
    if (Math.round(percent * 100) !== percent * 100) {
      throw new ConfigError({
        path: `${path}.percent`,
        expected: 'a multiple of 0.01 (one basis point)',
        received: percent,
      });
    }
    previous = percent;
    resolved.push(
      Object.freeze({
        percent,
        minDurationMillis: nonNegative(
          step.minDurationMillis,
          ROLLOUT_DEFAULTS.stepMinDurationMillis,
          `${path}.minDurationMillis`,
        ),
        minCanaryRequests: nonNegativeInteger(
          step.minCanaryRequests,
          ROLLOUT_DEFAULTS.stepMinCanaryRequests,
          `${path}.minCanaryRequests`,
        ),
      }),
    );
  });
  if (previous !== 100) {
    throw new ConfigError({
      path: `steps[${steps.length - 1}].percent`,
      expected: '100 on the last step (promote)',
      received: previous,
    });
  }
  if (resolved.length < 2) {
    throw new ConfigError({
      path: 'steps',
      expected: 'at least one canary step below 100 before the final 100',
      received: steps,
    });
  }
  return Object.freeze(resolved);
}

function requireString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigError({ path, expected: 'a non-empty string', received: value });
  }
  return value;
}

function nonNegative(value: unknown, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError({ path, expected: 'a finite number >= 0', received: value });
  }
  return value;
}

function nonNegativeInteger(value: unknown, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError({ path, expected: 'an integer >= 0', received: value });
  }
  return value;
}

function positive(value: unknown, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError({ path, expected: 'a finite number > 0', received: value });
  }
  return value;
}

function positiveInteger(value: unknown, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError({ path, expected: 'an integer >= 1', received: value });
  }
  return value;
}

function boolean(value: unknown, fallback: boolean, path: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError({ path, expected: 'a boolean', received: value });
  return value;
}

function envNumber(env: Env, key: keyof typeof ROLLOUT_ENV): number | undefined {
  const raw = env[ROLLOUT_ENV[key]];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    throw new ConfigError({ path: `env.${ROLLOUT_ENV[key]}`, expected: 'a number', received: raw });
  }
  return value;
}

function envBoolean(env: Env): boolean | undefined {
  const raw = env[ROLLOUT_ENV.requireApproval]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError({ path: `env.${ROLLOUT_ENV.requireApproval}`, expected: 'true or false', received: raw });
}
