import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import {
  AGENT_SPAN_KIND,
  type AgentSpanFacts,
  ATTR_COHORT,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_RELEASE_ID,
  ATTR_RELEASE_MODEL,
  ATTR_RELEASE_PROMPT_HASH,
  ATTR_ROLLOUT_ID,
  COHORT,
  type Cohort,
  isCohort,
} from '@agent-canary/conventions';
import { OTHER_CATEGORY } from '@agent-canary/stats';
import { type Attributes, type Context, diag } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ADVERSE_SIGNALS, SeriesAggregate } from './aggregate.js';
import {
  type BehaviorSpanProcessorConfig,
  type BehaviorSpanProcessorOptions,
  resolveBehaviorProcessorConfig,
} from './config.js';
import {
  addTotal,
  type CounterTotals,
  createInstruments,
  emptyTotals,
  type Instruments,
  METRIC_ATTR,
  SeriesAttributes,
} from './metrics.js';
import { normalizeSpan } from './normalize/index.js';
import {
  type BucketSeriesSnapshot,
  PROCESSOR_SNAPSHOT_VERSION,
  type ProcessorSnapshot,
  type ProcessorSnapshotV1,
  type SeriesKey,
  type SeriesSnapshot,
  type SpanCounts,
  seriesKeyString,
  sortSeries,
  upgradeSnapshot,
  type WindowSnapshot,
} from './snapshot.js';
import { ADVERSE_BITS, observeSubject, SUBJECT_BIT, type SubjectEntry, SubjectTracker, signalBit } from './subjects.js';

const PACKAGE_VERSION = '0.1.0';
const MAX_MISMATCH_WARNINGS = 100;

/**
 * How a span's configuration differs from the one its assigned release prescribes, or
 * undefined. The model is compared on model calls only (`gen_ai.request.model`, what the
 * framework actually sent); the prompt hash wherever the app recorded the one it used.
 */
function configMismatch(attributes: Attributes, facts: AgentSpanFacts): string | undefined {
  const assignedModel = attributes[ATTR_RELEASE_MODEL];
  if (facts.kind === AGENT_SPAN_KIND.modelCall && typeof assignedModel === 'string') {
    const used = attributes[ATTR_GEN_AI_REQUEST_MODEL];
    if (typeof used === 'string' && used !== assignedModel) return `model ${used} instead of ${assignedModel}`;
  }
  const assignedPrompt = attributes[ATTR_RELEASE_PROMPT_HASH];
  if (typeof assignedPrompt === 'string' && facts.promptHash !== undefined && facts.promptHash !== assignedPrompt) {
    return `prompt ${facts.promptHash} instead of ${assignedPrompt}`;
  }
  return undefined;
}

const SKIP_REASON = { unrecognised: 'unrecognised', noRelease: 'no_release', seriesCap: 'series_cap' } as const;

/** Bounded name vocabulary: the first `cap` names are kept, later ones become `other`. */
class NameCap {
  private readonly names = new Set<string>();
  constructor(private readonly cap: number) {}
  resolve(name: string): string {
    if (this.names.has(name)) return name;
    if (this.names.size >= this.cap) return OTHER_CATEGORY;
    this.names.add(name);
    return name;
  }
}

interface Series {
  readonly key: string;
  readonly rolloutId: string;
  readonly release: string;
  readonly cohort: Cohort;
  /** Set when a subject of this series could not be remembered (its scope was full). */
  capReached: boolean;
  lastSeenMillis: number;
  readonly attributes: SeriesAttributes | undefined;
  /** A rollout's series: the series outside rollouts of its release and cohort, once looked up. */
  outside: Series | undefined;
  /** Set when the series was evicted: a link to it is stale. */
  evicted: boolean;
}

/** Time range of {@link BehaviorSpanProcessor.window}, ms since the epoch. */
export interface WindowRange {
  /** Inclusive start; buckets starting at or after it are included. @default until − retentionMillis */
  readonly since?: number;
  /** Exclusive end; buckets starting before it are included. @default now, current bucket included */
  readonly until?: number;
}

