import type { Notifier, RolloutStore, Scheduler } from '@agent-canary/controller';
import { diag } from '@opentelemetry/api';
import { currentStableRelease } from '../registry/registry.js';
import { openAlertClears } from './alerts.js';
import { type FreezeBaselineInput, type FreezeBaselineResult, freezeBaselineFrom } from './baseline.js';
import { type BehaviorMonitorConfig, type BehaviorMonitorOptions, resolveMonitorConfig } from './config.js';
import { monitorWindows } from './monitor-windows.js';
import { ceilToWindow, floorToWindow, monitorRuntime } from './runtime.js';
import { loadMonitorState } from './state.js';
import { MONITOR_PHASE, type MonitorStatus, type MonitorTickResult, readMonitorStatus, tickResult } from './status.js';
import type { BehaviorWindowSource, MonitorState } from './types.js';

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

/** Longest baseline collection: a release too quiet to fill a baseline in a week uses its last week. */
const MAX_BASELINE_WINDOWS = 168;

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
  const { store } = options;
  const runtime = monitorRuntime(config, { store, source: options.source, notifiers: options.notifiers ?? [] });
  const { windowMillis, baselineSpanMillis } = runtime;
  const clock = options.clock ?? Date.now;
  const scheduler: Scheduler = options.scheduler ?? {
    setTimeout: (callback, delayMillis) => setTimeout(callback, delayMillis),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const monitorId = config.monitorId;
  let queue: Promise<unknown> = Promise.resolve();
  let timer: unknown;
  let running = false;

  const serialize = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  const loadState = (now: number): MonitorState => loadMonitorState(store, monitorId, now);

  async function tickOnce(): Promise<MonitorTickResult> {
    const now = clock();
    let state = loadState(now);
    // A configured release has been stable since some unknown time: its recent past counts.
    const target = config.release
      ? { release: config.release, sinceMillis: Number.NEGATIVE_INFINITY }
      : currentStableRelease(store, config.flagKey);
    if (target === undefined) {
      return tickResult(
        MONITOR_PHASE.idle,
        state,
        'no stable release known: register one as stable, promote a rollout, or configure the release',
      );
    }
    if (state.release !== target.release) {
      const rolloutId = 'rolloutId' in target ? target.rolloutId : undefined;
      // A monitor started long after the promotion uses the last whole windows; otherwise
      // the baseline starts with the first whole window of the new release.
      const recent = floorToWindow(runtime, now) - baselineSpanMillis;
      const next: MonitorState = {
        v: 2,
        monitorId,
        release: target.release,
        pendingBaseline: {
          release: target.release,
          sinceMillis: recent >= target.sinceMillis ? recent : ceilToWindow(runtime, target.sinceMillis),
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
      const untilMillis = floorToWindow(runtime, now);
      const sinceMillis = Math.max(
        pending?.sinceMillis ?? untilMillis - baselineSpanMillis,
        untilMillis - MAX_BASELINE_WINDOWS * windowMillis,
      );
      if (untilMillis - sinceMillis < baselineSpanMillis) {
        return tickResult(
          MONITOR_PHASE.collectingBaseline,
          state,
          `collecting the baseline of ${release} until ${new Date(sinceMillis + baselineSpanMillis).toISOString()}`,
        );
      }
      const frozen = await freezeBaselineFrom(
        runtime,
        state,
        release,
        { sinceMillis, untilMillis },
        { reason: pending?.reason ?? 'first baseline', actor: pending?.actor ?? 'monitor' },
        now,
      );
      if (!frozen.ok)
        return tickResult(MONITOR_PHASE.collectingBaseline, state, `baseline not frozen yet: ${frozen.reason}`);
      return tickResult(MONITOR_PHASE.monitoring, loadState(now), `baseline of ${release} frozen`, {
        baselineFrozen: true,
      });
    }
    return monitorWindows(runtime, state, state.baseline, now);
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
        const untilMillis = floorToWindow(runtime, input.untilMillis ?? now);
        const sinceMillis = ceilToWindow(runtime, input.sinceMillis ?? untilMillis - baselineSpanMillis);
        if (!(sinceMillis < untilMillis)) {
          return {
            ok: false,
            reason: `the baseline range holds no whole window of ${windowMillis} ms (windows are subject periods)`,
          };
        }
        return freezeBaselineFrom(
          runtime,
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
