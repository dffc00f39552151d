/**
 * The aggregates of one series and their merge and JSON forms. One class on purpose
 * (about 400 lines): its field lists drive `merge`, `toJSON` and `fromJSON` together, and
 * splitting per-call from per-user fields would split every method in two.
 */
import {
  CategoricalDistribution,
  type CategoricalSnapshot,
  QuantileSketch,
  type SketchSnapshot,
} from '@agent-canary/stats';

/**
 * Adverse signals counted once per subject (the unit of randomisation, statistics.md §2):
 * a sticky user who hits the same error ten times counts once.
 */
export const ADVERSE_SIGNAL = {
  turnError: 'turn_error',
  toolError: 'tool_error',
  refusal: 'refusal',
  thumbsDown: 'thumbs_down',
  regenerate: 'regenerate',
  humanTakeover: 'human_takeover',
} as const;
/** One of {@link ADVERSE_SIGNAL}. */
export type AdverseSignal = (typeof ADVERSE_SIGNAL)[keyof typeof ADVERSE_SIGNAL];
/** Every {@link AdverseSignal}, in a fixed order. */
export const ADVERSE_SIGNALS: readonly AdverseSignal[] = Object.freeze(Object.values(ADVERSE_SIGNAL));

/** Outcome counts of one tool. */
export interface OutcomeCounts {
  readonly ok: number;
  readonly error: number;
}

/** Count and sum of one evaluator's scores (mean = sum / count). */
export interface ScoreSummary {
  readonly count: number;
  readonly sum: number;
}

/**
 * Aggregates of one (rollout, release, cohort) series over a time range: plain JSON, every
 * field additive across time buckets and processes (counts add, sketches merge).
 */
export interface AggregateSnapshot {
  readonly turns: number;
  readonly turnErrors: number;
  /** Turn durations, ms. */
  readonly turnLatencyMillis: SketchSnapshot;
  readonly modelCalls: number;
  readonly modelCallErrors: number;
  /** Model-call durations, ms. */
  readonly modelCallLatencyMillis: SketchSnapshot;
  /** Tool calls by tool name (names past the cap counted as `other`). */
  readonly toolCalls: Readonly<Record<string, OutcomeCounts>>;
  /** Turns flagged as refusals. */
  readonly refusals: number;
  /** Answer lengths in characters, one per turn that reported one. */
  readonly outputLength: SketchSnapshot;
  /** Tokens from model calls, plus turns' own counts for traces without a model-call span. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Similarity to the control answer, 0..1, per turn that reported one. */
  readonly similarity: SketchSnapshot;
  /** Toxicity score, 0..1, per turn that reported one (its `sum` gives the mean). */
  readonly toxicity: SketchSnapshot;
  /** Evaluator scores by evaluator name. */
  readonly scores: Readonly<Record<string, ScoreSummary>>;
  /** User feedback by kind. */
  readonly feedback: Readonly<Record<string, number>>;
  /** Topics of turns (from the app's classifier). */
  readonly topics: CategoricalSnapshot;
  /*
   * Subject-level fields: one observation per subject (the unit of randomisation), counted
   * in the series of the cohort the subject ENTERED the rollout in (outside rollouts: the
   * series itself, per subject period), whatever cohort later serves it. Additive.
   */
  /** Subjects that entered in this range (their first span of any kind). */
  readonly newSubjects: number;
  /** Per signal, subjects whose FIRST such event fell in this range: additive, each subject counted once. */
  readonly subjectsWith: Readonly<Record<AdverseSignal, number>>;
  /** Subjects whose first turn ended in this range: the exposure of the first-turn fields below. */
  readonly subjectTurns: number;
  /** Subjects whose first turn ended in error. */
  readonly subjectTurnErrors: number;
  /** Subjects whose first turn was a refusal. */
  readonly subjectTurnRefusals: number;
  /** Each subject's first tool call, by tool name (with its outcome). */
  readonly subjectTools: Readonly<Record<string, OutcomeCounts>>;
  /** Subjects that made a second tool call. */
  readonly subjectSecondTools: number;
  /** Subjects whose second tool call used another tool than their first. */
  readonly subjectToolSwitches: number;
  /** Each subject's first feedback, by kind. */
  readonly subjectFeedback: Readonly<Record<string, number>>;
  /** Topic of each subject's first classified turn (names capped like `topics`). */
  readonly subjectTopics: Readonly<Record<string, number>>;
  /** Each subject's first similarity score. */
  readonly subjectSimilarity: SketchSnapshot;
  /** Each subject's first toxicity score. */
  readonly subjectToxicity: SketchSnapshot;
  /** Duration of each subject's first turn only (one observation per subject), ms. */
  readonly subjectLatencyMillis: SketchSnapshot;
  /**
   * Spans whose prompt hash or model differs from what the assigned release prescribes
   * (`agent_canary.release.prompt_hash` / `agent_canary.release.model`): the app served a
   * configuration other than the one routing assigned.
   */
  readonly configMismatches: number;
  /** Answer length of each subject's first turn only. */
  readonly subjectOutputLength: SketchSnapshot;
}

