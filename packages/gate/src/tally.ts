import { countAtOrBelow, countsOnEdges, totalCount } from './buckets.js';
import { ANALYSIS_UNIT, type GateConfig } from './config.js';
import type { ArmPair, FrozenReference, Tally } from './state.js';
import type { BucketCounts, CohortWindow, CohortWindows } from './windows.js';

/** Rate signals the gate counts, by check. */
export const RATE_SIGNAL = {
  error: 'error',
  tool: 'tool',
  refusal: 'refusal',
  thumbsDown: 'thumbs',
  lowSimilarity: 'lowsim',
} as const;
export type RateSignal = (typeof RATE_SIGNAL)[keyof typeof RATE_SIGNAL];

/**
 * The unit a distribution check can actually use: `subject` needs the source's
 * one-observation-per-subject distributions, else every request counts.
 */
export function distributionUnit(windows: CohortWindows, unit: string, field: 'latency' | 'length'): string {
  if (unit !== ANALYSIS_UNIT.subject) return ANALYSIS_UNIT.request;
  const { stable, canary, control } = windows.cohorts;
  const has = (w: CohortWindow) => (field === 'latency' ? w.subjectLatencyMillis : w.subjectOutputLength) !== undefined;
  return has(stable) && has(canary) && has(control) ? ANALYSIS_UNIT.subject : ANALYSIS_UNIT.request;
}

/** The latency distribution a rank test reads at `unit` (see {@link distributionUnit}). */
export function latencyOf(window: CohortWindow, unit: string): BucketCounts {
  return unit === ANALYSIS_UNIT.subject ? (window.subjectLatencyMillis ?? window.latencyMillis) : window.latencyMillis;
}

/** The length distribution a rank test reads at `unit` (see {@link distributionUnit}). */
export function lengthOf(window: CohortWindow, unit: string): BucketCounts {
  return unit === ANALYSIS_UNIT.subject ? (window.subjectOutputLength ?? window.outputLength) : window.outputLength;
}

/** Adverse events and their exposure for a rate check in one cohort, at the check's unit. */
export function rateCounts(
  window: CohortWindow,
  signal: RateSignal,
  unit: string,
  similarityMin: number,
): { events: number; exposure: number; unit: string } {
  const subject = unit === ANALYSIS_UNIT.subject;
  switch (signal) {
    case RATE_SIGNAL.error:
      return subject
        ? { events: window.subjectsWithError, exposure: window.subjects, unit }
        : { events: window.errors, exposure: window.requests, unit };
    case RATE_SIGNAL.tool:
      return subject
        ? { events: window.subjectsWithToolFailure, exposure: window.subjects, unit }
        : { events: window.toolFailures, exposure: window.toolCalls, unit: ANALYSIS_UNIT.toolCall };
    case RATE_SIGNAL.refusal:
      return subject
        ? { events: window.subjectsWithRefusal, exposure: window.subjects, unit }
        : { events: window.refusals, exposure: window.requests, unit };
    case RATE_SIGNAL.thumbsDown:
      return subject
        ? { events: window.subjectsWithThumbsDown, exposure: window.subjects, unit }
        : { events: window.thumbsDown, exposure: window.feedback, unit };
    case RATE_SIGNAL.lowSimilarity:
      // Similarity has no per-subject counter: the request is its unit.
      return {
        events: countAtOrBelow(window.similarity.buckets, similarityMin),
        exposure: window.similarity.count,
        unit: ANALYSIS_UNIT.request,
      };
  }
}

/**
 * Freezes a reference from stable observations: finite edges and counts on them (plus an
 * overflow slot). Null below `minSamples`.
 */
export function freezeReference(buckets: BucketCounts, minSamples: number): FrozenReference | null {
  const samples = totalCount(buckets);
  if (samples < minSamples) return null;
  const edges = buckets.filter((b) => Number.isFinite(b.upper)).map((b) => b.upper);
  return { edges, counts: countsOnEdges(buckets, edges), samples };
}

/**
 * `countsOnEdges` in one merge pass: buckets and edges are both ascending, so each
 * bucket's slot (the first edge at or above its upper bound, else overflow) only moves
 * forward. Falls back to the binary-search version on unsorted input.
 */
export function countsOnSortedEdges(buckets: BucketCounts, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let slot = 0;
  let previous = Number.NEGATIVE_INFINITY;
  for (const bucket of buckets) {
    if (!(bucket.upper > previous)) return countsOnEdges(buckets, edges);
    previous = bucket.upper;
    if (bucket.count === 0) continue;
    while (slot < edges.length && (edges[slot] ?? Number.POSITIVE_INFINITY) < bucket.upper) slot += 1;
    counts[slot] = (counts[slot] ?? 0) + bucket.count;
  }
  return counts;
}

/** Everything additive the gate's tests need, read from cumulative windows. */
export function tallyOf(
  windows: CohortWindows,
  config: GateConfig,
  references: { latency: FrozenReference | null; length: FrozenReference | null },
): Tally {
  const subject = config.sampleRatio.unit === ANALYSIS_UNIT.subject;
  const { stable, canary, control } = windows.cohorts;
  const n = [stable, canary, control].map((w) => (subject ? w.subjects : w.requests));
  const { checks } = config;
  const min = checks.similarity.min;
  const pair = (signal: RateSignal, unit: string): ArmPair<number> => [
    rateCounts(canary, signal, unit, min).events,
    rateCounts(control, signal, unit, min).events,
  ];
  const rates: Record<string, ArmPair<number>> = {
    [RATE_SIGNAL.error]: pair(RATE_SIGNAL.error, checks.errorRate.unit),
    [RATE_SIGNAL.tool]: pair(RATE_SIGNAL.tool, checks.toolSuccessRate.unit),
    [RATE_SIGNAL.refusal]: pair(RATE_SIGNAL.refusal, checks.refusalRate.unit),
    [RATE_SIGNAL.thumbsDown]: pair(RATE_SIGNAL.thumbsDown, checks.thumbsDownRate.unit),
    [RATE_SIGNAL.lowSimilarity]: pair(RATE_SIGNAL.lowSimilarity, ANALYSIS_UNIT.request),
  };
  const calls = (w: CohortWindow): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [tool, counts] of Object.entries(w.toolCallsByName)) out[tool] = counts.calls;
    return out;
  };
  const onEdges = (buckets: BucketCounts, edges: readonly number[]) => countsOnSortedEdges(buckets, edges);
  const lat = references.latency;
  const len = references.length;
  const latUnit = distributionUnit(windows, checks.latencyP99.unit, 'latency');
  const lenUnit = distributionUnit(windows, checks.responseLength.unit, 'length');
  return {
    n,
    rates,
    lat: lat ? [onEdges(latencyOf(canary, latUnit), lat.edges), onEdges(latencyOf(control, latUnit), lat.edges)] : null,
    len: len ? [onEdges(lengthOf(canary, lenUnit), len.edges), onEdges(lengthOf(control, lenUnit), len.edges)] : null,
    mix: [calls(canary), calls(control)],
  };
}