/**
 * Turns finished agent spans into per-release behaviour aggregates: counts, mergeable
 * latency / length / score sketches, tool and topic mixes, and per-subject first-event
 * counters, in time buckets, queryable as windows, persisted as snapshots and emitted as
 * OpenTelemetry metrics. `onEnd` is synchronous, O(1) per span and never throws.
 *
 * @example
 * const behavior = new BehaviorSpanProcessor({ meterProvider });
 * const provider = new BasicTracerProvider({ spanProcessors: [tagger, behavior, batch] });
 * // later, in the gate:
 * const window = behavior.window({ since: Date.now() - 300_000 });
 */
export class BehaviorSpanProcessor implements SpanProcessor {
  /** Resolved configuration. */
  readonly config: BehaviorSpanProcessorConfig;
  private readonly normalize: (span: ReadableSpan) => AgentSpanFacts | undefined;
  private readonly buckets = new Map<number, Map<string, SeriesAggregate>>();
  private readonly series = new Map<string, Series>();
  private readonly subjects: SubjectTracker;
  private readonly toolNames: NameCap;
  private readonly topicNames: NameCap;
  private readonly scoreNames: NameCap;
  /** Traces that had a model-call span, oldest first (insertion order), bounded. */
  private readonly modelCallTraces = new Map<string, true>();
  private readonly instruments: Instruments | undefined;
  /** Running total of skipped spans, for the observable counter. */
  private readonly skippedTotals: CounterTotals = emptyTotals();
  private readonly unrecognisedAttributes: Readonly<Record<string, Attributes>>;
  private currentStart = Number.NaN;
  private currentBucket: Map<string, SeriesAggregate> | undefined;
  private lastSeries: Series | undefined;
  private counts: Record<keyof SpanCounts, number> = {
    received: 0,
    aggregated: 0,
    unrecognised: 0,
    withoutRelease: 0,
    droppedSeriesCap: 0,
    failed: 0,
  };
  private seriesCapWarned = false;
  private readonly mismatchesWarned = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private writes: Promise<void> = Promise.resolve();
  private shutdownPromise: Promise<void> | undefined;

  /** @throws ConfigError when an option is invalid. */
  constructor(options: BehaviorSpanProcessorOptions = {}) {
    this.config = resolveBehaviorProcessorConfig(options);
    this.normalize = options.normalize ?? normalizeSpan;
    this.subjects = new SubjectTracker(this.config.maxSubjectsPerRollout, this.config.subjectPeriodMillis);
    this.toolNames = new NameCap(this.config.maxToolNames);
    this.topicNames = new NameCap(this.config.maxTopics);
    this.scoreNames = new NameCap(this.config.maxScoreNames);
    this.instruments = this.config.meterProvider
      ? createInstruments(this.config.meterProvider, PACKAGE_VERSION, () => this.counterTotals())
      : undefined;
    this.unrecognisedAttributes = Object.freeze(
      Object.fromEntries(Object.values(SKIP_REASON).map((reason) => [reason, Object.freeze({ reason })])),
    );
    if (this.config.snapshotPath !== undefined) {
      this.restoreFromFile(this.config.snapshotPath);
      this.timer = setInterval(() => void this.persist(), this.config.snapshotIntervalMillis);
      this.timer.unref?.();
    }
  }

  /** Reads nothing: the assignment is stamped by the tagging processor. */
  onStart(_span: Span, _parentContext: Context): void {}

  /** Normalises the span and updates the aggregates. Never throws. */
  onEnd(span: ReadableSpan): void {
    if (this.shutdownPromise !== undefined) return;
    try {
      const facts = this.normalize(span);
      if (facts === undefined) {
        this.counts.received++;
        this.counts.unrecognised++;
        this.countSkipped(SKIP_REASON.unrecognised);
        return;
      }
      this.counts.received++;
      this.recordUnsafe(facts, configMismatch(span.attributes, facts));
    } catch (error) {
      this.counts.failed++;
      diag.error('agent-canary behaviour processor: failed to process a span', error);
    }
  }

