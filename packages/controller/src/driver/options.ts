/**
 * The controller's options, their defaults and their validation.
 */
import { ConfigError, type RoutingAdapter } from '@agent-canary/conventions';
import type { GateEvaluator } from '@agent-canary/gate';
import type { Notifier } from '../notify/notifier.js';
import type { RolloutStore } from '../store/store.js';

/** Timer functions the driver schedules ticks with (inject fakes in tests). */
export interface Scheduler {
  setTimeout(callback: () => void, delayMillis: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** How the controller retries a routing write the flag system has not acknowledged. */
export interface RoutingRetryOptions {
  /** Delay before the first retry; doubles with each failed retry. @default 1000 */
  readonly initialDelayMillis?: number;
  /** Cap of one delay: the longest a recovered flag system waits for the write. @default 10000 */
  readonly maxDelayMillis?: number;
  /** Random share of each delay removed, 0..1 (spreads retries of many controllers). @default 0.5 */
  readonly jitter?: number;
  /** Injected for tests. @default Math.random */
  readonly random?: () => number;
}

/** Defaults of {@link RolloutControllerOptions}. */
export const CONTROLLER_DEFAULTS = Object.freeze({
  routingRetry: Object.freeze({ initialDelayMillis: 1_000, maxDelayMillis: 10_000, jitter: 0.5 }),
  routingAlertRepeatMillis: 10 * 60_000,
});

/** Options of {@link RolloutController}. */
export interface RolloutControllerOptions {
  readonly store: RolloutStore;
  readonly routing: RoutingAdapter;
  readonly gate: GateEvaluator;
  /** @default [] */
  readonly notifiers?: readonly Notifier[];
  /** Epoch-milliseconds clock. @default Date.now */
  readonly clock?: () => number;
  /** @default the global setTimeout / clearTimeout */
  readonly scheduler?: Scheduler;
  /** Environment read when resolving rollout options. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Back-off of the retries `run()` makes of a routing write the flag system has not
   * acknowledged, whatever the rollout's phase (a rollback above all), until it lands.
   * @default { initialDelayMillis: 1000, maxDelayMillis: 10000, jitter: 0.5 }
   */
  readonly routingRetry?: RoutingRetryOptions;
  /** While a routing write keeps failing, the `routing_pending` alert is sent again this often. @default 600000 (10 min) */
  readonly routingAlertRepeatMillis?: number;
}

/** The retry settings of {@link RolloutControllerOptions} with their defaults. */
export interface RoutingRetrySettings {
  readonly routingRetry: RoutingRetryOptions;
  readonly routingAlertRepeatMillis: number;
}

/**
 * Applies the defaults to the routing retry options; throws {@link ConfigError} for a delay
 * that is not a positive number of milliseconds.
 */
export function resolveRoutingRetrySettings(options: RolloutControllerOptions): RoutingRetrySettings {
  const routingRetry = { ...CONTROLLER_DEFAULTS.routingRetry, ...options.routingRetry };
  const routingAlertRepeatMillis = options.routingAlertRepeatMillis ?? CONTROLLER_DEFAULTS.routingAlertRepeatMillis;
  for (const [path, value] of [
    ['routingRetry.initialDelayMillis', routingRetry.initialDelayMillis],
    ['routingRetry.maxDelayMillis', routingRetry.maxDelayMillis],
    ['routingAlertRepeatMillis', routingAlertRepeatMillis],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ConfigError({ path, expected: 'a positive number of milliseconds', received: value });
    }
  }
  return { routingRetry, routingAlertRepeatMillis };
}