const DEFAULT_TOPIC_CAP = 50;

/** Sketch accuracy shared by every aggregate, so all of them merge. */
export const AGGREGATE_SKETCH_ACCURACY = 0.01;

const EMPTY_SKETCH: SketchSnapshot = Object.freeze(
  new QuantileSketch({ relativeAccuracy: AGGREGATE_SKETCH_ACCURACY }).toJSON(),
);

type SketchField =
  | 'turnLatencyMillis'
  | 'modelCallLatencyMillis'
  | 'outputLength'
  | 'similarity'
  | 'toxicity'
  | 'subjectLatencyMillis'
  | 'subjectOutputLength'
  | 'subjectSimilarity'
  | 'subjectToxicity';
const SKETCH_FIELDS: readonly SketchField[] = [
  'turnLatencyMillis',
  'modelCallLatencyMillis',
  'outputLength',
  'similarity',
  'toxicity',
  'subjectLatencyMillis',
  'subjectOutputLength',
  'subjectSimilarity',
  'subjectToxicity',
];

type CountField =
  | 'turns'
  | 'turnErrors'
  | 'modelCalls'
  | 'modelCallErrors'
  | 'refusals'
  | 'inputTokens'
  | 'outputTokens'
  | 'newSubjects'
  | 'configMismatches'
  | 'subjectTurns'
  | 'subjectTurnErrors'
  | 'subjectTurnRefusals'
  | 'subjectSecondTools'
  | 'subjectToolSwitches';
const COUNT_FIELDS: readonly CountField[] = [
  'turns',
  'turnErrors',
  'modelCalls',
  'modelCallErrors',
  'refusals',
  'inputTokens',
  'outputTokens',
  'newSubjects',
  'configMismatches',
  'subjectTurns',
  'subjectTurnErrors',
  'subjectTurnRefusals',
  'subjectSecondTools',
  'subjectToolSwitches',
];

interface MutableOutcome {
  ok: number;
  error: number;
}
interface MutableScore {
  count: number;
  sum: number;
}

/**
 * Mutable aggregates of one series in one time bucket. Sketches are created on first use:
 * most buckets of a small cohort never see a similarity or toxicity score.
 * @internal
 */
export class SeriesAggregate {
  turns = 0;
  turnErrors = 0;
  modelCalls = 0;
  modelCallErrors = 0;
  refusals = 0;
  inputTokens = 0;
  outputTokens = 0;
  newSubjects = 0;
  configMismatches = 0;
  subjectTurns = 0;
  subjectTurnErrors = 0;
  subjectTurnRefusals = 0;
  subjectSecondTools = 0;
  subjectToolSwitches = 0;
  readonly subjectsWith: Record<AdverseSignal, number> = {
    turn_error: 0,
    tool_error: 0,
    refusal: 0,
    thumbs_down: 0,
    regenerate: 0,
    human_takeover: 0,
  };
  readonly toolCalls = new Map<string, MutableOutcome>();
  readonly subjectTools = new Map<string, MutableOutcome>();
  readonly subjectFeedback = new Map<string, number>();
  readonly subjectTopics = new Map<string, number>();
  readonly scores = new Map<string, MutableScore>();
  readonly feedback = new Map<string, number>();
  topics: CategoricalDistribution | undefined;
  private readonly sketches: Partial<Record<SketchField, QuantileSketch>> = {};

  constructor(private readonly maxTopics: number) {}

