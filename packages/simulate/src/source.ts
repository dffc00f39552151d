/**
 * A `MetricSource` fed by the simulation: cumulative per-cohort counts and quantile
 * sketches, kept exactly as the behaviour processor keeps them (per request and per
 * subject, a subject's adverse event counted once, at its first occurrence), returned
 * as the gate's `CohortWindows` without re-scanning any request.
 */

import type { Cohort } from '@agent-canary/conventions';
import type {
  BucketCounts,
  CohortWindow,
  CohortWindows,
  MetricQuery,
  MetricReadResult,
  MetricSource,
  ToolCounts,
} from '@agent-canary/gate';
import { QuantileSketch } from '@agent-canary/stats';
import { TOOLS } from './scenarios.js';
import type { Outcome } from './traffic.js';

/** Bits of a subject's adverse events seen so far. */
export const SUBJECT_FLAG = Object.freeze({ error: 1, tool: 2, refusal: 4, thumbs: 8 });

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
}

/** Cumulative aggregates of one cohort. */
export class CohortAccumulator {
  requests = 0;
  errors = 0;
  subjects = 0;
  subjectsWithError = 0;
  toolCalls = 0;
  toolFailures = 0;
  subjectsWithToolFailure = 0;
  refusals = 0;
  subjectsWithRefusal = 0;
  feedback = 0;
  thumbsDown = 0;
  subjectsWithThumbsDown = 0;
  private readonly toolCallsByIndex = new Array<number>(TOOLS.length).fill(0);
  private readonly toolFailuresByIndex = new Array<number>(TOOLS.length).fill(0);
  private readonly latency = new Distribution();
  private readonly length = new Distribution();
  private readonly similarity = new Distribution();
  private readonly toxicity = new Distribution();
  // Only the sticky variant has subjects with several requests; per-request routing
  // makes every request its own subject, and the per-subject distributions are the same.
  private readonly subjectLatency: Distribution;
  private readonly subjectLength: Distribution;
  /** Distributions stop growing once frozen (stable traffic after its reference froze). */
  private distributionsFrozen = false;

  constructor(readonly sticky: boolean) {
    this.subjectLatency = sticky ? new Distribution() : this.latency;
    this.subjectLength = sticky ? new Distribution() : this.length;
  }

  /**
   * Counts a request whose outcome was not drawn (stable traffic past its reference:
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
   * Records one request. `previousFlags` are the subject's adverse-event bits before it
   * (undefined for a subject's first request); returns the bits after it.
   */
  record(outcome: Outcome, previousFlags: number | undefined): number {
    const first = previousFlags === undefined;
    let flags = previousFlags ?? 0;
    this.requests += 1;
    if (first) this.subjects += 1;
    if (outcome.error) {
      this.errors += 1;
      if (!(flags & SUBJECT_FLAG.error)) this.subjectsWithError += 1;
      flags |= SUBJECT_FLAG.error;
    }
    if (outcome.tool >= 0) {
      this.toolCalls += 1;
      this.toolCallsByIndex[outcome.tool] = (this.toolCallsByIndex[outcome.tool] ?? 0) + 1;
      if (outcome.toolFailed) {
        this.toolFailures += 1;
        this.toolFailuresByIndex[outcome.tool] = (this.toolFailuresByIndex[outcome.tool] ?? 0) + 1;
        if (!(flags & SUBJECT_FLAG.tool)) this.subjectsWithToolFailure += 1;
        flags |= SUBJECT_FLAG.tool;
      }
    }
    if (outcome.refusal) {
      this.refusals += 1;
      if (!(flags & SUBJECT_FLAG.refusal)) this.subjectsWithRefusal += 1;
      flags |= SUBJECT_FLAG.refusal;
    }
    if (outcome.feedback) {
      this.feedback += 1;
      if (outcome.thumbsDown) {
        this.thumbsDown += 1;
        if (!(flags & SUBJECT_FLAG.thumbs)) this.subjectsWithThumbsDown += 1;
        flags |= SUBJECT_FLAG.thumbs;
      }
    }
    if (!this.distributionsFrozen) {
      this.latency.add(outcome.latencyMillis);
      this.length.add(outcome.length);
      if (this.sticky && first) {
        this.subjectLatency.add(outcome.latencyMillis);
        this.subjectLength.add(outcome.length);
      }
      if (!Number.isNaN(outcome.similarity)) this.similarity.add(outcome.similarity);
    }
    return flags;
  }

  /** The cohort's window since the start of the run. */
  window(): CohortWindow {
    const toolCallsByName: Record<string, ToolCounts> = {};
    TOOLS.forEach((tool, index) => {
      const calls = this.toolCallsByIndex[index] ?? 0;
      if (calls > 0) toolCallsByName[tool] = { calls, failures: this.toolFailuresByIndex[index] ?? 0 };
    });
    return {
      requests: this.requests,
      errors: this.errors,
      subjects: this.subjects,
      subjectsWithError: this.subjectsWithError,
      toolCalls: this.toolCalls,
      toolFailures: this.toolFailures,
      subjectsWithToolFailure: this.subjectsWithToolFailure,
      toolCallsByName,
      refusals: this.refusals,
      subjectsWithRefusal: this.subjectsWithRefusal,
      feedback: this.feedback,
      thumbsDown: this.thumbsDown,
      subjectsWithThumbsDown: this.subjectsWithThumbsDown,
      latencyMillis: this.latency.buckets(),
      subjectLatencyMillis: this.subjectLatency.buckets(),
      outputLength: this.length.buckets(),
      subjectOutputLength: this.subjectLength.buckets(),
      similarity: { count: this.similarity.count, sum: this.similarity.sum, buckets: this.similarity.buckets() },
      toxicity: { count: this.toxicity.count, sum: this.toxicity.sum, buckets: this.toxicity.buckets() },
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
  readonly cohorts: Readonly<Record<Cohort, CohortAccumulator>>;

  constructor(sticky: boolean) {
    this.cohorts = {
      stable: new CohortAccumulator(sticky),
      canary: new CohortAccumulator(sticky),
      control: new CohortAccumulator(sticky),
    };
  }

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
