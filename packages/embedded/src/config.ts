import { join } from 'node:path';
import {
  type Notifier,
  type RolloutConfig,
  type RolloutOptions,
  resolveRolloutConfig,
  type Scheduler,
} from '@agent-canary/controller';
import { ConfigError } from '@agent-canary/conventions';
import { type GateConfig, type GateOptions, resolveGateConfig } from '@agent-canary/gate';
import type { BehaviorSpanProcessorOptions } from '@agent-canary/processor';

/**
 * Options of `createEmbeddedCanary`: the rollout (flag key, releases, steps and the other
 * `RolloutOptions`) plus what the one-process wiring needs. Required fields first.
 */
export interface EmbeddedCanaryOptions extends RolloutOptions {
  /**
   * Directory for the rollout store (`state.db`), the routing state file (`routing.json`)
   * and the behaviour snapshot (`behavior.json`). Without it everything lives in memory:
   * fine for tests and demos, but a restarted process then starts from nothing.
   * @default undefined (in memory)
   */
  readonly stateDir?: string;
  /** Quality gate options (checks, thresholds, alpha). @default the gate's defaults (`GATE_DEFAULTS`) */
  readonly gate?: GateOptions;
  /**
   * Epoch-milliseconds clock of the processor's time buckets, the gate, the controller and
   * the routing adapter. Inject a virtual clock to run a rollout in simulated time.
   * @default Date.now
   */
  readonly clock?: () => number;
  /** Where transitions and alerts are sent (`webhookNotifier`, `logNotifier`). @default [] */
  readonly notifiers?: readonly Notifier[];
  /** Timers of `run()`. @default the global setTimeout / clearTimeout */
  readonly scheduler?: Scheduler;
  /**
   * Options of the `BehaviorSpanProcessor` (its clock is `clock`).
   * @default { snapshotPath: `${stateDir}/behavior.json` } with `stateDir`, else {}
   */
  readonly behavior?: Omit<BehaviorSpanProcessorOptions, 'now'>;
  /**
   * OpenFeature domain the embedded provider is registered on; `resolve()` evaluates
   * through a client of this domain.
   * @default `agent-canary:${flagKey}`
   */
  readonly domain?: string;
  /**
   * With `stateDir`, the provider serves the split from `routing.json`, so changes written
   * by another process (the `agent-canary` CLI's pause, rollback, ...) reach this one too;
   * it checks the file at most once per this interval (lazily, on evaluation, plus a file
   * watch). 0 checks on every evaluation: a simulation in virtual time then sees each
   * change on its very next request. Without `stateDir` changes are pushed in-process.
   * @default 15
   */
  readonly routingRefreshMillis?: number;
  /** Environment read for rollout options (`AGENT_CANARY_*`). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** `createEmbeddedCanary` options after validation and defaults. */
export interface EmbeddedCanaryConfig {
  /** The rollout options given (validated: `rollout` is what they resolve to now). */
  readonly rolloutOptions: RolloutOptions;
  readonly rollout: RolloutConfig;
  readonly gate: GateConfig;
  readonly domain: string;
  /** `undefined` when in memory. */
  readonly storePath: string | undefined;
  readonly routingPath: string | undefined;
  readonly behaviorSnapshotPath: string | undefined;
  readonly routingRefreshMillis: number;
  readonly clock: () => number;
}

/** Defaults of {@link EmbeddedCanaryOptions}. */
export const EMBEDDED_CANARY_DEFAULTS = Object.freeze({
  domainPrefix: 'agent-canary:',
  storeFileName: 'state.db',
  routingFileName: 'routing.json',
  behaviorFileName: 'behavior.json',
  routingRefreshMillis: 15,
});

const OWN_KEYS = [
  'stateDir',
  'gate',
  'clock',
  'notifiers',
  'scheduler',
  'behavior',
  'domain',
  'routingRefreshMillis',
  'env',
] as const;

/**
 * Validates `createEmbeddedCanary` options and fills in defaults. Throws `ConfigError`
 * naming the field (rollout fields as `resolveRolloutConfig` names them, gate fields
 * prefixed with `gate.` by the gate's own resolver).
 */
export function resolveEmbeddedCanaryConfig(options: EmbeddedCanaryOptions): EmbeddedCanaryConfig {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError({ path: '', expected: 'an EmbeddedCanaryOptions object', received: options });
  }
  const rolloutOptions = Object.fromEntries(
    Object.entries(options).filter(([key]) => !(OWN_KEYS as readonly string[]).includes(key)),
  ) as unknown as RolloutOptions;
  const rollout = resolveRolloutConfig(rolloutOptions, options.env ?? process.env);
  let gate: GateConfig;
  try {
    gate = resolveGateConfig(options.gate ?? {});
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError({ path: `gate.${error.path}`, expected: error.expected, received: error.received });
    }
    throw error;
  }
  const { stateDir } = options;
  if (stateDir !== undefined && (typeof stateDir !== 'string' || stateDir.trim() === '')) {
    throw new ConfigError({ path: 'stateDir', expected: 'a directory path', received: stateDir });
  }
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function') throw new ConfigError({ path: 'clock', expected: 'a function', received: clock });
  const domain = options.domain ?? `${EMBEDDED_CANARY_DEFAULTS.domainPrefix}${rollout.flagKey}`;
  if (typeof domain !== 'string' || domain === '') {
    throw new ConfigError({ path: 'domain', expected: 'a non-empty string', received: domain });
  }
  const routingRefreshMillis = options.routingRefreshMillis ?? EMBEDDED_CANARY_DEFAULTS.routingRefreshMillis;
  if (typeof routingRefreshMillis !== 'number' || !Number.isFinite(routingRefreshMillis) || routingRefreshMillis < 0) {
    throw new ConfigError({
      path: 'routingRefreshMillis',
      expected: 'a number of milliseconds >= 0',
      received: routingRefreshMillis,
    });
  }
  const inDir = (name: string) => (stateDir === undefined ? undefined : join(stateDir, name));
  return Object.freeze({
    rolloutOptions,
    rollout,
    gate,
    domain,
    storePath: inDir(EMBEDDED_CANARY_DEFAULTS.storeFileName),
    routingPath: inDir(EMBEDDED_CANARY_DEFAULTS.routingFileName),
    behaviorSnapshotPath: options.behavior?.snapshotPath ?? inDir(EMBEDDED_CANARY_DEFAULTS.behaviorFileName),
    routingRefreshMillis,
    clock,
  });
}
