import type { Notification, Notifier, RolloutStore } from '@agent-canary/controller';
import { deliverAndRecord } from '@agent-canary/controller';
import type { BehaviorMonitorConfig } from './config.js';
import type { BehaviorWindowSource, DriftEvidence } from './types.js';

/**
 * @internal What the parts of one monitor share: its resolved configuration, its
 * collaborators, and the window arithmetic derived from them.
 */
export interface MonitorRuntime {
  readonly config: BehaviorMonitorConfig;
  readonly store: RolloutStore;
  readonly source: BehaviorWindowSource;
  readonly notifiers: readonly Notifier[];
  /** Width of a window: the source's subject period. */
  readonly windowMillis: number;
  /** The baseline's length in whole windows, in ms. */
  readonly baselineSpanMillis: number;
  /** Each signal's share of `alphaPerWindow`. */
  readonly alphaPerSignal: number;
}

/** @internal The monitor's shared parts for `config`. */
export function monitorRuntime(
  config: BehaviorMonitorConfig,
  collaborators: Pick<MonitorRuntime, 'store' | 'source' | 'notifiers'>,
): MonitorRuntime {
  const windowMillis = config.windowMillis;
  return {
    config,
    ...collaborators,
    windowMillis,
    baselineSpanMillis: Math.ceil(config.baselineMillis / windowMillis) * windowMillis,
    // Bonferroni over the enabled signals: valid under any dependence between them.
    alphaPerSignal: config.alphaPerWindow / config.signals.length,
  };
}

/** @internal Start of the window holding `millis`. */
export function floorToWindow(runtime: MonitorRuntime, millis: number): number {
  return Math.floor(millis / runtime.windowMillis) * runtime.windowMillis;
}

/** @internal The first window boundary at or after `millis`. */
export function ceilToWindow(runtime: MonitorRuntime, millis: number): number {
  return Math.ceil(millis / runtime.windowMillis) * runtime.windowMillis;
}

/** A drift notification: a controller {@link Notification} plus the evidence. */
export interface DriftNotification extends Notification {
  readonly drift: DriftEvidence;
}

/** @internal The fields every notification of the monitor shares. */
export function notificationBase(runtime: MonitorRuntime, release: string, now: number) {
  return {
    rolloutId: runtime.config.monitorId,
    flagKey: runtime.config.flagKey ?? '',
    canaryRelease: release,
    stableRelease: release,
    canaryBasisPoints: 0,
    controlBasisPoints: 0,
    atMillis: now,
  };
}

/** @internal Delivers to every notifier and records the deliveries in the store. */
export async function notifyAll(runtime: MonitorRuntime, notification: Notification): Promise<void> {
  await deliverAndRecord(
    runtime.notifiers,
    notification,
    runtime.store,
    runtime.config.monitorId,
    'agent-canary monitor',
  );
}
