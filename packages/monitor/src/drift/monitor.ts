import type { RolloutStore, Scheduler } from '@agent-canary/controller';
import {
  deliverAndRecord,
  NOTIFICATION_KIND,
  type Notification,
  type Notifier,
  SEVERITY,
} from '@agent-canary/controller';
import { diag } from '@opentelemetry/api';
import { currentStableRelease } from '../registry/registry.js';
import { type BehaviorMonitorConfig, type BehaviorMonitorOptions, resolveMonitorConfig } from './config.js';
import { evaluateSignals } from './signals.js';
import {
  type BehaviorBaseline,
  type BehaviorWindowSource,
  type DriftEvidence,
  type MonitorAlertRecord,
  type MonitorSignal,
  type MonitorState,
  type MonitorWindow,
  SIGNAL_STATUS,
  type SignalAlertState,
  type SignalEvaluation,
} from './types.js';
import { mergeMonitorWindows } from './window.js';

/** Options of {@link createBehaviorMonitor}: the collaborators, then the statistics. */
export interface CreateBehaviorMonitorOptions extends BehaviorMonitorOptions {
  /** Where state, baselines and alerts persist (the controller's store). */
  readonly store: RolloutStore;
  /** Where the watched release's behaviour is read from. */
  readonly source: BehaviorWindowSource;
  /** Where drift alerts go. @default [] */
  readonly notifiers?: readonly Notifier[];
  /** Epoch-milliseconds clock. @default Date.now */
  readonly clock?: () => number;
  /** Timers of `run()` (inject fakes in tests). @default the global setTimeout / clearTimeout */
  readonly scheduler?: Scheduler;
}

/** Phases of the monitor. */
export const MONITOR_PHASE = {
  /** No stable release known yet. */
  idle: 'idle',
  /** Observing a newly stable release before freezing its baseline. */
  collectingBaseline: 'collecting_baseline',
  /** Comparing windows of the release against its baseline. */
  monitoring: 'monitoring',
} as const;
/** One of {@link MONITOR_PHASE}. */
export type MonitorPhase = (typeof MONITOR_PHASE)[keyof typeof MONITOR_PHASE];

/** A drift notification: a controller {@link Notification} plus the evidence. */
export interface DriftNotification extends Notification {
  readonly drift: DriftEvidence;
}

/** Result of one {@link BehaviorMonitor.tick}. */
export interface MonitorTickResult {
  readonly phase: MonitorPhase;
  readonly release?: string;
  /** Evaluations of the current (partial) window; empty outside `monitoring`. */
  readonly evaluations: readonly SignalEvaluation[];
  /** Window the evaluations cover. */
  readonly window?: { readonly sinceMillis: number; readonly untilMillis: number };
  /** Alerts raised by this tick. */
  readonly raised: readonly MonitorAlertRecord[];
  /** Signals whose alert cleared (re-armed) in this tick. */
  readonly cleared: readonly MonitorSignal[];
  /** True when a baseline was frozen in this tick. */
  readonly baselineFrozen: boolean;
  readonly reason: string;
}

/** What {@link BehaviorMonitor.status} reports. */
export interface MonitorStatus {
  readonly monitorId: string;
  readonly phase: MonitorPhase;
  readonly release?: string;
  readonly baseline?: Omit<BehaviorBaseline, 'window'> & { readonly turns: number; readonly users: number };
  readonly windowIndex: number;
  readonly openAlerts: readonly MonitorAlertRecord[];
}

/** Input of {@link BehaviorMonitor.freezeBaseline}; the range is narrowed to whole windows. */
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

/** The continuous behaviour monitor of the stable release. */
export interface BehaviorMonitor {
  readonly config: BehaviorMonitorConfig;
  /** Evaluates once: follows promotions, freezes baselines, compares, alerts. Never throws for source or notifier failures. */
  tick(): Promise<MonitorTickResult>;
  /** Freezes a new baseline now from a past range (accepting the current behaviour as normal); open alerts clear. */
  freezeBaseline(input: FreezeBaselineInput): Promise<FreezeBaselineResult>;
  status(): MonitorStatus;
  /** Ticks every `tickIntervalMillis` until {@link BehaviorMonitor.stop}. */
  run(): void;
  /** Stops the tick loop (idempotent). The store stays open: its owner closes it. */
  stop(): void;
  /** Resolves when queued ticks have finished. */
  idle(): Promise<void>;
}

