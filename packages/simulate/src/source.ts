/**
 * A `MetricSource` fed by the simulation: cumulative per-cohort counts and quantile-sketch
 * buckets kept exactly as the behaviour processor keeps them — per request, and per
 * subject (each user's first turn, first tool call, second-tool switch, first scores,
 * first rating, first adverse event of each kind) — returned as the gate's
 * `CohortWindows` without re-scanning any request.
 */
import type { Cohort } from '@agent-canary/conventions';
import type {
  BucketCounts,
  CohortWindow,
  CohortWindows,
  MetricQuery,
  MetricReadResult,
  MetricSource,
  ScoreWindow,
  ToolCounts,
} from '@agent-canary/gate';
import { QuantileSketch } from '@agent-canary/stats';
import { TOOLS } from './scenarios.js';
import type { Outcome } from './traffic.js';

/** Bits of what was already counted for a subject. */
export const SUBJECT_FLAG = Object.freeze({
  turn: 1,
  error: 2,
  toolError: 4,
  refusal: 8,
  thumbsDown: 16,
  firstTool: 32,
  secondTool: 64,
  scored: 128,
  rated: 256,
});

// One sketch's mapping serves every distribution: all use the default accuracy, so a
// value's key and a key's bucket edge are the same everywhere.
const MAPPING = new QuantileSketch();
const edgeByKey = new Map<number, number>();
const ZERO_KEY = Number.NEGATIVE_INFINITY;

function edgeOf(key: number): number {
  let upper = edgeByKey.get(key);
  if (upper === undefined) {
    upper = key === ZERO_KEY ? 0 : MAPPING.edge(key);
    edgeByKey.set(key, upper);
  }
  return upper;
}

interface MutableBucket {
  readonly upper: number;
  count: number;
}

/**
 * The buckets a `QuantileSketch` (default accuracy) holds for the values added, kept
 * sorted and updated in place, so a read costs nothing: the simulation reads after
 * every tick, and re-listing a sketch's buckets would dominate the run.
 */
class Distribution {
  private readonly list: MutableBucket[] = [];
  private readonly keys: number[] = [];
  private readonly byKey = new Map<number, MutableBucket>();
  count = 0;
  sum = 0;

  add(value: number): void {
    this.count += 1;
    this.sum += value;
    const key = value > 0 ? MAPPING.keyOf(value) : ZERO_KEY;
    const bucket = this.byKey.get(key);
    if (bucket) {
      bucket.count += 1;
      return;
    }
    let low = 0;
    let high = this.keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.keys[middle] ?? 0) < key) low = middle + 1;
      else high = middle;
    }
    const created = { upper: edgeOf(key), count: 1 };
    this.keys.splice(low, 0, key);
    this.list.splice(low, 0, created);
    this.byKey.set(key, created);
  }

  /** Ascending buckets (live view: read it before the next add). */
  buckets(): BucketCounts {
    return this.list;
  }

  score(): ScoreWindow {
    return { count: this.count, sum: this.sum, buckets: this.list };
  }
}

function toolCounts(calls: readonly number[], failures: readonly number[]): Record<string, ToolCounts> {
  const out: Record<string, ToolCounts> = {};
  TOOLS.forEach((tool, index) => {
    const count = calls[index] ?? 0;
    if (count > 0) out[tool] = { calls: count, failures: failures[index] ?? 0 };
  });
  return out;
}

/** Cumulative aggregates of one cohort: per request and per subject. */
export class CohortAccumulator {
  requests = 0;
  errors = 0;
  toolCalls = 0;
  toolFailures = 0;
  refusals = 0;
  ratings = 0;
  thumbsDown = 0;
  /** Subjects (entered), and each subject's first observations. */
  subjects = 0;
  subjectsWithError = 0;
  subjectsWithToolFailure = 0;
  subjectsWithRefusal = 0;
  subjectsWithThumbsDown = 0;
  firstTurns = 0;
  firstTurnErrors = 0;
  firstTurnRefusals = 0;
  secondTools = 0;
  toolSwitches = 0;
  firstRatings = 0;
  firstThumbsDown = 0;
  private readonly toolCallsByIndex = new Array<number>(TOOLS.length).fill(0);
  private readonly toolFailuresByIndex = new Array<number>(TOOLS.length).fill(0);
  private readonly firstToolByIndex = new Array<number>(TOOLS.length).fill(0);
  private readonly firstToolFailuresByIndex = new Array<number>(TOOLS.length).fill(0);
  private readonly latency = new Distribution();
  private readonly length = new Distribution();
  private readonly similarity = new Distribution();
  private readonly toxicity = new Distribution();
  private readonly firstLatency = new Distribution();
  private readonly firstLength = new Distribution();
  private readonly firstSimilarity = new Distribution();
  private readonly firstToxicity = new Distribution();
  /** Distributions stop growing once frozen (stable traffic after its references froze). */
  private distributionsFrozen = false;

  /**
   * Counts a request whose outcome was not drawn (stable traffic past its references:
   * the gate only needs its cohort size any more).
   */
  countOnly(newSubject: boolean): void {
    this.requests += 1;
    if (newSubject) this.subjects += 1;
  }

  /** Stops distribution updates; counters keep counting. */
  freezeDistributions(): void {
    this.distributionsFrozen = true;
  }

