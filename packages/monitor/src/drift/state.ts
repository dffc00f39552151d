import type { RolloutStore } from '@agent-canary/controller';
import { openAlertClears } from './alerts.js';
import type { MonitorState } from './types.js';

/** @internal The state of a monitor that has seen nothing yet. */
export function initialState(monitorId: string, now: number): MonitorState {
  return { v: 2, monitorId, windowIndex: 0, signals: {}, updatedAtMillis: now };
}

/** @internal The stored state; a version-1 state (per-call windows) is dropped, its open alerts cleared. */
export function loadMonitorState(store: RolloutStore, monitorId: string, now: number): MonitorState {
  const stored = store.getMonitorState<MonitorState | { readonly v: 1; readonly signals?: MonitorState['signals'] }>(
    monitorId,
  );
  if (stored === undefined) return initialState(monitorId, now);
  if (stored.v === 2) return stored;
  const fresh = initialState(monitorId, now);
  store.commitMonitor({
    monitorId,
    clear: openAlertClears(
      { ...fresh, signals: stored.signals ?? {} },
      now,
      'monitor upgraded to per-user windows: the baseline is collected again',
    ),
    state: () => fresh,
  });
  return fresh;
}
