import { COHORT, type Cohort, FEEDBACK_KIND } from '@agent-canary/conventions';
import type {
  BucketCount,
  CohortWindow,
  MetricQuery,
  MetricReadResult,
  MetricSource,
  ToolCounts,
} from '@agent-canary/gate';
import {
  ADVERSE_SIGNAL,
  type AggregateSnapshot,
  type BehaviorSpanProcessor,
  selectSeries,
  type WindowSnapshot,
} from '@agent-canary/processor';
import { QuantileSketch, type SketchSnapshot } from '@agent-canary/stats';
import { diag } from '@opentelemetry/api';

function bucketsOf(snapshot: SketchSnapshot): BucketCount[] {
  return QuantileSketch.fromJSON(snapshot)
    .buckets()
    .map((bucket) => ({ upper: bucket.upper, count: bucket.count }));
}

/** Converts the processor's merged aggregate of one cohort into the gate's window shape. */
export function cohortWindowFromAggregate(aggregate: AggregateSnapshot): CohortWindow {
  const toolCallsByName: Record<string, ToolCounts> = {};
  let toolCalls = 0;
  let toolFailures = 0;
  for (const [tool, outcome] of Object.entries(aggregate.toolCalls)) {
    toolCallsByName[tool] = { calls: outcome.ok + outcome.error, failures: outcome.error };
    toolCalls += outcome.ok + outcome.error;
    toolFailures += outcome.error;
  }
  const thumbsDown = aggregate.feedback[FEEDBACK_KIND.thumbsDown] ?? 0;
  const thumbsUp = aggregate.feedback[FEEDBACK_KIND.thumbsUp] ?? 0;
  const score = (snapshot: SketchSnapshot) => {
    const sketch = QuantileSketch.fromJSON(snapshot);
    return { count: sketch.count, sum: sketch.sum, buckets: bucketsOf(snapshot) };
  };
  const toolsByName: Record<string, ToolCounts> = {};
  for (const [tool, outcome] of Object.entries(aggregate.subjectTools ?? {})) {
    toolsByName[tool] = { calls: outcome.ok + outcome.error, failures: outcome.error };
  }
  const firstFeedback = aggregate.subjectFeedback ?? {};
  const firstThumbsDown = firstFeedback[FEEDBACK_KIND.thumbsDown] ?? 0;
  return {
    requests: aggregate.turns,
    errors: aggregate.turnErrors,
    subjects: aggregate.newSubjects,
    subjectsWithError: aggregate.subjectsWith[ADVERSE_SIGNAL.turnError] ?? 0,
    toolCalls,
    toolFailures,
    subjectsWithToolFailure: aggregate.subjectsWith[ADVERSE_SIGNAL.toolError] ?? 0,
    toolCallsByName,
    refusals: aggregate.refusals,
    subjectsWithRefusal: aggregate.subjectsWith[ADVERSE_SIGNAL.refusal] ?? 0,
    // A thumbs-down rate is a share of rated turns: regenerate and takeover are other signals.
    feedback: thumbsUp + thumbsDown,
    thumbsDown,
    subjectsWithThumbsDown: aggregate.subjectsWith[ADVERSE_SIGNAL.thumbsDown] ?? 0,
    latencyMillis: bucketsOf(aggregate.turnLatencyMillis),
    subjectLatencyMillis: bucketsOf(aggregate.subjectLatencyMillis),
    outputLength: bucketsOf(aggregate.outputLength),
    subjectOutputLength: bucketsOf(aggregate.subjectOutputLength),
    similarity: score(aggregate.similarity),
    toxicity: score(aggregate.toxicity),
    subjectFirsts: {
      turns: aggregate.subjectTurns,
      turnErrors: aggregate.subjectTurnErrors,
      turnRefusals: aggregate.subjectTurnRefusals,
      toolsByName,
      secondTools: aggregate.subjectSecondTools,
      toolSwitches: aggregate.subjectToolSwitches,
      ratings: firstThumbsDown + (firstFeedback[FEEDBACK_KIND.thumbsUp] ?? 0),
      thumbsDown: firstThumbsDown,
      similarity: score(aggregate.subjectSimilarity),
      toxicity: score(aggregate.subjectToxicity),
    },
  };
}

/** Options of {@link inProcessSource}. */
export interface InProcessSourceOptions {
  /**
   * Only count spans of this rollout (`agent_canary.rollout.id`). By default the query's
   * rollout id is used when spans carry it, else every span of the releases counts.
   * @default the query's `rolloutId`
   */
  readonly rolloutId?: string;
}

/**
 * The in-process metric source: reads windows from a `BehaviorSpanProcessor` running in
 * the same process (the embedded default). The window starts at the time bucket holding
 * `sinceMillis`, so the rollout's first seconds are not lost to bucket alignment.
 *
 * @example
 * const gate = createGate(resolveGateConfig(), inProcessSource(behaviorProcessor));
 */
export function inProcessSource(processor: BehaviorSpanProcessor, options: InProcessSourceOptions = {}): MetricSource {
  return {
    name: 'in-process',
    async read(query: MetricQuery): Promise<MetricReadResult> {
      try {
        const bucketMillis = processor.config.bucketMillis;
        const since = Math.floor(query.sinceMillis / bucketMillis) * bucketMillis;
        const window: WindowSnapshot = processor.window({ since, until: query.untilMillis });
        const wanted = options.rolloutId ?? query.rolloutId;
        // Spans carry the rollout id only when the routing provider reports it: filter on
        // it when this rollout's series exist, otherwise fall back to release + cohort.
        const rolloutId =
          wanted !== undefined && window.series.some((series) => series.rolloutId === wanted) ? wanted : undefined;
        const pick = (cohort: Cohort, release: string) =>
          cohortWindowFromAggregate(
            selectSeries(window, { cohort, release, ...(rolloutId === undefined ? {} : { rolloutId }) }),
          );
        return {
          ok: true,
          windows: {
            sinceMillis: window.since,
            untilMillis: window.until,
            cohorts: {
              stable: pick(COHORT.stable, query.releases.stable),
              canary: pick(COHORT.canary, query.releases.canary),
              control: pick(COHORT.control, query.releases.stable),
            },
          },
        };
      } catch (error) {
        diag.error('agent-canary in-process source: window read failed', error);
        return { ok: false, reason: `in-process window read failed: ${String(error)}` };
      }
    },
  };
}