  /** Adds a value to a sketch; returns false when it was clamped or ignored. */
  observe(field: SketchField, value: number): boolean {
    let sketch = this.sketches[field];
    if (sketch === undefined) {
      sketch = new QuantileSketch({ relativeAccuracy: AGGREGATE_SKETCH_ACCURACY });
      this.sketches[field] = sketch;
    }
    return sketch.add(value);
  }

  tool(name: string, isError: boolean): void {
    addOutcome(this.toolCalls, name, isError);
  }

  /** A subject's first tool call. */
  subjectTool(name: string, isError: boolean): void {
    addOutcome(this.subjectTools, name, isError);
  }

  /** A subject's first feedback. */
  addSubjectFeedback(kind: string, count = 1): void {
    this.subjectFeedback.set(kind, (this.subjectFeedback.get(kind) ?? 0) + count);
  }

  /** A subject's first classified turn. */
  addSubjectTopic(topic: string, count = 1): void {
    this.subjectTopics.set(topic, (this.subjectTopics.get(topic) ?? 0) + count);
  }

  score(name: string, value: number): void {
    let summary = this.scores.get(name);
    if (summary === undefined) {
      summary = { count: 0, sum: 0 };
      this.scores.set(name, summary);
    }
    summary.count++;
    summary.sum += value;
  }

  addFeedback(kind: string, count = 1): void {
    this.feedback.set(kind, (this.feedback.get(kind) ?? 0) + count);
  }

  topic(name: string, weight = 1): void {
    this.topics ??= new CategoricalDistribution({ maxCategories: this.maxTopics + 1 });
    this.topics.add(name, weight);
  }

  /** Trims the sketches' spare capacity: the bucket is closed and will mostly be read. */
  compact(): void {
    for (const field of SKETCH_FIELDS) this.sketches[field]?.compact();
  }

  /** Adds every aggregate of `other` into this one. */
  merge(other: SeriesAggregate): this {
    for (const field of COUNT_FIELDS) this[field] += other[field];
    for (const signal of ADVERSE_SIGNALS) this.subjectsWith[signal] += other.subjectsWith[signal];
    mergeOutcomes(this.toolCalls, other.toolCalls);
    mergeOutcomes(this.subjectTools, other.subjectTools);
    for (const [kind, count] of other.subjectFeedback) this.addSubjectFeedback(kind, count);
    for (const [topic, count] of other.subjectTopics) this.addSubjectTopic(topic, count);
    for (const [name, summary] of other.scores) {
      const mine = this.scores.get(name);
      if (mine === undefined) this.scores.set(name, { ...summary });
      else {
        mine.count += summary.count;
        mine.sum += summary.sum;
      }
    }
    for (const [kind, count] of other.feedback) this.addFeedback(kind, count);
    if (other.topics !== undefined) {
      this.topics ??= new CategoricalDistribution({ maxCategories: this.maxTopics + 1 });
      this.topics.merge(other.topics);
    }
    for (const field of SKETCH_FIELDS) {
      const sketch = other.sketches[field];
      if (sketch === undefined || sketch.count === 0) continue;
      const mine = this.sketches[field];
      if (mine === undefined) this.sketches[field] = sketch.clone();
      else mine.merge(sketch);
    }
    return this;
  }

