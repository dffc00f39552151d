import {
  AGENT_SPAN_KIND,
  type AgentSpanFacts,
  ATTR_GEN_AI_TOOL_NAME,
  COHORT,
  isCohort,
} from '@agent-canary/conventions';
import { type Attributes, type Context, diag } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SeriesAggregate } from './aggregate.js';
import { TimeBuckets } from './buckets.js';
import {
  type BehaviorSpanProcessorConfig,
  type BehaviorSpanProcessorOptions,
  resolveBehaviorProcessorConfig,
} from './config.js';
import { configMismatch, MismatchWarnings } from './config-mismatch.js';
import {
  addTotal,
  type CounterTotals,
  createInstruments,
  emptyTotals,
  type Instruments,
  METRIC_ATTR,
  type SeriesAttributes,
} from './metrics.js';
import { NameCap } from './name-cap.js';
import { normalizeSpan } from './normalize/index.js';
import { identityOf, sortSeries } from './series-key.js';
import { SeriesTable } from './series-table.js';
import {
  PROCESSOR_SNAPSHOT_VERSION,
  type ProcessorSnapshot,
  type ProcessorSnapshotV1,
  type SeriesSnapshot,
  type SpanCounts,
  upgradeSnapshot,
  type WindowSnapshot,
} from './snapshot.js';
import { removeStaleTemporaryFiles, restoreSnapshotFile, SnapshotFileWriter } from './snapshot-file.js';
import { SubjectObserver } from './subject-observer.js';
import { SubjectTracker } from './subjects.js';

const PACKAGE_VERSION = '0.1.0';

const SKIP_REASON = { unrecognised: 'unrecognised', noRelease: 'no_release', seriesCap: 'series_cap' } as const;

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
  private readonly buckets: TimeBuckets;
  private readonly series: SeriesTable;
  private readonly subjects: SubjectTracker;
  private readonly subjectObserver: SubjectObserver;
  private readonly toolNames: NameCap;
  private readonly topicNames: NameCap;
  private readonly scoreNames: NameCap;
  /** Traces that had a model-call span, oldest first (insertion order), bounded. */
  private readonly modelCallTraces = new Map<string, true>();
  private readonly instruments: Instruments | undefined;
  /** Running total of skipped spans, for the observable counter. */
  private readonly skippedTotals: CounterTotals = emptyTotals();
  private readonly unrecognisedAttributes: Readonly<Record<string, Attributes>>;
  private counts: Record<keyof SpanCounts, number> = {
    received: 0,
    aggregated: 0,
    unrecognised: 0,
    withoutRelease: 0,
    droppedSeriesCap: 0,
    failed: 0,
  };
  private readonly mismatches = new MismatchWarnings();
  private readonly snapshotWriter: SnapshotFileWriter | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private shutdownPromise: Promise<void> | undefined;

  /** @throws ConfigError when an option is invalid. */
  constructor(options: BehaviorSpanProcessorOptions = {}) {
    this.config = resolveBehaviorProcessorConfig(options);
    this.normalize = options.normalize ?? normalizeSpan;
    this.buckets = new TimeBuckets(this.config, (now) => this.evict(now));
    this.series = new SeriesTable(this.config.maxSeries, this.config.meterProvider !== undefined);
    this.subjects = new SubjectTracker(this.config.maxSubjectsPerRollout, this.config.subjectPeriodMillis);
    this.subjectObserver = new SubjectObserver(this.subjects, this.series, this.buckets);
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
      removeStaleTemporaryFiles(this.config.snapshotPath);
      restoreSnapshotFile(this.config.snapshotPath, (snapshot) => this.mergeSnapshot(snapshot));
      this.snapshotWriter = new SnapshotFileWriter(this.config.snapshotPath);
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
    const bucket = this.buckets.at(now);
    const series = this.series.seriesOf(
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
    const aggregate = this.buckets.aggregateIn(bucket, series.key);
    this.counts.aggregated++;
    if (mismatch !== undefined) {
      aggregate.configMismatches++;
      this.mismatches.warn(release, mismatch);
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
      this.subjectObserver.record(facts, facts.subject, series, aggregate, bucket, tool, topic, now);
    }
  }

  private countSkipped(reason: (typeof SKIP_REASON)[keyof typeof SKIP_REASON]): void {
    const attributes = this.unrecognisedAttributes[reason];
    if (this.instruments !== undefined && attributes !== undefined) {
      addTotal(this.skippedTotals, 'spansUnrecognised', attributes, 1);
    }
  }

  private *counterTotals(): Iterable<CounterTotals> {
    yield this.skippedTotals;
    yield* this.series.counterTotals();
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

  /** Forgets subjects and series idle for `releaseIdleMillis`; runs once per bucket, after expired buckets are dropped. */
  private evict(now: number): void {
    const idle = now - this.config.releaseIdleMillis;
    this.subjects.evict(idle, this.subjects.periodStart(now));
    this.series.evictIdle(idle);
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
    const series: SeriesSnapshot[] = [];
    for (const [key, aggregate] of this.buckets.merged(since, until)) {
      const identity = identityOf(key);
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

  /** Lifetime counts of the spans this processor saw. */
  spanCounts(): SpanCounts {
    return { ...this.counts };
  }

  /** Everything the processor holds, as versioned plain JSON (see {@link mergeSnapshots}). */
  snapshot(): ProcessorSnapshot {
    const buckets = this.buckets.toSnapshot();
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
    this.buckets.merge(snapshot.buckets, oldest, (aggregate) => {
      // Keep the name caps consistent with what the buckets already hold.
      for (const name of aggregate.toolCalls.keys()) this.toolNames.resolve(name);
      for (const name of aggregate.scores.keys()) this.scoreNames.resolve(name);
    });
    for (const field of Object.keys(this.counts) as (keyof SpanCounts)[]) {
      const value = snapshot.spans?.[field];
      if (typeof value === 'number' && Number.isFinite(value)) this.counts[field] += value;
    }
  }

  /** Writes the snapshot atomically (temporary file, then rename); failures go to diag. */
  private persist(): Promise<void> {
    return this.snapshotWriter?.write(() => this.snapshot()) ?? Promise.resolve();
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
