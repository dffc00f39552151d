import { PROMETHEUS_LABEL } from '@agent-canary/controller';
import type { BucketCount, BucketCounts, CohortWindow, MetricSource } from '@agent-canary/gate';
import { mergeBuckets } from '@agent-canary/gate';
import {
  type AggregateSnapshot,
  BEHAVIOR_PROCESSOR_DEFAULTS,
  type BehaviorSpanProcessor,
  selectSeries,
} from '@agent-canary/processor';
import { QuantileSketch, type SketchSnapshot } from '@agent-canary/stats';
import { diag } from '@opentelemetry/api';
import {
  type BehaviorWindowQuery,
  type BehaviorWindowResult,
  type BehaviorWindowSource,
  type MonitorWindow,
  USER_EVENT,
  type UserEvent,
} from './types.js';

/** A window with no observations (every per-user field present, at zero). */
export function emptyMonitorWindow(): MonitorWindow {
  return {
    turns: 0,
    users: 0,
    turnUsers: 0,
    usersWith: Object.fromEntries(USER_EVENTS.map((event) => [event, 0])),
    firstTools: {},
    firstTopics: {},
    latencyMillis: [],
    outputLength: [],
  };
}

const USER_EVENTS: readonly UserEvent[] = Object.values(USER_EVENT);

function addCounts(
  windows: readonly MonitorWindow[],
  pick: (window: MonitorWindow) => Readonly<Record<string, number>> | undefined,
): Record<string, number> | undefined {
  if (windows.some((window) => pick(window) === undefined)) return undefined;
  const total: Record<string, number> = {};
  for (const window of windows) {
    for (const [key, count] of Object.entries(pick(window) ?? {})) total[key] = (total[key] ?? 0) + count;
  }
  return total;
}

function addBuckets(
  windows: readonly MonitorWindow[],
  pick: (window: MonitorWindow) => BucketCounts | undefined,
): BucketCounts | undefined {
  const all = windows.map(pick);
  return all.some((buckets) => buckets === undefined) ? undefined : mergeBuckets(...(all as BucketCounts[]));
}

/**
 * Sums windows (counts add; buckets with equal edges add, which is exact for one sketch
 * accuracy). A field absent from any window is absent from the sum.
 */
export function mergeMonitorWindows(...windows: readonly MonitorWindow[]): MonitorWindow {
  let turns = 0;
  let users = 0;
  let turnUsers = 0;
  for (const window of windows) {
    turns += window.turns;
    users += window.users;
    turnUsers += window.turnUsers;
  }
  const usersWith: Partial<Record<UserEvent, number>> = {};
  for (const event of USER_EVENTS) {
    if (windows.every((window) => window.usersWith[event] !== undefined)) {
      usersWith[event] = windows.reduce((total, window) => total + (window.usersWith[event] ?? 0), 0);
    }
  }
  const firstTools = addCounts(windows, (window) => window.firstTools);
  const firstTopics = addCounts(windows, (window) => window.firstTopics);
  const latencyMillis = addBuckets(windows, (window) => window.latencyMillis);
  const outputLength = addBuckets(windows, (window) => window.outputLength);
  return {
    turns,
    users,
    turnUsers,
    usersWith,
    ...(firstTools === undefined ? {} : { firstTools }),
    ...(firstTopics === undefined ? {} : { firstTopics }),
    ...(latencyMillis === undefined ? {} : { latencyMillis }),
    ...(outputLength === undefined ? {} : { outputLength }),
  };
}

function bucketsOf(snapshot: SketchSnapshot): BucketCount[] {
  return QuantileSketch.fromJSON(snapshot)
    .buckets()
    .map((bucket) => ({ upper: bucket.upper, count: bucket.count }));
}

/** Converts the behaviour processor's aggregate of a release into a {@link MonitorWindow} (its per-subject fields). */
export function monitorWindowFromAggregate(aggregate: AggregateSnapshot): MonitorWindow {
  const firstTools: Record<string, number> = {};
  for (const [tool, outcome] of Object.entries(aggregate.subjectTools ?? {})) {
    const users = outcome.ok + outcome.error;
    if (users > 0) firstTools[tool] = users;
  }
  const usersWith: Partial<Record<UserEvent, number>> = {};
  for (const event of USER_EVENTS) usersWith[event] = aggregate.subjectsWith?.[event] ?? 0;
  return {
    turns: aggregate.turns,
    users: aggregate.newSubjects ?? 0,
    turnUsers: aggregate.subjectTurns ?? 0,
    usersWith,
    firstTools,
    firstTopics: { ...(aggregate.subjectTopics ?? {}) },
    latencyMillis: bucketsOf(aggregate.subjectLatencyMillis),
    outputLength: bucketsOf(aggregate.subjectOutputLength),
  };
}

/**
 * Converts a metric source's cohort window into a {@link MonitorWindow}: users, users with
 * an error, a refusal or a thumbs-down (counted once per subject period by the processor
 * that exported them), and the per-subject first observations when the source has them.
 * Prometheus metrics have none of the latter (nor regenerations or takeovers per user):
 * the signals that need them stay `undecided` and say so.
 */