/** Longest catch-up after downtime: older windows are skipped, not evaluated. */
const MAX_CATCH_UP_WINDOWS = 24;
/** Longest baseline collection: a release too quiet to fill a baseline in a week uses its last week. */
const MAX_BASELINE_WINDOWS = 168;

function initialState(monitorId: string, now: number): MonitorState {
  return { v: 2, monitorId, windowIndex: 0, signals: {}, updatedAtMillis: now };
}

/**
 * The status of a monitor as persisted in the store, read without running it (what
 * {@link BehaviorMonitor.status} returns; the dashboard shows it for every monitor of a store).
 *
 * @example
 * for (const id of store.monitorIds()) console.log(readMonitorStatus(store, id).openAlerts.length);
 */
export function readMonitorStatus(store: RolloutStore, monitorId: string): MonitorStatus {
  const state = store.getMonitorState<MonitorState>(monitorId);
  const phase =
    state?.release === undefined
      ? MONITOR_PHASE.idle
      : state.baseline === undefined || state.pendingBaseline !== undefined
        ? MONITOR_PHASE.collectingBaseline
        : MONITOR_PHASE.monitoring;
  const baseline = state?.baseline;
  return {
    monitorId,
    phase,
    ...(state?.release === undefined ? {} : { release: state.release }),
    ...(baseline === undefined
      ? {}
      : {
          baseline: {
            release: baseline.release,
            sinceMillis: baseline.sinceMillis,
            untilMillis: baseline.untilMillis,
            frozenAtMillis: baseline.frozenAtMillis,
            reason: baseline.reason,
            actor: baseline.actor,
            periods: baseline.periods,
            turns: baseline.window.turns,
            users: baseline.window.users,
          },
        }),
    windowIndex: state?.windowIndex ?? 0,
    openAlerts: store.monitorAlerts<MonitorSignal, DriftEvidence>(monitorId, { openOnly: true }),
  };
}

/**
 * Creates the continuous behaviour monitor of the stable release ("has behaviour
 * drifted", not only "is it up").
 *
 * Everything is counted over users: a window is one subject period of the source (each
 * user counts once in it, whatever its number of calls), so users are the independent
 * units of every test. When a release becomes stable (a rollout promotes it, or it is
 * marked stable), the monitor observes it for `baselineMillis` (whole windows) and
 * freezes that as its baseline. From then on, each window is a fresh anytime-valid test
 * against the baseline: every tick may look at the current window (Ville's inequality),
 * and each window spends `alphaPerWindow` over its signals, so over N windows of
 * unchanged behaviour the expected number of false alerts is at most N·alphaPerWindow. A
 * signal alarms only when a confidence bound of its effect is past its tolerance.
 * Windows never overlap the baseline, which a test against a fixed baseline needs.
 *
 * One alert per signal until it clears: an open alert re-arms after
 * `rearmAfterCleanWindows` closed windows judged clear in a row. State, baselines and
 * alerts are committed to the store in one transaction before notifying, so a restarted
 * monitor does not alert twice.
 *
 * @example
 * const monitor = createBehaviorMonitor({ store, source: processorBehaviorSource(behavior), flagKey: 'agent.release', notifiers: [webhookNotifier({ url })] });
 * monitor.run();
 * @throws ConfigError when an option is invalid.
 */
