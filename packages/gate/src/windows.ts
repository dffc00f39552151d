import type { Cohort } from '@agent-canary/conventions';

/**
 * One bucket of a distribution: observations `x` with `previous upper < x <= upper`.
 * The last bucket of a distribution may have `upper: Infinity` (overflow).
 */
export interface BucketCount {
  readonly upper: number;
  readonly count: number;
}

/**
 * A distribution on fixed edges, ascending by `upper`. Counts are per bucket (not
 * cumulative). CDFs at the edges are exact, so rank tests and KS distances computed on
 * them are exact at bucket resolution.
 */
export type BucketCounts = readonly BucketCount[];

/** A bounded score (similarity, toxicity): observations, their sum, and their distribution. */
export interface ScoreWindow {
  /** Observations of the score (requests that carried it). */
  readonly count: number;
  readonly sum: number;
  readonly buckets: BucketCounts;
}

/** Calls and failed calls of one tool. */
export interface ToolCounts {
  readonly calls: number;
  readonly failures: number;
}

/**
 * Each subject's first observations in one cohort: one per subject (the unit of
 * randomisation), counted in the cohort the subject ENTERED the rollout in. What the
 * gate's subject-unit thresholds and drift tests read (docs/concepts.md, "Users, not calls").
 */
export interface SubjectFirsts {
  /** Subjects whose first turn was observed (the exposure of the first-turn counts). */
  readonly turns: number;
  /** Subjects whose first turn ended in error. */
  readonly turnErrors: number;
  /** Subjects whose first turn was a refusal. */
  readonly turnRefusals: number;
  /** Each subject's first tool call, by tool name (`failures`: that first call failed). */
  readonly toolsByName: Readonly<Record<string, ToolCounts>>;
  /** Subjects that made a second tool call. */
  readonly secondTools: number;
  /** Subjects whose second tool call used another tool than their first. */
  readonly toolSwitches: number;
  /** Subjects whose first feedback was a rating (thumbs up or down). */
  readonly ratings: number;
  /** Subjects whose first rating was a thumbs-down. */
  readonly thumbsDown: number;
  /** Each subject's first similarity score. */
  readonly similarity: ScoreWindow;
  /** Each subject's first toxicity score. */
  readonly toxicity: ScoreWindow;
}

/**
 * What the gate needs from one cohort over a window: counts and distributions that add
 * across time buckets and replicas. Rates exist at two units: per request (turn, tool
 * call) and per subject (the unit of randomisation: each subject is counted once, at its
 * first adverse event, or by its first observation).
 */
export interface CohortWindow {
  /** Agent turns (requests) served. */
  readonly requests: number;
  /** Turns that ended in error. */
  readonly errors: number;
  /** Distinct subjects first seen in the window. */
  readonly subjects: number;
  /** Subjects whose first failed turn fell in the window. */
  readonly subjectsWithError: number;
  readonly toolCalls: number;
  readonly toolFailures: number;
  /** Subjects whose first failed tool call fell in the window. */
  readonly subjectsWithToolFailure: number;
  /** Calls per tool name (`other` past the processor's cardinality cap). */
  readonly toolCallsByName: Readonly<Record<string, ToolCounts>>;
  readonly refusals: number;
  readonly subjectsWithRefusal: number;
  /** Feedback events of any kind (the exposure of the thumbs-down rate). */
  readonly feedback: number;
  readonly thumbsDown: number;
  readonly subjectsWithThumbsDown: number;
  /** Turn duration in milliseconds, every turn. */
  readonly latencyMillis: BucketCounts;
  /**
   * Turn duration of each subject's first turn only (one observation per subject).
   * Absent when the source cannot tell (Prometheus metrics have no per-subject histogram):
   * subject-unit tests then fall back to every turn and say so in their evidence.
   */
  readonly subjectLatencyMillis?: BucketCounts;
  /** Final answer length in characters, every turn. */
  readonly outputLength: BucketCounts;
  /** Answer length of each subject's first turn only (absent like `subjectLatencyMillis`). */
  readonly subjectOutputLength?: BucketCounts;
  /**
   * Each subject's first observations. Absent when the source cannot tell (Prometheus):
   * subject-unit thresholds and tool-mix tests then fall back to requests and say so.
   */
  readonly subjectFirsts?: SubjectFirsts;
  /** Similarity of the answer to the control answer, 0..1. */
  readonly similarity: ScoreWindow;
  /** Toxicity score of the answer, 0..1. */
  readonly toxicity: ScoreWindow;
}

/** Per-cohort windows of one rollout, over `[sinceMillis, untilMillis)`. */
export interface CohortWindows {
  readonly sinceMillis: number;
  readonly untilMillis: number;
  readonly cohorts: Readonly<Record<Cohort, CohortWindow>>;
}

/** What the gate asks a metric source for. */
export interface MetricQuery {
  /** Release flag key, when the source can filter by it. */
  readonly flagKey?: string;
  /** Rollout id, when the source can filter by it (spans carry it; metrics do not). */
  readonly rolloutId?: string;
  /** Releases of the rollout: canary runs `canary`; stable and control run `stable`. */
  readonly releases: { readonly canary: string; readonly stable: string };
  readonly sinceMillis: number;
  readonly untilMillis: number;
}

/** A source answers with windows, or with the reason it could not (never throws). */
export type MetricReadResult =
  | { readonly ok: true; readonly windows: CohortWindows }
  | { readonly ok: false; readonly reason: string };

/**
 * Where the gate reads canary, control and stable windows from: the in-process
 * behaviour processor, or a metrics backend that answers the Prometheus HTTP API.
 * Implementations resolve with `{ ok: false, reason }` on failure instead of rejecting.
 */
export interface MetricSource {
  /** Short name for evidence and logs, e.g. `in-process`, `prometheus`. */
  readonly name: string;
  read(query: MetricQuery): Promise<MetricReadResult>;
}
