/**
 * The write side of routing: how the controller changes who gets the canary. The interface
 * lives here, below the controller, so that adapters (embedded file, flagd, LaunchDarkly,
 * ...) implement it without depending on the controller.
 */

import { ConfigError } from './errors.js';

/** A release split for one flag. Shares are basis points of 10 000; stable gets the rest. */
export interface RoutingSplit {
  readonly flagKey: string;
  readonly rolloutId: string;
  readonly canaryRelease: string;
  readonly stableRelease: string;
  /** Canary share: the lowest buckets. */
  readonly canaryBasisPoints: number;
  /** Control share (stable release, compared with the canary): the next buckets. */
  readonly controlBasisPoints: number;
  /** Version counter of the flag system, when it has one (set by `read`). */
  readonly version?: number;
}

/** Outcome of {@link RoutingAdapter.apply}. */
export interface ApplyResult {
  /** True once a read-back showed the split in the flag system. */
  readonly acknowledged: boolean;
  /** When the read-back confirmed it (epoch milliseconds). */
  readonly acknowledgedAtMillis?: number;
  /** Write attempts made (1 when the first one was confirmed). */
  readonly attempts: number;
  /** Version the flag system gave the split, when it has one. */
  readonly version?: number;
  /** Why it was not acknowledged. */
  readonly reason?: string;
}

/** A flag system the controller can write splits to. */
export interface RoutingAdapter {
  /** Writes `split`, idempotently, and confirms it by reading it back (retrying until acknowledged). */
  apply(split: RoutingSplit): Promise<ApplyResult>;
  /** The split currently in the flag system, or undefined when the flag has none. */
  read(flagKey: string): Promise<RoutingSplit | undefined>;
  close(): Promise<void>;
}

/** True when two splits route the same users the same way (version and ids of other rollouts aside). */
export function sameSplit(a: RoutingSplit | undefined, b: RoutingSplit | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.flagKey === b.flagKey &&
    a.canaryRelease === b.canaryRelease &&
    a.stableRelease === b.stableRelease &&
    a.canaryBasisPoints === b.canaryBasisPoints &&
    a.controlBasisPoints === b.controlBasisPoints
  );
}

/** Basis points of the whole population: shares of a {@link RoutingSplit} are out of this. */
export const TOTAL_BASIS_POINTS = 10_000;

/**
 * Checks a split before an adapter writes it: integer shares in 0..10000 whose sum is at
 * most 10000, and non-empty flag key and release ids (and rollout id when
 * `requireRolloutId`). Throws a `ConfigError` naming the field (`split.canaryBasisPoints`, ...).
 *
 * @example
 * assertValidSplit({ flagKey: 'agent.release', rolloutId: 'r1', canaryRelease: 'v2', stableRelease: 'v1', canaryBasisPoints: 500, controlBasisPoints: 500 });
 */
export function assertValidSplit(split: RoutingSplit, options: { readonly requireRolloutId?: boolean } = {}): void {
  for (const [path, value] of [
    ['split.canaryBasisPoints', split.canaryBasisPoints],
    ['split.controlBasisPoints', split.controlBasisPoints],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > TOTAL_BASIS_POINTS) {
      throw new ConfigError({ path, expected: `an integer in 0..${TOTAL_BASIS_POINTS}`, received: value });
    }
  }
  if (split.canaryBasisPoints + split.controlBasisPoints > TOTAL_BASIS_POINTS) {
    throw new ConfigError({
      path: 'split.controlBasisPoints',
      expected: `canary + control <= ${TOTAL_BASIS_POINTS}`,
      received: split.controlBasisPoints,
    });
  }
  const keys = options.requireRolloutId === true ? REQUIRED_WITH_ROLLOUT_ID : REQUIRED_KEYS;
  for (const key of keys) {
    if (typeof split[key] !== 'string' || split[key] === '') {
      throw new ConfigError({ path: `split.${key}`, expected: 'a non-empty string', received: split[key] });
    }
  }
}