  toJSON(): AggregateSnapshot {
    const sketch = (field: SketchField): SketchSnapshot => this.sketches[field]?.toJSON() ?? EMPTY_SKETCH;
    const sorted = <T>(map: Map<string, T>, copy: (value: T) => T): Record<string, T> => {
      const record: Record<string, T> = {};
      for (const name of [...map.keys()].sort()) record[name] = copy(map.get(name) as T);
      return record;
    };
    return {
      turns: this.turns,
      turnErrors: this.turnErrors,
      turnLatencyMillis: sketch('turnLatencyMillis'),
      modelCalls: this.modelCalls,
      modelCallErrors: this.modelCallErrors,
      modelCallLatencyMillis: sketch('modelCallLatencyMillis'),
      toolCalls: sorted(this.toolCalls, (counts) => ({ ok: counts.ok, error: counts.error })),
      refusals: this.refusals,
      outputLength: sketch('outputLength'),
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      similarity: sketch('similarity'),
      toxicity: sketch('toxicity'),
      scores: sorted(this.scores, (summary) => ({ count: summary.count, sum: summary.sum })),
      feedback: sorted(this.feedback, (count) => count),
      // The cap is the processor's, whichever side of a merge created the distribution.
      topics: { ...(this.topics ?? new CategoricalDistribution()).toJSON(), maxCategories: this.maxTopics + 1 },
      newSubjects: this.newSubjects,
      subjectsWith: { ...this.subjectsWith },
      subjectTurns: this.subjectTurns,
      subjectTurnErrors: this.subjectTurnErrors,
      subjectTurnRefusals: this.subjectTurnRefusals,
      subjectTools: sorted(this.subjectTools, (counts) => ({ ok: counts.ok, error: counts.error })),
      subjectSecondTools: this.subjectSecondTools,
      subjectToolSwitches: this.subjectToolSwitches,
      subjectFeedback: sorted(this.subjectFeedback, (count) => count),
      subjectTopics: sorted(this.subjectTopics, (count) => count),
      subjectSimilarity: sketch('subjectSimilarity'),
      subjectToxicity: sketch('subjectToxicity'),
      subjectLatencyMillis: sketch('subjectLatencyMillis'),
      subjectOutputLength: sketch('subjectOutputLength'),
      configMismatches: this.configMismatches,
    };
  }

  /** `maxTopics` defaults to the cap recorded in the snapshot. */
  static fromJSON(snapshot: AggregateSnapshot, maxTopics?: number): SeriesAggregate {
    const recorded = snapshot.topics?.maxCategories;
    const aggregate = new SeriesAggregate(
      maxTopics ?? (typeof recorded === 'number' && recorded > 1 ? recorded - 1 : DEFAULT_TOPIC_CAP),
    );
    for (const field of COUNT_FIELDS) aggregate[field] = numberOr0(snapshot[field]);
    for (const signal of ADVERSE_SIGNALS) aggregate.subjectsWith[signal] = numberOr0(snapshot.subjectsWith?.[signal]);
    for (const [name, counts] of Object.entries(snapshot.toolCalls ?? {})) {
      aggregate.toolCalls.set(name, { ok: numberOr0(counts.ok), error: numberOr0(counts.error) });
    }
    // Absent in snapshots written before subject-level tool and feedback fields existed.
    for (const [name, counts] of Object.entries(snapshot.subjectTools ?? {})) {
      aggregate.subjectTools.set(name, { ok: numberOr0(counts.ok), error: numberOr0(counts.error) });
    }
    for (const [kind, count] of Object.entries(snapshot.subjectFeedback ?? {})) {
      aggregate.subjectFeedback.set(kind, numberOr0(count));
    }
    for (const [topic, count] of Object.entries(snapshot.subjectTopics ?? {})) {
      aggregate.subjectTopics.set(topic, numberOr0(count));
    }
    for (const [name, summary] of Object.entries(snapshot.scores ?? {})) {
      aggregate.scores.set(name, { count: numberOr0(summary.count), sum: numberOr0(summary.sum) });
    }
    for (const [kind, count] of Object.entries(snapshot.feedback ?? {})) aggregate.feedback.set(kind, numberOr0(count));
    if (snapshot.topics !== undefined && Object.keys(snapshot.topics.counts).length > 0) {
      aggregate.topics = CategoricalDistribution.fromJSON(snapshot.topics);
    }
    for (const field of SKETCH_FIELDS) {
      const sketch = snapshot[field];
      if (sketch !== undefined && sketch.count > 0) aggregate.sketches[field] = QuantileSketch.fromJSON(sketch);
    }
    return aggregate;
  }
}

function addOutcome(map: Map<string, MutableOutcome>, name: string, isError: boolean): void {
  let counts = map.get(name);
  if (counts === undefined) {
    counts = { ok: 0, error: 0 };
    map.set(name, counts);
  }
  if (isError) counts.error++;
  else counts.ok++;
}

function mergeOutcomes(target: Map<string, MutableOutcome>, source: ReadonlyMap<string, MutableOutcome>): void {
  for (const [name, counts] of source) {
    const mine = target.get(name);
    if (mine === undefined) target.set(name, { ...counts });
    else {
      mine.ok += counts.ok;
      mine.error += counts.error;
    }
  }
}

function numberOr0(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