  /**
   * Adds the facts of one span normalised elsewhere (e.g. received over OTLP). Never throws.
   * Facts without a release are counted and ignored; a release without a cohort counts as `stable`.
   */
  record(facts: AgentSpanFacts): void {
    this.counts.received++;
    try {
      this.recordUnsafe(facts);
    } catch (error) {
      this.counts.failed++;
      diag.error('agent-canary behaviour processor: failed to record span facts', error);
    }
  }

  /** `mismatch` describes how the span's configuration differs from the assigned release's. */
  private recordUnsafe(facts: AgentSpanFacts, mismatch?: string): void {
    const release = facts.release;
    if (release === undefined || release === '') {
      this.counts.withoutRelease++;
      this.countSkipped(SKIP_REASON.noRelease);
      return;
    }
    const now = this.config.now();
    const bucket = this.bucketAt(now);
    const series = this.seriesOf(
      facts.rolloutId ?? '',
      release,
      isCohort(facts.cohort) ? facts.cohort : COHORT.stable,
      now,
    );
    if (series === undefined) {
      this.counts.droppedSeriesCap++;
      this.countSkipped(SKIP_REASON.seriesCap);
      return;
    }
    const aggregate = this.aggregateIn(bucket, series.key);
    this.counts.aggregated++;
    if (mismatch !== undefined) {
      aggregate.configMismatches++;
      this.warnMismatch(release, mismatch);
    }
    const attributes = series.attributes;
    const instruments = this.instruments;
    let tool: string | undefined;
    let topic: string | undefined;
    switch (facts.kind) {
      case AGENT_SPAN_KIND.turn: {
        aggregate.turns++;
        if (facts.isError) aggregate.turnErrors++;
        aggregate.observe('turnLatencyMillis', facts.durationMillis);
        const refused = facts.refusal === true;
        if (refused) aggregate.refusals++;
        const length = facts.outputLength;
        if (length !== undefined) aggregate.observe('outputLength', length);
        if (!this.modelCallTraces.has(facts.traceId)) this.addTokens(aggregate, facts, attributes);
        if (facts.similarity !== undefined) aggregate.observe('similarity', facts.similarity);
        if (facts.toxicity !== undefined) aggregate.observe('toxicity', facts.toxicity);
        if (facts.scores !== undefined) {
          for (const [name, value] of Object.entries(facts.scores)) {
            if (Number.isFinite(value)) aggregate.score(this.scoreNames.resolve(name), value);
          }
        }
        if (facts.topic !== undefined) {
          topic = this.topicNames.resolve(facts.topic);
          aggregate.topic(topic);
        }
        if (instruments && attributes) {
          addTotal(attributes.totals, 'turns', facts.isError ? attributes.error : attributes.ok, 1);
          instruments.turnDuration.record(Math.max(0, facts.durationMillis), attributes.base);
          if (refused) addTotal(attributes.totals, 'refusals', attributes.base, 1);
          if (length !== undefined) instruments.outputLength.record(Math.max(0, length), attributes.base);
          if (facts.similarity !== undefined) instruments.similarity.record(facts.similarity, attributes.base);
          if (facts.toxicity !== undefined) instruments.toxicity.record(facts.toxicity, attributes.base);
        }
        break;
      }
      case AGENT_SPAN_KIND.modelCall: {
        aggregate.modelCalls++;
        if (facts.isError) aggregate.modelCallErrors++;
        aggregate.observe('modelCallLatencyMillis', facts.durationMillis);
        this.rememberModelCall(facts.traceId);
        this.addTokens(aggregate, facts, attributes);
        if (instruments && attributes) {
          addTotal(attributes.totals, 'modelCalls', facts.isError ? attributes.error : attributes.ok, 1);
          instruments.modelCallDuration.record(Math.max(0, facts.durationMillis), attributes.base);
        }
        break;
      }
      case AGENT_SPAN_KIND.toolCall: {
        tool = this.toolNames.resolve(facts.toolName ?? 'unknown');
        aggregate.tool(tool, facts.isError);
        if (attributes) {
          addTotal(attributes.totals, 'toolCalls', attributes.tool(tool, facts.isError, ATTR_GEN_AI_TOOL_NAME), 1);
        }
        break;
      }
      case AGENT_SPAN_KIND.feedback: {
        const kind = facts.feedbackKind;
        if (kind === undefined) return;
        aggregate.addFeedback(kind);
        if (attributes) addTotal(attributes.totals, 'feedback', attributes.with(METRIC_ATTR.feedbackKind, kind), 1);
        break;
      }
    }
    if (facts.subject !== undefined) {
      this.recordSubject(facts, facts.subject, series, aggregate, bucket, tool, topic, now);
    }
  }

