import { FEEDBACK_KIND } from '@agent-canary/conventions';
import type { BucketCount, CohortWindow, MetricSource } from '@agent-canary/gate';
import { mergeBuckets } from '@agent-canary/gate';
import { type AggregateSnapshot, type BehaviorSpanProcessor, selectSeries } from '@agent-canary/processor';
import { QuantileSketch, type SketchSnapshot } from '@agent-canary/stats';
import { diag } from '@opentelemetry/api';
import type { BehaviorWindowQuery, BehaviorWindowResult, BehaviorWindowSource, MonitorWindow } from './types.js';

/** A window with no observations. */
export function emptyMonitorWindow(): MonitorWindow {
  return {
    turns: 0,
    errors: 0,
    refusals: 0,
    toolCalls: {},
    topics: {},
    feedback: {},
    latencyMillis: [],
    outputLength: [],
  };
}

/** Sums windows (counts add; buckets with equal edges add, which is exact for one sketch accuracy). */
export function mergeMonitorWindows(...windows: readonly MonitorWindow[]): MonitorWindow {
  const add = (target: Record<string, number>, source: Readonly<Record<string, number>>) => {
    for (const [key, count] of Object.entries(source)) target[key] = (target[key] ?? 0) + count;
  };
  const toolCalls: Record<string, number> = {};
  const topics: Record<string, number> = {};
  const feedback: Record<string, number> = {};
  let turns = 0;
  let errors = 0;
  let refusals = 0;
  for (const window of windows) {
    turns += window.turns;
    errors += window.errors;
    refusals += window.refusals;
    add(toolCalls, window.toolCalls);
    add(topics, window.topics);
    add(feedback, window.feedback);
  }
  return {
    turns,
    errors,
    refusals,
    toolCalls,
    topics,
    feedback,
    latencyMillis: mergeBuckets(...windows.map((w) => w.latencyMillis)),
    outputLength: mergeBuckets(...windows.map((w) => w.outputLength)),
  };
}

function bucketsOf(snapshot: SketchSnapshot): BucketCount[] {
  return QuantileSketch.fromJSON(snapshot)
    .buckets()
    .map((bucket) => ({ upper: bucket.upper, count: bucket.count }));
}

/** Converts the behaviour processor's aggregate of a release into a {@link MonitorWindow}. */
export function monitorWindowFromAggregate(aggregate: AggregateSnapshot): MonitorWindow {
  const toolCalls: Record<string, number> = {};
  for (const [tool, outcome] of Object.entries(aggregate.toolCalls)) {
    const calls = outcome.ok + outcome.error;
    if (calls > 0) toolCalls[tool] = calls;
  }
  return {
    turns: aggregate.turns,
    errors: aggregate.turnErrors,
    refusals: aggregate.refusals,
    toolCalls,
    topics: { ...aggregate.topics.counts },
    feedback: { ...aggregate.feedback },
    latencyMillis: bucketsOf(aggregate.turnLatencyMillis),
    outputLength: bucketsOf(aggregate.outputLength),
  };
}

/**
 * Converts a metric source's cohort window into a {@link MonitorWindow}. Metrics carry no
 * topics, regenerations or takeovers: those signals stay silent with such a source.
 */
export function monitorWindowFromCohortWindow(window: CohortWindow): MonitorWindow {
  const toolCalls: Record<string, number> = {};
  for (const [tool, counts] of Object.entries(window.toolCallsByName))
    if (counts.calls > 0) toolCalls[tool] = counts.calls;
  return {
    turns: window.requests,
    errors: window.errors,
    refusals: window.refusals,
    toolCalls,
    topics: {},
    feedback: { [FEEDBACK_KIND.thumbsDown]: window.thumbsDown },
    latencyMillis: window.latencyMillis,
    outputLength: window.outputLength,
  };
}

/**
 * Reads a release's behaviour from a `BehaviorSpanProcessor` in this process: every
 * series of the release (stable and control cohorts alike, they run the same release).
 * The range is widened to whole processor buckets.
 *
 * @example
 * const monitor = createBehaviorMonitor({ store, source: processorBehaviorSource(behavior), flagKey: 'agent.release' });
 */
export function processorBehaviorSource(processor: BehaviorSpanProcessor): BehaviorWindowSource {
  return {
    name: 'in-process',
    async read(query: BehaviorWindowQuery): Promise<BehaviorWindowResult> {
      try {
        const window = processor.window({ since: query.sinceMillis, until: query.untilMillis });
        return { ok: true, window: monitorWindowFromAggregate(selectSeries(window, { release: query.release })) };
      } catch (error) {
        diag.error('agent-canary monitor: processor window read failed', error);
        return { ok: false, reason: `processor window read failed: ${String(error)}` };
      }
    },
  };
}

/**
 * Reads a release's behaviour from a gate {@link MetricSource} (Prometheus, ...): the
 * stable and control cohorts of the release, merged.
 */
export function metricBehaviorSource(
  source: MetricSource,
  options: { readonly flagKey?: string } = {},
): BehaviorWindowSource {
  return {
    name: source.name,
    async read(query: BehaviorWindowQuery): Promise<BehaviorWindowResult> {
      const result = await source.read({
        ...(options.flagKey === undefined ? {} : { flagKey: options.flagKey }),
        releases: { canary: query.release, stable: query.release },
        sinceMillis: query.sinceMillis,
        untilMillis: query.untilMillis,
      });
      if (!result.ok) return result;
      const { stable, control } = result.windows.cohorts;
      return {
        ok: true,
        window: mergeMonitorWindows(monitorWindowFromCohortWindow(stable), monitorWindowFromCohortWindow(control)),
      };
    },
  };
}