export function monitorWindowFromCohortWindow(window: CohortWindow): MonitorWindow {
  const firsts = window.subjectFirsts;
  const firstTools: Record<string, number> = {};
  for (const [tool, counts] of Object.entries(firsts?.toolsByName ?? {})) {
    if (counts.calls > 0) firstTools[tool] = counts.calls;
  }
  return {
    turns: window.requests,
    users: window.subjects,
    turnUsers: firsts?.turns ?? window.subjects,
    usersWith: {
      [USER_EVENT.turnError]: window.subjectsWithError,
      [USER_EVENT.refusal]: window.subjectsWithRefusal,
      [USER_EVENT.thumbsDown]: window.subjectsWithThumbsDown,
    },
    ...(firsts === undefined ? {} : { firstTools }),
    ...(window.subjectLatencyMillis === undefined ? {} : { latencyMillis: window.subjectLatencyMillis }),
    ...(window.subjectOutputLength === undefined ? {} : { outputLength: window.subjectOutputLength }),
  };
}

/**
 * Reads a release's behaviour from a `BehaviorSpanProcessor` in this process. Its users
 * come from the release's series outside rollouts, where the processor counts each user
 * of the release once per subject period whichever rollout serves it (a promoted release
 * keeps its rollout's id until the next rollout; the stable release carries one during a
 * rollout). The series of a rollout count each user once for the whole rollout, in the
 * cohort it entered — the gate's counts, not a window's — and are read only for `turns`,
 * the requests of the release in every series. The range is widened to whole processor
 * buckets.
 *
 * @example
 * const monitor = createBehaviorMonitor({ store, source: processorBehaviorSource(behavior), flagKey: 'agent.release' });
 */
export function processorBehaviorSource(processor: BehaviorSpanProcessor): BehaviorWindowSource {
  return {
    name: 'in-process',
    subjectPeriodMillis: processor.config.subjectPeriodMillis,
    async read(query: BehaviorWindowQuery): Promise<BehaviorWindowResult> {
      try {
        const window = processor.window({ since: query.sinceMillis, until: query.untilMillis });
        const ofRelease = window.series.filter((series) => series.release === query.release);
        const outside = ofRelease.filter((series) => series.rolloutId === undefined);
        const users = monitorWindowFromAggregate(selectSeries({ ...window, series: outside }, {}));
        const turns = ofRelease.reduce((total, series) => total + series.turns, 0);
        return { ok: true, window: { ...users, turns } };
      } catch (error) {
        diag.error('agent-canary monitor: processor window read failed', error);
        return { ok: false, reason: `processor window read failed: ${String(error)}` };
      }
    },
  };
}

/** Options of {@link metricBehaviorSource}. */
export interface MetricBehaviorSourceOptions {
  /** Release flag key, when the source can filter by it. @default none */
  readonly flagKey?: string;
  /**
   * Subject period of the behaviour processors that export the metrics (their
   * `subjectPeriodMillis`): the monitor's window.
   * @default 3_600_000 (the processor's default)
   */
  readonly subjectPeriodMillis?: number;
}

/**
 * Prometheus label matchers of the series outside rollouts (`agent_canary_rollout_id`
 * absent), where the behaviour processor counts each user of a release once per subject
 * period whichever rollout serves it. Give them to `prometheusSource({ selector })` for
 * {@link metricBehaviorSource}, as `agent-canary monitor` does.
 */
export const OUTSIDE_ROLLOUTS_PROMETHEUS_SELECTOR = `${PROMETHEUS_LABEL.rollout}=""`;

/**
 * Reads a release's behaviour from a gate {@link MetricSource} (Prometheus, ...): every
 * cohort of the release, merged (a promoted release is served as the canary cohort).
 * The source must read the series outside rollouts only — for Prometheus,
 * `prometheusSource({ url, selector: OUTSIDE_ROLLOUTS_PROMETHEUS_SELECTOR })` — where each
 * user counts once per subject period; the series of a rollout count the same users once
 * per rollout, and a source that adds both counts a user served inside a rollout twice.
 * Its `turns` are then the requests outside rollouts only (context, not judged).
 *
 * @example
 * const source = metricBehaviorSource(prometheusSource({ url, selector: OUTSIDE_ROLLOUTS_PROMETHEUS_SELECTOR }));
 */
export function metricBehaviorSource(
  source: MetricSource,
  options: MetricBehaviorSourceOptions = {},
): BehaviorWindowSource {
  return {
    name: source.name,
    subjectPeriodMillis: options.subjectPeriodMillis ?? BEHAVIOR_PROCESSOR_DEFAULTS.subjectPeriodMillis,
    async read(query: BehaviorWindowQuery): Promise<BehaviorWindowResult> {
      const result = await source.read({
        ...(options.flagKey === undefined ? {} : { flagKey: options.flagKey }),
        releases: { canary: query.release, stable: query.release },
        sinceMillis: query.sinceMillis,
        untilMillis: query.untilMillis,
      });
      if (!result.ok) return result;
      const { stable, control, canary } = result.windows.cohorts;
      return {
        ok: true,
        window: mergeMonitorWindows(
          monitorWindowFromCohortWindow(stable),
          monitorWindowFromCohortWindow(control),
          monitorWindowFromCohortWindow(canary),
        ),
      };
    },
  };
}