  /**
   * The subject-level observations of a span (see subjects.ts): with a rollout id, once
   * per rollout in the series of the cohort the subject entered the rollout in; and, with
   * or without one, once per release and subject period in the series outside rollouts of
   * the cohort the subject was first seen in during the period. `aggregate` is the span's
   * series' aggregate in `bucket`.
   */
  private recordSubject(
    facts: AgentSpanFacts,
    subject: string,
    series: Series,
    aggregate: SeriesAggregate,
    bucket: Map<string, SeriesAggregate>,
    tool: string | undefined,
    topic: string | undefined,
    now: number,
  ): void {
    let outside = series;
    let outsideAggregate: SeriesAggregate | undefined = aggregate;
    if (series.rolloutId !== '') {
      const entry = this.subjects.enterRollout(series.rolloutId, series.release, series.cohort, subject, now);
      if (entry === undefined) series.capReached = true;
      else this.observeEntry(entry, facts, series, aggregate, bucket, tool, topic, now);
      const found = this.outsideOf(series, now);
      if (found === undefined) return;
      outside = found;
      outsideAggregate = undefined;
    }
    const entry = this.subjects.enterPeriod(series.release, series.cohort, subject, now);
    if (entry === undefined) {
      outside.capReached = true;
      return;
    }
    this.observeEntry(entry, facts, outside, outsideAggregate, bucket, tool, topic, now);
  }

  /**
   * Counts a subject's observations into the series of its entry (the release and cohort
   * it entered its scope with), in `series`' scope (its rollout, or outside rollouts).
   * `aggregate` is `series`' aggregate in `bucket` when the caller has it.
   */
  private observeEntry(
    entry: SubjectEntry,
    facts: AgentSpanFacts,
    series: Series,
    aggregate: SeriesAggregate | undefined,
    bucket: Map<string, SeriesAggregate>,
    tool: string | undefined,
    topic: string | undefined,
    now: number,
  ): void {
    let target = series;
    if (entry.release !== series.release || entry.cohort !== series.cohort) {
      const entrySeries = this.lookupSeries(series.rolloutId, entry.release, entry.cohort, now);
      if (entrySeries === undefined) return;
      target = entrySeries;
    }
    const targetAggregate =
      target === series && aggregate !== undefined ? aggregate : this.aggregateIn(bucket, target.key);
    const events = observeSubject(entry, facts, targetAggregate, tool, topic);
    const attributes = target.attributes;
    if (attributes === undefined || events === 0) return;
    if ((events & SUBJECT_BIT.seen) !== 0) addTotal(attributes.totals, 'subjectsNew', attributes.base, 1);
    if ((events & ADVERSE_BITS) === 0) return;
    for (const signal of ADVERSE_SIGNALS) {
      if ((events & signalBit(signal)) !== 0) {
        addTotal(attributes.totals, 'subjectsAdverse', attributes.with(METRIC_ATTR.signal, signal), 1);
      }
    }
  }

  /** The series outside rollouts of a rollout series' release and cohort (kept on the series). */
  private outsideOf(series: Series, now: number): Series | undefined {
    const linked = series.outside;
    if (linked !== undefined && !linked.evicted) {
      linked.lastSeenMillis = now;
      return linked;
    }
    const outside = this.lookupSeries('', series.release, series.cohort, now);
    series.outside = outside;
    return outside;
  }

