import type { AgentSpanFacts } from '@agent-canary/conventions';
import { ADVERSE_SIGNALS, type SeriesAggregate } from './aggregate.js';
import type { Bucket, TimeBuckets } from './buckets.js';
import { addTotal, METRIC_ATTR } from './metrics.js';
import type { Series, SeriesTable } from './series-table.js';
import {
  ADVERSE_BITS,
  observeSubject,
  SUBJECT_BIT,
  type SubjectEntry,
  type SubjectTracker,
  signalBit,
} from './subjects.js';

/**
 * @internal Counts the subject-level observations of a span: enters its subject into its
 * scopes (the rollout, and the release's subject period outside rollouts), then counts
 * first events into the series of the entry, with their metric totals.
 */
export class SubjectObserver {
  constructor(
    private readonly subjects: SubjectTracker,
    private readonly series: SeriesTable,
    private readonly buckets: TimeBuckets,
  ) {}

  /**
   * The subject-level observations of a span (see subjects.ts): with a rollout id, once
   * per rollout in the series of the cohort the subject entered the rollout in; and, with
   * or without one, once per release and subject period in the series outside rollouts of
   * the cohort the subject was first seen in during the period. `aggregate` is the span's
   * series' aggregate in `bucket`.
   */
  record(
    facts: AgentSpanFacts,
    subject: string,
    series: Series,
    aggregate: SeriesAggregate,
    bucket: Bucket,
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
      const found = this.series.outsideOf(series, now);
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
    bucket: Bucket,
    tool: string | undefined,
    topic: string | undefined,
    now: number,
  ): void {
    let target = series;
    if (entry.release !== series.release || entry.cohort !== series.cohort) {
      const entrySeries = this.series.lookupSeries(series.rolloutId, entry.release, entry.cohort, now);
      if (entrySeries === undefined) return;
      target = entrySeries;
    }
    const targetAggregate =
      target === series && aggregate !== undefined ? aggregate : this.buckets.aggregateIn(bucket, target.key);
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
}
