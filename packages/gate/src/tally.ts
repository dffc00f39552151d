/**
 * From cohort windows to what the tests count, at each check's unit. Subject unit: one
 * observation per subject (its first adverse event of a kind, its first turn, first tool
 * call, first scores), counted in the cohort it entered; request unit: every request.
 */
import { countAtOrBelow, countsOnEdges, totalCount } from './buckets.js';
import { ANALYSIS_UNIT, type GateConfig } from './options.js';
import type { ArmPair, FrozenReference, Tally } from './state.js';
import type { BucketCounts, CohortWindow, CohortWindows, ScoreWindow, ToolCounts } from './windows.js';

/** Rate signals the gate counts, by check. */
export const RATE_SIGNAL = {
  error: 'error',
  tool: 'tool',
  refusal: 'refusal',
  thumbsDown: 'thumbs',
  lowSimilarity: 'lowsim',
} as const;
export type RateSignal = (typeof RATE_SIGNAL)[keyof typeof RATE_SIGNAL];

/** What a subject-unit check reads beyond the per-subject adverse counters every source has. */
export const SUBJECT_DATA = {
  /** Adverse events counted once per subject (`subjectsWith*`): every source. */
  adverse: 'adverse',
  /** Each subject's first turn latency. */
  latency: 'latency',
  /** Each subject's first turn length. */
  length: 'length',
  /** Each subject's first tool call, first scores, first rating (`subjectFirsts`). */
  firsts: 'firsts',
} as const;
export type SubjectData = (typeof SUBJECT_DATA)[keyof typeof SUBJECT_DATA];

function hasData(window: CohortWindow, data: SubjectData): boolean {
  switch (data) {
    case SUBJECT_DATA.adverse:
      return true;
    case SUBJECT_DATA.latency:
      return window.subjectLatencyMillis !== undefined;
    case SUBJECT_DATA.length:
      return window.subjectOutputLength !== undefined;
    case SUBJECT_DATA.firsts:
      return window.subjectFirsts !== undefined;
  }
}

/**
 * The unit a check can actually use: `subject` needs the source's per-subject data, else
 * every request counts (and the check's evidence says so).
 */
export function effectiveUnit(windows: CohortWindows, unit: string, data: SubjectData): string {
  if (unit !== ANALYSIS_UNIT.subject) return ANALYSIS_UNIT.request;
  const { stable, canary, control } = windows.cohorts;
  return hasData(stable, data) && hasData(canary, data) && hasData(control, data)
    ? ANALYSIS_UNIT.subject
    : ANALYSIS_UNIT.request;
}

/** The latency distribution a test reads at `unit` (each subject's first turn, or every turn). */
export function latencyOf(window: CohortWindow, unit: string): BucketCounts {
  return unit === ANALYSIS_UNIT.subject ? (window.subjectLatencyMillis ?? window.latencyMillis) : window.latencyMillis;
}

/** The length distribution a test reads at `unit`. */
export function lengthOf(window: CohortWindow, unit: string): BucketCounts {
  return unit === ANALYSIS_UNIT.subject ? (window.subjectOutputLength ?? window.outputLength) : window.outputLength;
}

/** Similarity scores at `unit` (each subject's first score, or every scored answer). */
export function similarityOf(window: CohortWindow, unit: string): ScoreWindow {
  return unit === ANALYSIS_UNIT.subject ? (window.subjectFirsts?.similarity ?? window.similarity) : window.similarity;
}

/** Toxicity scores at `unit`. */
export function toxicityOf(window: CohortWindow, unit: string): ScoreWindow {
  return unit === ANALYSIS_UNIT.subject ? (window.subjectFirsts?.toxicity ?? window.toxicity) : window.toxicity;
}

/** Tool use by name at `unit`: each subject's first tool call, or every call. */
export function toolsOf(window: CohortWindow, unit: string): Readonly<Record<string, ToolCounts>> {
  return unit === ANALYSIS_UNIT.subject
    ? (window.subjectFirsts?.toolsByName ?? window.toolCallsByName)
    : window.toolCallsByName;
}

/** Adverse events and their exposure for a rate check's sequential test, at the check's unit. */
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
    case RATE_SIGNAL.lowSimilarity: {
      const scores = similarityOf(window, unit);
      return { events: countAtOrBelow(scores.buckets, similarityMin), exposure: scores.count, unit };
    }
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

function callsOf(tools: Readonly<Record<string, ToolCounts>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [tool, counts] of Object.entries(tools)) out[tool] = counts.calls;
  return out;
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
  const adverseUnit = (unit: string) => effectiveUnit(windows, unit, SUBJECT_DATA.adverse);
  const rates: Record<string, ArmPair<number>> = {
    [RATE_SIGNAL.error]: pair(RATE_SIGNAL.error, adverseUnit(checks.errorRate.unit)),
    [RATE_SIGNAL.tool]: pair(RATE_SIGNAL.tool, adverseUnit(checks.toolSuccessRate.unit)),
    [RATE_SIGNAL.refusal]: pair(RATE_SIGNAL.refusal, adverseUnit(checks.refusalRate.unit)),
    [RATE_SIGNAL.thumbsDown]: pair(RATE_SIGNAL.thumbsDown, adverseUnit(checks.thumbsDownRate.unit)),
    [RATE_SIGNAL.lowSimilarity]: pair(
      RATE_SIGNAL.lowSimilarity,
      effectiveUnit(windows, checks.similarity.unit, SUBJECT_DATA.firsts),
    ),
  };
  const lat = references.latency;
  const len = references.length;
  const latUnit = effectiveUnit(windows, checks.latencyP99.unit, SUBJECT_DATA.latency);
  const lenUnit = effectiveUnit(windows, checks.responseLength.unit, SUBJECT_DATA.length);
  const mixUnit = effectiveUnit(windows, checks.toolMix.unit, SUBJECT_DATA.firsts);
  const switches = (w: CohortWindow) => (mixUnit === ANALYSIS_UNIT.subject ? (w.subjectFirsts?.toolSwitches ?? 0) : 0);
  return {
    n,
    rates,
    lat: lat
      ? [
          countsOnSortedEdges(latencyOf(canary, latUnit), lat.edges),
          countsOnSortedEdges(latencyOf(control, latUnit), lat.edges),
        ]
      : null,
    len: len
      ? [
          countsOnSortedEdges(lengthOf(canary, lenUnit), len.edges),
          countsOnSortedEdges(lengthOf(control, lenUnit), len.edges),
        ]
      : null,
    mix: [callsOf(toolsOf(canary, mixUnit)), callsOf(toolsOf(control, mixUnit))],
    switches: [switches(canary), switches(control)],
  };
}