  private aggregateIn(bucket: Map<string, SeriesAggregate>, key: string): SeriesAggregate {
    let aggregate = bucket.get(key);
    if (aggregate === undefined) {
      aggregate = new SeriesAggregate(this.config.maxTopics);
      bucket.set(key, aggregate);
    }
    return aggregate;
  }

  /** Warns once per release and kind of mismatch (bounded), so a misconfigured app is noticed, not spammed. */
  private warnMismatch(release: string, mismatch: string): void {
    const key = `${release}\u0000${mismatch}`;
    if (this.mismatchesWarned.has(key) || this.mismatchesWarned.size >= MAX_MISMATCH_WARNINGS) return;
    this.mismatchesWarned.add(key);
    diag.warn(`agent-canary behaviour processor: release ${release} served ${mismatch}`);
  }

  private countSkipped(reason: (typeof SKIP_REASON)[keyof typeof SKIP_REASON]): void {
    const attributes = this.unrecognisedAttributes[reason];
    if (this.instruments !== undefined && attributes !== undefined) {
      addTotal(this.skippedTotals, 'spansUnrecognised', attributes, 1);
    }
  }

  private *counterTotals(): Iterable<CounterTotals> {
    yield this.skippedTotals;
    for (const series of this.series.values()) if (series.attributes) yield series.attributes.totals;
  }

  private addTokens(aggregate: SeriesAggregate, facts: AgentSpanFacts, attributes: SeriesAttributes | undefined): void {
    const input = facts.inputTokens;
    const output = facts.outputTokens;
    if (input !== undefined && input > 0 && Number.isFinite(input)) {
      aggregate.inputTokens += input;
      if (attributes) addTotal(attributes.totals, 'tokens', attributes.inputTokens, input);
    }
    if (output !== undefined && output > 0 && Number.isFinite(output)) {
      aggregate.outputTokens += output;
      if (attributes) addTotal(attributes.totals, 'tokens', attributes.outputTokens, output);
    }
  }

  private rememberModelCall(traceId: string): void {
    if (this.modelCallTraces.has(traceId)) return;
    this.modelCallTraces.set(traceId, true);
    if (this.modelCallTraces.size > this.config.maxTrackedTraces) {
      const oldest = this.modelCallTraces.keys().next();
      if (!oldest.done) this.modelCallTraces.delete(oldest.value);
    }
  }

  private bucketAt(now: number): Map<string, SeriesAggregate> {
    const { bucketMillis } = this.config;
    const start = now - (((now % bucketMillis) + bucketMillis) % bucketMillis);
    if (start === this.currentStart && this.currentBucket !== undefined) return this.currentBucket;
    let bucket = this.buckets.get(start);
    if (bucket === undefined) {
      bucket = new Map();
      this.buckets.set(start, bucket);
    }
    if (!(start < this.currentStart)) {
      if (this.currentBucket !== undefined) for (const aggregate of this.currentBucket.values()) aggregate.compact();
      this.currentStart = start;
      this.currentBucket = bucket;
      this.evict(now);
    }
    return bucket;
  }

  /** Drops buckets past the retention and series idle for `releaseIdleMillis`; runs once per bucket. */
  private evict(now: number): void {
    const oldest = now - this.config.retentionMillis;
    for (const start of this.buckets.keys()) {
      if (start + this.config.bucketMillis <= oldest) this.buckets.delete(start);
    }
    const idle = now - this.config.releaseIdleMillis;
    this.subjects.evict(idle, this.subjects.periodStart(now));
    for (const [key, series] of this.series) {
      if (series.lastSeenMillis < idle) {
        series.evicted = true;
        this.series.delete(key);
        if (this.lastSeries === series) this.lastSeries = undefined;
      }
    }
  }

  private seriesOf(rolloutId: string, release: string, cohort: Cohort, now: number): Series | undefined {
    const last = this.lastSeries;
    if (last !== undefined && last.release === release && last.cohort === cohort && last.rolloutId === rolloutId) {
      last.lastSeenMillis = now;
      return last;
    }
    const series = this.lookupSeries(rolloutId, release, cohort, now);
    if (series !== undefined) this.lastSeries = series;
    return series;
  }