  /**
   * Records one request of a subject. `flags` are the subject's bits before it (-1 for a
   * subject not seen yet), `firstTool` the tool of its first tool call (-1 before one);
   * returns the bits after it. The caller keeps both per subject.
   */
  record(outcome: Outcome, flags: number, firstTool: number): number {
    let mark = flags;
    if (mark < 0) {
      this.subjects += 1;
      mark = 0;
    }
    const first = (bit: number): boolean => {
      if (mark & bit) return false;
      mark |= bit;
      return true;
    };
    this.requests += 1;
    const keep = !this.distributionsFrozen;
    if (first(SUBJECT_FLAG.turn)) {
      this.firstTurns += 1;
      if (outcome.error) this.firstTurnErrors += 1;
      if (outcome.refusal) this.firstTurnRefusals += 1;
      if (keep) {
        this.firstLatency.add(outcome.latencyMillis);
        this.firstLength.add(outcome.length);
      }
    }
    if (outcome.error) {
      this.errors += 1;
      if (first(SUBJECT_FLAG.error)) this.subjectsWithError += 1;
    }
    if (outcome.tool >= 0) {
      this.toolCalls += 1;
      this.toolCallsByIndex[outcome.tool] = (this.toolCallsByIndex[outcome.tool] ?? 0) + 1;
      if (first(SUBJECT_FLAG.firstTool)) {
        this.firstToolByIndex[outcome.tool] = (this.firstToolByIndex[outcome.tool] ?? 0) + 1;
        if (outcome.toolFailed) {
          this.firstToolFailuresByIndex[outcome.tool] = (this.firstToolFailuresByIndex[outcome.tool] ?? 0) + 1;
        }
      } else if (first(SUBJECT_FLAG.secondTool)) {
        this.secondTools += 1;
        if (outcome.tool !== firstTool) this.toolSwitches += 1;
      }
      if (outcome.toolFailed) {
        this.toolFailures += 1;
        this.toolFailuresByIndex[outcome.tool] = (this.toolFailuresByIndex[outcome.tool] ?? 0) + 1;
        if (first(SUBJECT_FLAG.toolError)) this.subjectsWithToolFailure += 1;
      }
    }
    if (outcome.refusal) {
      this.refusals += 1;
      if (first(SUBJECT_FLAG.refusal)) this.subjectsWithRefusal += 1;
    }
    if (outcome.rated) {
      this.ratings += 1;
      if (first(SUBJECT_FLAG.rated)) {
        this.firstRatings += 1;
        if (outcome.thumbsDown) this.firstThumbsDown += 1;
      }
      if (outcome.thumbsDown) {
        this.thumbsDown += 1;
        if (first(SUBJECT_FLAG.thumbsDown)) this.subjectsWithThumbsDown += 1;
      }
    }
    if (keep) {
      this.latency.add(outcome.latencyMillis);
      this.length.add(outcome.length);
      if (!Number.isNaN(outcome.similarity)) {
        this.similarity.add(outcome.similarity);
        this.toxicity.add(outcome.toxicity);
        if (first(SUBJECT_FLAG.scored)) {
          this.firstSimilarity.add(outcome.similarity);
          this.firstToxicity.add(outcome.toxicity);
        }
      }
    }
    return mark;
  }

  /** The cohort's window since the start of the run. */
  window(): CohortWindow {
    return {
      requests: this.requests,
      errors: this.errors,
      subjects: this.subjects,
      subjectsWithError: this.subjectsWithError,
      toolCalls: this.toolCalls,
      toolFailures: this.toolFailures,
      subjectsWithToolFailure: this.subjectsWithToolFailure,
      toolCallsByName: toolCounts(this.toolCallsByIndex, this.toolFailuresByIndex),
      refusals: this.refusals,
      subjectsWithRefusal: this.subjectsWithRefusal,
      feedback: this.ratings,
      thumbsDown: this.thumbsDown,
      subjectsWithThumbsDown: this.subjectsWithThumbsDown,
      latencyMillis: this.latency.buckets(),
      subjectLatencyMillis: this.firstLatency.buckets(),
      outputLength: this.length.buckets(),
      subjectOutputLength: this.firstLength.buckets(),
      similarity: this.similarity.score(),
      toxicity: this.toxicity.score(),
      subjectFirsts: {
        turns: this.firstTurns,
        turnErrors: this.firstTurnErrors,
        turnRefusals: this.firstTurnRefusals,
        toolsByName: toolCounts(this.firstToolByIndex, this.firstToolFailuresByIndex),
        secondTools: this.secondTools,
        toolSwitches: this.toolSwitches,
        ratings: this.firstRatings,
        thumbsDown: this.firstThumbsDown,
        similarity: this.firstSimilarity.score(),
        toxicity: this.firstToxicity.score(),
      },
    };
  }
}

/**
 * The simulation's metric source: answers every query with the cumulative windows of
 * its three cohorts (a simulated rollout starts when the run starts). Counts its reads,
 * so a test can prove the gate went through it.
 */
export class SimulatedMetricSource implements MetricSource {
  readonly name = 'simulation';
  reads = 0;
  readonly cohorts: Readonly<Record<Cohort, CohortAccumulator>> = {
    stable: new CohortAccumulator(),
    canary: new CohortAccumulator(),
    control: new CohortAccumulator(),
  };

  async read(query: MetricQuery): Promise<MetricReadResult> {
    this.reads += 1;
    const windows: CohortWindows = {
      sinceMillis: query.sinceMillis,
      untilMillis: query.untilMillis,
      cohorts: {
        stable: this.cohorts.stable.window(),
        canary: this.cohorts.canary.window(),
        control: this.cohorts.control.window(),
      },
    };
    return { ok: true, windows };
  }
}
