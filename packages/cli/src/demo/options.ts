/**
 * What a demo run is asked to do: its options, their defaults, and the dashboard it may
 * serve while it runs.
 */
import type { RolloutStepOptions } from '@agent-canary/controller';
import type { DemoProgress, DemoResult } from './results.js';
import type { Scenario } from './scenarios.js';

/** Defaults of {@link DemoOptions}. */
export const DEMO_DEFAULTS = Object.freeze({
  seed: 42,
  requestsPerSecond: 10,
  users: 50_000,
  zipfExponent: 0.6,
  horizonMillis: 3 * 60 * 60 * 1000,
  progressIntervalMillis: 60_000,
});

/** Options of `runDemo`. Required fields first. */
export interface DemoOptions {
  /** Which canary to roll out (see `SCENARIO`). */
  readonly scenario: Scenario;
  /** Directory for the rollout store (`state.db`), routing and behaviour state, and `report.html`. Its previous demo state is removed. */
  readonly outDir: string;
  /** Seed of the traffic and of the simulated model. @default 42 */
  readonly seed?: number;
  /** Accepted for the CLI's `--json`; `runDemo` itself never prints. @default false */
  readonly json?: boolean;
  /** Called at every `progressIntervalMillis` of virtual time and after every decision. */
  readonly onProgress?: (progress: DemoProgress) => void;
  /**
   * Virtual request rate. The cadence is time-based (step durations, ticks, warm-up), and
   * at 10 requests/s every step still gets several times its minimum canary requests and
   * the canary passes the gate's 3 000-request exposure during the 20% step, so the
   * decisions are those of busier traffic; a higher rate only adds statistical power (and
   * CPU time: about 0.25 ms per request).
   * @default 10
   */
  readonly requestsPerSecond?: number;
  /** Size of the user population (requests pick users Zipf-distributed). @default 50_000 */
  readonly users?: number;
  /** Virtual time after which an unfinished rollout is reported as `held`. @default 10_800_000 (3 h) */
  readonly horizonMillis?: number;
  /** Rollout steps. @default the controller's cadence: 5% 15 min -> 20% 30 min -> 50% 1 h -> 100% */
  readonly steps?: readonly RolloutStepOptions[];
  /**
   * Kill the controller at this virtual offset from the start (its store is closed without
   * warning) and continue with a new controller restored from the same file: shows that a
   * restarted controller resumes the rollout. @default never
   */
  readonly restartControllerAtMillis?: number;
  /** Virtual time between progress callbacks. @default 60_000 */
  readonly progressIntervalMillis?: number;
  /**
   * Virtual milliseconds per wall-clock millisecond: 60 runs a virtual minute each second,
   * so a person can watch the rollout on the dashboard.
   * @default Infinity (as fast as the machine goes)
   */
  readonly speed?: number;
  /** Serve the live dashboard, and the controller API for its actions, while the demo runs. @default undefined */
  readonly dashboard?: DemoDashboardOptions;
}

/** Options of the demo's dashboard ({@link DemoOptions.dashboard}). Required fields first. */
export interface DemoDashboardOptions {
  /** Bearer token of the controller API, which the page's actions use (at least 16 characters). */
  readonly apiToken: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Called once the dashboard listens, with its URL. */
  readonly onListening?: (url: string) => void;
  /**
   * Called with the result once the rollout has ended and the report is written; the
   * dashboard keeps serving until the promise it returns resolves.
   * @default the dashboard stops with the demo
   */
  readonly holdOpen?: (result: DemoResult) => Promise<void>;
}