  /** Finds or creates a series (undefined at `maxSeries`), without touching the last-series cache. */
  private lookupSeries(rolloutId: string, release: string, cohort: Cohort, now: number): Series | undefined {
    const key = seriesKeyString(rolloutId, release, cohort);
    let series = this.series.get(key);
    if (series === undefined) {
      series = this.createSeries(key, rolloutId, release, cohort, now);
      if (series === undefined) return undefined;
    }
    series.lastSeenMillis = now;
    return series;
  }

  private createSeries(
    key: string,
    rolloutId: string,
    release: string,
    cohort: Cohort,
    now: number,
  ): Series | undefined {
    if (this.series.size >= this.config.maxSeries) {
      if (!this.seriesCapWarned) {
        this.seriesCapWarned = true;
        diag.warn(
          `agent-canary behaviour processor: maxSeries (${this.config.maxSeries}) reached; spans of new series are dropped, and users served inside a rollout whose release has no series outside rollouts yet are not counted per subject period`,
        );
      }
      return undefined;
    }
    const base: Attributes = { [ATTR_RELEASE_ID]: release, [ATTR_COHORT]: cohort };
    if (rolloutId !== '') base[ATTR_ROLLOUT_ID] = rolloutId;
    const series: Series = {
      key,
      rolloutId,
      release,
      cohort,
      capReached: false,
      lastSeenMillis: now,
      attributes: this.instruments ? new SeriesAttributes(base) : undefined,
      outside: undefined,
      evicted: false,
    };
    this.series.set(key, series);
    return series;
  }

  /**
   * Aggregates per series merged over the buckets that start in [since, until).
   * @throws RangeError when `since` or `until` is not a finite number.
   */
  window(range: WindowRange = {}): WindowSnapshot {
    const until = range.until ?? this.config.now() + 1;
    const since = range.since ?? until - this.config.retentionMillis;
    if (!Number.isFinite(since) || !Number.isFinite(until)) {
      throw new RangeError(`window range must be finite numbers, received since=${since} until=${until}`);
    }
    const merged = new Map<string, SeriesAggregate>();
    // Expired buckets are dropped lazily, on the next span: never report them.
    const oldest = this.config.now() - this.config.retentionMillis;
    for (const [start, bucket] of this.buckets) {
      if (start < since || start >= until || start + this.config.bucketMillis <= oldest) continue;
      for (const [key, aggregate] of bucket) {
        const existing = merged.get(key);
        if (existing === undefined) merged.set(key, new SeriesAggregate(this.config.maxTopics).merge(aggregate));
        else existing.merge(aggregate);
      }
    }
    const series: SeriesSnapshot[] = [];
    for (const [key, aggregate] of merged) {
      const identity = this.identityOf(key);
      series.push({ ...identity, ...aggregate.toJSON(), subjectCapReached: this.series.get(key)?.capReached ?? false });
    }
    const { bucketMillis } = this.config;
    return {
      v: PROCESSOR_SNAPSHOT_VERSION,
      since: Math.ceil(since / bucketMillis) * bucketMillis,
      until,
      bucketMillis,
      series: sortSeries(series),
    };
  }

  private identityOf(key: string): SeriesKey {
    const [rolloutId = '', release = '', cohort = COHORT.stable] = key.split('\u0000');
    const safeCohort = isCohort(cohort) ? cohort : COHORT.stable;
    return rolloutId === '' ? { release, cohort: safeCohort } : { rolloutId, release, cohort: safeCohort };
  }

  /** Lifetime counts of the spans this processor saw. */
  spanCounts(): SpanCounts {
    return { ...this.counts };
  }