export function createBehaviorMonitor(options: CreateBehaviorMonitorOptions): BehaviorMonitor {
  const config = resolveMonitorConfig(options, options.source.subjectPeriodMillis);
  const { store, source } = options;
  const windowMillis = config.windowMillis;
  const floorToWindow = (millis: number) => Math.floor(millis / windowMillis) * windowMillis;
  const ceilToWindow = (millis: number) => Math.ceil(millis / windowMillis) * windowMillis;
  const baselineSpanMillis = Math.ceil(config.baselineMillis / windowMillis) * windowMillis;
  const notifiers = options.notifiers ?? [];
  const clock = options.clock ?? Date.now;
  const scheduler: Scheduler = options.scheduler ?? {
    setTimeout: (callback, delayMillis) => setTimeout(callback, delayMillis),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const monitorId = config.monitorId;
  // Bonferroni over the enabled signals: valid under any dependence between them.
  const alphaPerSignal = config.alphaPerWindow / config.signals.length;
  let queue: Promise<unknown> = Promise.resolve();
  let timer: unknown;
  let running = false;

  const serialize = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  /** The stored state; a version-1 state (per-call windows) is dropped, its open alerts cleared. */
  const loadState = (now: number): MonitorState => {
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
  };

  const result = (
    phase: MonitorPhase,
    state: MonitorState,
    reason: string,
    extra: Partial<Omit<MonitorTickResult, 'phase' | 'reason'>> = {},
  ): MonitorTickResult => ({
    phase,
    ...(state.release === undefined ? {} : { release: state.release }),
    evaluations: [],
    raised: [],
    cleared: [],
    baselineFrozen: false,
    reason,
    ...extra,
  });

  function openAlertClears(state: MonitorState, now: number, reason: string) {
    const clears: { id: number; atMillis: number; reason: string; signal: MonitorSignal }[] = [];
    for (const [signal, alert] of Object.entries(state.signals) as [MonitorSignal, SignalAlertState | undefined][]) {
      if (alert?.alertId !== undefined) clears.push({ id: alert.alertId, atMillis: now, reason, signal });
    }
    return clears;
  }

  async function notifyAll(notification: Notification): Promise<void> {
    await deliverAndRecord(notifiers, notification, store, monitorId, 'agent-canary monitor');
  }

  const notificationBase = (release: string, now: number) => ({
    rolloutId: monitorId,
    flagKey: config.flagKey ?? '',
    canaryRelease: release,
    stableRelease: release,
    canaryBasisPoints: 0,
    controlBasisPoints: 0,
    atMillis: now,
  });

  /** Reads a range of whole windows one by one: the baseline's window and how many of them had users. */
  async function readBaseline(
    release: string,
    range: { sinceMillis: number; untilMillis: number },
  ): Promise<
    { ok: true; window: MonitorWindow; periods: number; sinceMillis: number } | { ok: false; reason: string }
  > {
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

  async function freezeFrom(
    state: MonitorState,
    release: string,
    range: { sinceMillis: number; untilMillis: number },
    why: { reason: string; actor: string },
    now: number,
  ): Promise<FreezeBaselineResult> {
    const read = await readBaseline(release, range);
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
      await notifyAll({
        ...notificationBase(release, now),
        kind: NOTIFICATION_KIND.alertCleared,
        severity: SEVERITY.info,
        title: `behaviour drift of ${release}: ${clear.signal} cleared`,
        reason: `new baseline frozen by ${why.actor}: ${why.reason}`,
      });
    }
    return { ok: true, baseline };
  }

  async function tickOnce(): Promise<MonitorTickResult> {
    const now = clock();
    let state = loadState(now);
    // A configured release has been stable since some unknown time: its recent past counts.
    const target = config.release
      ? { release: config.release, sinceMillis: Number.NEGATIVE_INFINITY }
      : currentStableRelease(store, config.flagKey);
    if (target === undefined) {
      return result(
        MONITOR_PHASE.idle,
        state,
        'no stable release known: register one as stable, promote a rollout, or configure the release',
      );
    }
    if (state.release !== target.release) {
      const rolloutId = 'rolloutId' in target ? target.rolloutId : undefined;
      // A monitor started long after the promotion uses the last whole windows; otherwise
      // the baseline starts with the first whole window of the new release.
      const recent = floorToWindow(now) - baselineSpanMillis;
      const next: MonitorState = {
        v: 2,
        monitorId,
        release: target.release,
        pendingBaseline: {
          release: target.release,
          sinceMillis: recent >= target.sinceMillis ? recent : ceilToWindow(target.sinceMillis),
          reason: rolloutId === undefined ? 'became the stable release' : `promoted by rollout ${rolloutId}`,
          actor: 'monitor',
        },
        windowIndex: 0,
        signals: {},
        updatedAtMillis: now,
      };
      store.commitMonitor({
        monitorId,
        clear: openAlertClears(state, now, `stable release changed to ${target.release}`),
        state: () => next,
      });
      state = next;
    }
    const release = target.release;
    const pending = state.pendingBaseline;
    if (pending !== undefined || state.baseline === undefined) {
      const untilMillis = floorToWindow(now);
      const sinceMillis = Math.max(
        pending?.sinceMillis ?? untilMillis - baselineSpanMillis,
        untilMillis - MAX_BASELINE_WINDOWS * windowMillis,
      );
      if (untilMillis - sinceMillis < baselineSpanMillis) {
        return result(
          MONITOR_PHASE.collectingBaseline,
          state,
          `collecting the baseline of ${release} until ${new Date(sinceMillis + baselineSpanMillis).toISOString()}`,
        );
      }
      const frozen = await freezeFrom(
        state,
        release,
        { sinceMillis, untilMillis },
        { reason: pending?.reason ?? 'first baseline', actor: pending?.actor ?? 'monitor' },
        now,
      );
      if (!frozen.ok)
        return result(MONITOR_PHASE.collectingBaseline, state, `baseline not frozen yet: ${frozen.reason}`);
      return result(MONITOR_PHASE.monitoring, loadState(now), `baseline of ${release} frozen`, {
        baselineFrozen: true,
      });
    }
    return monitorWindows(state, state.baseline, now);
  }

  async function monitorWindows(
    state: MonitorState,
    baseline: BehaviorBaseline,
    now: number,
  ): Promise<MonitorTickResult> {
    const release = baseline.release;
    const origin = ceilToWindow(baseline.untilMillis);
    if (now < origin) {
      return result(MONITOR_PHASE.monitoring, state, `the first window starts at ${new Date(origin).toISOString()}`);
    }
    const sample = { window: baseline.window, periods: baseline.periods };
    const currentIndex = Math.floor((now - origin) / windowMillis);
    const signals: Partial<Record<MonitorSignal, SignalAlertState>> = { ...state.signals };
    const raises: { signal: MonitorSignal; evidence: DriftEvidence }[] = [];
    const clears: { id: number; atMillis: number; reason: string; signal: MonitorSignal }[] = [];
    let windowIndex = Math.max(state.windowIndex, currentIndex - MAX_CATCH_UP_WINDOWS);

    const apply = (
      evaluations: readonly SignalEvaluation[],
      range: { sinceMillis: number; untilMillis: number },
      closing: boolean,
    ) => {
      for (const evaluation of evaluations) {
        const current = signals[evaluation.signal] ?? { cleanWindows: 0 };
        const open = current.alertId !== undefined || raises.some((r) => r.signal === evaluation.signal);
        if (evaluation.status === SIGNAL_STATUS.alarm) {
          if (!open) {
            raises.push({
              signal: evaluation.signal,
              evidence: {
                ...evaluation,
                release,
                windowSinceMillis: range.sinceMillis,
                windowUntilMillis: range.untilMillis,
                firstSeenAtMillis: now,
                baselineFrozenAtMillis: baseline.frozenAtMillis,
                baselineSinceMillis: baseline.sinceMillis,
                baselineUntilMillis: baseline.untilMillis,
              },
            });
            signals[evaluation.signal] = { raisedAtMillis: now, cleanWindows: 0 };
          } else {
            signals[evaluation.signal] = { ...current, cleanWindows: 0 };
          }
        } else if (closing && current.alertId !== undefined && evaluation.status === SIGNAL_STATUS.clear) {
          const cleanWindows = current.cleanWindows + 1;
          if (cleanWindows >= config.rearmAfterCleanWindows) {
            clears.push({
              id: current.alertId,
              atMillis: now,
              reason: `${cleanWindows} clean windows in a row: ${evaluation.reason}`,
              signal: evaluation.signal,
            });
            signals[evaluation.signal] = { cleanWindows: 0 };
          } else {
            signals[evaluation.signal] = { ...current, cleanWindows };
          }
        }
      }
    };

    let reason = '';
    let evaluations: SignalEvaluation[] = [];
    let range = { sinceMillis: origin + currentIndex * windowMillis, untilMillis: now };
    let readFailed = false;
    for (; windowIndex < currentIndex; windowIndex += 1) {
      const closed = {
        sinceMillis: origin + windowIndex * windowMillis,
        untilMillis: origin + (windowIndex + 1) * windowMillis,
      };
      const read = await source.read({ release, ...closed });
      if (!read.ok) {
        reason = `closing window ${windowIndex} failed (source ${source.name}: ${read.reason}); will retry`;
        readFailed = true;
        break;
      }
      apply(evaluateSignals(sample, read.window, config, alphaPerSignal), closed, true);
    }
    if (!readFailed) {
      const read = await source.read({ release, ...range });
      if (read.ok) {
        evaluations = evaluateSignals(sample, read.window, config, alphaPerSignal);
        apply(evaluations, range, false);
        const alarms = evaluations.filter((e) => e.status === SIGNAL_STATUS.alarm).map((e) => e.signal);
        reason = alarms.length > 0 ? `drift in ${alarms.join(', ')}` : 'no drift proven';
      } else {
        reason = `source ${source.name}: ${read.reason}`;
        range = { sinceMillis: range.sinceMillis, untilMillis: range.sinceMillis };
      }
    }
    const ids = store.commitMonitor({
      monitorId,
      raise: raises,
      clear: clears,
      state: (raised) => {
        const withIds = { ...signals };
        raises.forEach((raise, index) => {
          const id = raised[index];
          if (id !== undefined)
            withIds[raise.signal] = { ...(withIds[raise.signal] ?? { cleanWindows: 0 }), alertId: id };
        });
        return { ...state, signals: withIds, windowIndex, updatedAtMillis: now };
      },
    });
    const raisedRecords: MonitorAlertRecord[] = raises.map((raise, index) => ({
      id: ids[index] ?? -1,
      monitorId,
      release,
      signal: raise.signal,
      raisedAtMillis: raise.evidence.firstSeenAtMillis,
      evidence: raise.evidence,
    }));
    for (const record of raisedRecords) {
      const drift: DriftNotification = {
        ...notificationBase(release, now),
        kind: NOTIFICATION_KIND.alert,
        severity: SEVERITY.warn,
        title: `behaviour drift of ${release}: ${record.signal}`,
        reason: record.evidence.reason,
        drift: record.evidence,
      };
      await notifyAll(drift);
    }
    for (const clear of clears) {
      await notifyAll({
        ...notificationBase(release, now),
        kind: NOTIFICATION_KIND.alertCleared,
        severity: SEVERITY.info,
        title: `behaviour drift of ${release}: ${clear.signal} cleared`,
        reason: clear.reason,
      });
    }
    return result(MONITOR_PHASE.monitoring, { ...state, release }, reason, {
      evaluations,
      window: range,
      raised: raisedRecords,
      cleared: clears.map((clear) => clear.signal),
    });
  }

  function status(): MonitorStatus {
    return readMonitorStatus(store, monitorId);
  }

  const schedule = () => {
    timer = scheduler.setTimeout(() => {
      timer = undefined;
      void monitor
        .tick()
        .catch((error: unknown) => diag.error('agent-canary monitor: tick failed', error))
        .then(() => {
          if (running) schedule();
        });
    }, config.tickIntervalMillis);
  };

  const monitor: BehaviorMonitor = {
    config,
    tick: () => serialize(tickOnce),
    freezeBaseline: (input) =>
      serialize(async () => {
        const now = clock();
        const state = loadState(now);
        const release = config.release ?? state.release ?? currentStableRelease(store, config.flagKey)?.release;
        if (release === undefined) return { ok: false, reason: 'no stable release known' };
        if (input.untilMillis !== undefined && input.untilMillis > now) {
          return { ok: false, reason: `invalid baseline range: it ends at ${input.untilMillis}, after now (${now})` };
        }
        // Whole windows only: each user counts once per window, and a partial window sees
        // a different mix of users (the heaviest ones show up first).
        const untilMillis = floorToWindow(input.untilMillis ?? now);
        const sinceMillis = ceilToWindow(input.sinceMillis ?? untilMillis - baselineSpanMillis);
        if (!(sinceMillis < untilMillis)) {
          return {
            ok: false,
            reason: `the baseline range holds no whole window of ${windowMillis} ms (windows are subject periods)`,
          };
        }
        return freezeFrom(
          state,
          release,
          { sinceMillis, untilMillis },
          { reason: input.reason, actor: input.actor },
          now,
        );
      }),
    status,
    run() {
      if (running) return;
      running = true;
      schedule();
    },
    stop() {
      running = false;
      if (timer !== undefined) scheduler.clearTimeout(timer);
      timer = undefined;
    },
    async idle() {
      await queue.catch(() => undefined);
    },
  };
  return monitor;
}

/**
 * Starts a monitor's tick loop (`agent-canary monitor`, or inside `serve`) and returns it;
 * call `stop()` to end it.
 *
 * @example
 * const monitor = runMonitor({ store, source: processorBehaviorSource(behavior), flagKey: 'agent.release', notifiers });
 * process.on('SIGTERM', () => monitor.stop());
 * @throws ConfigError when an option is invalid.
 */
export function runMonitor(options: CreateBehaviorMonitorOptions): BehaviorMonitor {
  const monitor = createBehaviorMonitor(options);
  monitor.run();
  return monitor;
}
