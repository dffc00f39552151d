import { NOTIFICATION_KIND, SEVERITY } from '@agent-canary/controller';
import { openAlertClears } from './alerts.js';
import { type MonitorRuntime, notificationBase, notifyAll } from './runtime.js';
import type { BehaviorBaseline, MonitorState, MonitorWindow } from './types.js';
import { mergeMonitorWindows } from './window.js';

/** Input of `BehaviorMonitor.freezeBaseline`; the range is narrowed to whole windows. */
export interface FreezeBaselineInput {
  readonly actor: string;
  readonly reason: string;
  /** @default untilMillis − baselineMillis (rounded up to whole windows) */
  readonly sinceMillis?: number;
  /** @default the start of the current window */
  readonly untilMillis?: number;
}

/** Result of a freeze on demand: refusals are results, not exceptions. */
export type FreezeBaselineResult =
  | { readonly ok: true; readonly baseline: BehaviorBaseline }
  | { readonly ok: false; readonly reason: string };

/** Reads a range of whole windows one by one: the baseline's window and how many of them had users. */
async function readBaseline(
  runtime: MonitorRuntime,
  release: string,
  range: { sinceMillis: number; untilMillis: number },
): Promise<{ ok: true; window: MonitorWindow; periods: number; sinceMillis: number } | { ok: false; reason: string }> {
  const { source, windowMillis } = runtime;
  const windows: MonitorWindow[] = [];
  let first: number | undefined;
  for (let since = range.sinceMillis; since < range.untilMillis; since += windowMillis) {
    const read = await source.read({ release, sinceMillis: since, untilMillis: since + windowMillis });
    if (!read.ok) return read;
    if (read.window.users > 0) {
      windows.push(read.window);
      first ??= since;
    }
  }
  return {
    ok: true,
    window: mergeMonitorWindows(...windows),
    periods: windows.length,
    sinceMillis: first ?? range.sinceMillis,
  };
}

/**
 * @internal Freezes the baseline of `release` from a range of whole windows when it holds
 * `minBaselineUsers`: commits it with a fresh state (open alerts cleared), then notifies
 * the clears.
 */
export async function freezeBaselineFrom(
  runtime: MonitorRuntime,
  state: MonitorState,
  release: string,
  range: { sinceMillis: number; untilMillis: number },
  why: { reason: string; actor: string },
  now: number,
): Promise<FreezeBaselineResult> {
  const { config, store, source } = runtime;
  const monitorId = config.monitorId;
  const read = await readBaseline(runtime, release, range);
  if (!read.ok) return { ok: false, reason: `source ${source.name}: ${read.reason}` };
  if (read.window.users < config.minBaselineUsers) {
    return {
      ok: false,
      reason: `${read.window.users} users of ${release} in the baseline range, need ${config.minBaselineUsers}`,
    };
  }
  const baseline: BehaviorBaseline = {
    release,
    // From the first window with users: empty windows before the release had traffic do not count.
    sinceMillis: read.sinceMillis,
    untilMillis: range.untilMillis,
    frozenAtMillis: now,
    reason: why.reason,
    actor: why.actor,
    periods: read.periods,
    window: read.window,
  };
  const clears = openAlertClears(state, now, `new baseline of ${release}: ${why.reason}`);
  store.commitMonitor({
    monitorId,
    baseline,
    clear: clears,
    state: () => ({ v: 2, monitorId, release, baseline, windowIndex: 0, signals: {}, updatedAtMillis: now }),
  });
  for (const clear of clears) {
    await notifyAll(runtime, {
      ...notificationBase(runtime, release, now),
      kind: NOTIFICATION_KIND.alertCleared,
      severity: SEVERITY.info,
      title: `behaviour drift of ${release}: ${clear.signal} cleared`,
      reason: `new baseline frozen by ${why.actor}: ${why.reason}`,
    });
  }
  return { ok: true, baseline };
}