  /** Everything the processor holds, as versioned plain JSON (see {@link mergeSnapshots}). */
  snapshot(): ProcessorSnapshot {
    const buckets = [...this.buckets.keys()]
      .sort((a, b) => a - b)
      .map((startMillis) => {
        const bucket = this.buckets.get(startMillis) ?? new Map<string, SeriesAggregate>();
        const series: BucketSeriesSnapshot[] = [...bucket].map(([key, aggregate]) => ({
          ...this.identityOf(key),
          aggregate: aggregate.toJSON(),
        }));
        return { startMillis, series: sortSeries(series) };
      })
      .filter((bucket) => bucket.series.length > 0);
    return {
      v: PROCESSOR_SNAPSHOT_VERSION,
      takenAtMillis: this.config.now(),
      bucketMillis: this.config.bucketMillis,
      buckets,
      subjects: this.subjects.snapshot(),
      spans: this.spanCounts(),
    };
  }

  /**
   * Adds a snapshot (this process's last one, or another process's) into the current state.
   * Buckets past the retention are skipped.
   * @throws Error when the snapshot's version or bucket width differ from this processor's.
   */
  mergeSnapshot(input: ProcessorSnapshot | ProcessorSnapshotV1): void {
    const snapshot = upgradeSnapshot(input);
    if (snapshot.bucketMillis !== this.config.bucketMillis) {
      throw new Error(
        `snapshot bucketMillis ${snapshot.bucketMillis} differs from this processor's ${this.config.bucketMillis}`,
      );
    }
    const now = this.config.now();
    const oldest = now - this.config.retentionMillis;
    this.subjects.merge(snapshot.subjects);
    for (const bucket of snapshot.buckets) {
      if (bucket.startMillis + this.config.bucketMillis <= oldest) continue;
      let target = this.buckets.get(bucket.startMillis);
      if (target === undefined) {
        target = new Map();
        this.buckets.set(bucket.startMillis, target);
      }
      for (const entry of bucket.series) {
        const key = seriesKeyString(entry.rolloutId ?? '', entry.release, entry.cohort);
        const aggregate = SeriesAggregate.fromJSON(entry.aggregate, this.config.maxTopics);
        // Keep the name caps consistent with what the buckets already hold.
        for (const name of aggregate.toolCalls.keys()) this.toolNames.resolve(name);
        for (const name of aggregate.scores.keys()) this.scoreNames.resolve(name);
        const existing = target.get(key);
        if (existing === undefined) target.set(key, aggregate);
        else existing.merge(aggregate);
      }
    }
    for (const field of Object.keys(this.counts) as (keyof SpanCounts)[]) {
      const value = snapshot.spans?.[field];
      if (typeof value === 'number' && Number.isFinite(value)) this.counts[field] += value;
    }
  }

  private restoreFromFile(path: string): void {
    if (!existsSync(path)) return;
    try {
      this.mergeSnapshot(JSON.parse(readFileSync(path, 'utf8')) as ProcessorSnapshot);
    } catch (error) {
      diag.warn(`agent-canary behaviour processor: could not restore the snapshot at ${path}; starting empty`, error);
    }
  }

  /** Writes the snapshot atomically (temporary file, then rename); failures go to diag. */
  private persist(): Promise<void> {
    const path = this.config.snapshotPath;
    if (path === undefined) return this.writes;
    this.writes = this.writes.then(async () => {
      const temporary = `${path}.${process.pid}.tmp`;
      try {
        await writeFile(temporary, JSON.stringify(this.snapshot()));
        await rename(temporary, path);
      } catch (error) {
        diag.error(`agent-canary behaviour processor: could not write the snapshot to ${path}`, error);
      }
    });
    return this.writes;
  }

  /** Writes the snapshot now when `snapshotPath` is set. */
  forceFlush(): Promise<void> {
    if (this.shutdownPromise !== undefined) return this.shutdownPromise;
    return this.persist();
  }

  /** Stops the snapshot timer and writes a last snapshot. Idempotent. */
  shutdown(): Promise<void> {
    if (this.shutdownPromise === undefined) {
      if (this.timer !== undefined) clearInterval(this.timer);
      this.timer = undefined;
      this.shutdownPromise = this.persist();
    }
    return this.shutdownPromise;
  }
}