const REQUIRED_KEYS = ['flagKey', 'canaryRelease', 'stableRelease'] as const;
const REQUIRED_WITH_ROLLOUT_ID = [...REQUIRED_KEYS, 'rolloutId'] as const;

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** Attempts in total, including the first. @default 8 */
  readonly maxAttempts?: number;
  /** Delay before the second attempt; doubles each time. @default 50 */
  readonly initialDelayMillis?: number;
  /** Cap of one delay. @default 5000 */
  readonly maxDelayMillis?: number;
  /** Random share of each delay removed ("full jitter" spread 0..1). @default 0.5 */
  readonly jitter?: number;
  /** Injected for tests. @default setTimeout-based */
  readonly sleep?: (millis: number) => Promise<void>;
  /** Injected for tests. @default Math.random */
  readonly random?: () => number;
  /**
   * Errors that retrying within this call will not fix (bad credentials, a missing flag, a
   * flag of the wrong shape): one for which this returns true ends the retries at once and
   * is thrown. An operator can still fix them, so the controller retries a routing write
   * that ended this way later, with its own back-off, and alerts. @default none
   */
  readonly isPermanent?: (error: unknown) => boolean;
}

/** Defaults of {@link RetryOptions}. */
export const RETRY_DEFAULTS = Object.freeze({
  maxAttempts: 8,
  initialDelayMillis: 50,
  maxDelayMillis: 5_000,
  jitter: 0.5,
});

/** Result of {@link withRetry}. */
export type RetryResult<T> =
  | { readonly ok: true; readonly value: T; readonly attempts: number }
  | { readonly ok: false; readonly error: unknown; readonly attempts: number };

/**
 * Runs `attempt` until it returns without throwing, with exponential backoff and jitter
 * between attempts. The last error comes back in the result; only an error that
 * `isPermanent` accepts is thrown, at once.
 *
 * @example
 * const result = await withRetry(async () => { await write(split); if (!sameSplit(await read(), split)) throw new Error('not yet'); });
 */
export async function withRetry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<RetryResult<T>> {
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? RETRY_DEFAULTS.maxAttempts));
  const initial = options.initialDelayMillis ?? RETRY_DEFAULTS.initialDelayMillis;
  const cap = options.maxDelayMillis ?? RETRY_DEFAULTS.maxDelayMillis;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? RETRY_DEFAULTS.jitter));
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  let lastError: unknown;
  for (let n = 1; n <= maxAttempts; n++) {
    try {
      return { ok: true, value: await attempt(n), attempts: n };
    } catch (error) {
      if (options.isPermanent?.(error)) throw error;
      lastError = error;
    }
    if (n < maxAttempts) {
      await sleep(retryDelayMillis(n, { initialDelayMillis: initial, maxDelayMillis: cap, jitter, random }));
    }
  }
  return { ok: false, error: lastError, attempts: maxAttempts };
}

/**
 * The delay after failed attempt `attemptNumber` (1, 2, ...): `initialDelayMillis` doubled
 * per attempt, capped at `maxDelayMillis`, minus a random share of up to `jitter` of it.
 * The one back-off rule of {@link withRetry} and of the controller's routing retries.
 *
 * @example
 * retryDelayMillis(3, { initialDelayMillis: 1000, maxDelayMillis: 10000, jitter: 0 }); // 4000
 */
export function retryDelayMillis(
  attemptNumber: number,
  options: Pick<RetryOptions, 'initialDelayMillis' | 'maxDelayMillis' | 'jitter' | 'random'> = {},
): number {
  const initial = options.initialDelayMillis ?? RETRY_DEFAULTS.initialDelayMillis;
  const cap = options.maxDelayMillis ?? RETRY_DEFAULTS.maxDelayMillis;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? RETRY_DEFAULTS.jitter));
  const random = options.random ?? Math.random;
  // The exponent is capped too: 2 ** 1100 is Infinity, and an outage can last that many attempts.
  const base = Math.min(cap, initial * 2 ** Math.min(Math.max(0, attemptNumber - 1), 52));
  // Jitter spreads retries of many writers so they do not hit the flag system in lockstep.
  return base * (1 - jitter * random());
}

function defaultSleep(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis));
}
