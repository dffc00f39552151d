import type { Cohort } from '@agent-canary/conventions';
import { type AggregateSnapshot, SeriesAggregate } from './aggregate.js';

/** Version of {@link ProcessorSnapshot} and {@link WindowSnapshot}. */
export const PROCESSOR_SNAPSHOT_VERSION = 1;

/** Identity of a series: aggregates are kept per (rollout, release, cohort). */
export interface SeriesKey {
  /** Absent when the spans carried no rollout id. */
  readonly rolloutId?: string;
  readonly release: string;
  readonly cohort: Cohort;
}

/** Aggregates of one series over a window. */
export interface SeriesSnapshot extends SeriesKey, AggregateSnapshot {
  /** True when the series' subject set hit its cap: subject counters undercount new subjects. */
  readonly subjectCapReached: boolean;
}

/** Result of `BehaviorSpanProcessor.window()`: per series, the aggregates merged over [since, until). */
export interface WindowSnapshot {
  readonly v: typeof PROCESSOR_SNAPSHOT_VERSION;
  /** Start of the first bucket included, ms since the epoch (bucket-aligned). */
  readonly since: number;
  /** End of the window (exclusive), ms since the epoch. */
  readonly until: number;
  readonly bucketMillis: number;
  readonly series: readonly SeriesSnapshot[];
}

/** Lifetime counts of the spans a processor saw. */
export interface SpanCounts {
  /** Spans handed to the processor. */
  readonly received: number;
  /** Spans the normaliser recognised and that were aggregated. */
  readonly aggregated: number;
  /** Spans no normaliser recognised (not agent turns, model calls, tool calls or feedback). */
  readonly unrecognised: number;
  /** Recognised spans without a release id. */
  readonly withoutRelease: number;
  /** Spans dropped because `maxSeries` series already existed. */
  readonly droppedSeriesCap: number;
  /** Spans whose processing threw (reported through diag). */
  readonly failed: number;
}

/**
 * The subjects of one series. `entries` are `[subject, flags]`: bit 0 = the subject's first
 * turn was counted; bit i+1 = its first `ADVERSE_SIGNALS[i]` event was counted.
 */
export interface SubjectSetSnapshot extends SeriesKey {
  readonly capReached: boolean;
  readonly lastSeenMillis: number;
  readonly entries: ReadonlyArray<readonly [string, number]>;
}

/** Aggregates of one series in one bucket. */
export interface BucketSeriesSnapshot extends SeriesKey {
  readonly aggregate: AggregateSnapshot;
}

/**
 * Everything a processor knows, as versioned plain JSON: restore it with
 * `new BehaviorSpanProcessor({ snapshotPath })` or `mergeSnapshot`, combine two with
 * {@link mergeSnapshots}.
 */
export interface ProcessorSnapshot {
  readonly v: typeof PROCESSOR_SNAPSHOT_VERSION;
  readonly takenAtMillis: number;
  readonly bucketMillis: number;
  readonly buckets: ReadonlyArray<{ readonly startMillis: number; readonly series: readonly BucketSeriesSnapshot[] }>;
  readonly subjects: readonly SubjectSetSnapshot[];
  readonly spans: SpanCounts;
}

/** @internal */
export function seriesKeyString(rolloutId: string, release: string, cohort: string): string {
  return `${rolloutId}\u0000${release}\u0000${cohort}`;
}

function keyOf(series: SeriesKey): string {
  return seriesKeyString(series.rolloutId ?? '', series.release, series.cohort);
}

function keyFields(series: SeriesKey): SeriesKey {
  return series.rolloutId === undefined
    ? { release: series.release, cohort: series.cohort }
    : { rolloutId: series.rolloutId, release: series.release, cohort: series.cohort };
}

/** Topic cap when merging windows for a selection (generous: names were capped at the source). */
const MERGE_TOPIC_CAP = 1000;

/**
 * Combines the snapshots of two processes into what one process that saw both span
 * streams would hold. Counts add and sketches merge exactly. Subject counters are exact
 * when each subject was served by one process (sticky routing per replica); a subject seen
 * by both is counted once per process in the bucket counters, and once in the merged set.
 * @throws Error when the snapshots use different bucket widths or versions.
 */
export function mergeSnapshots(a: ProcessorSnapshot, b: ProcessorSnapshot): ProcessorSnapshot {
  if (a.v !== PROCESSOR_SNAPSHOT_VERSION || b.v !== PROCESSOR_SNAPSHOT_VERSION) {
    throw new Error(`cannot merge processor snapshots of versions ${a.v} and ${b.v}`);
  }
  if (a.bucketMillis !== b.bucketMillis) {
    throw new Error(
      `cannot merge processor snapshots with different bucketMillis (${a.bucketMillis} vs ${b.bucketMillis})`,
    );
  }
  const buckets = new Map<number, Map<string, { key: SeriesKey; aggregate: SeriesAggregate }>>();
  for (const snapshot of [a, b]) {
    for (const bucket of snapshot.buckets) {
      let series = buckets.get(bucket.startMillis);
      if (series === undefined) {
        series = new Map();
        buckets.set(bucket.startMillis, series);
      }
      for (const entry of bucket.series) {
        const aggregate = SeriesAggregate.fromJSON(entry.aggregate);
        const existing = series.get(keyOf(entry));
        if (existing === undefined) series.set(keyOf(entry), { key: keyFields(entry), aggregate });
        else existing.aggregate.merge(aggregate);
      }
    }
  }
  const subjects = new Map<
    string,
    { key: SeriesKey; capReached: boolean; lastSeen: number; flags: Map<string, number> }
  >();
  for (const snapshot of [a, b]) {
    for (const set of snapshot.subjects) {
      let merged = subjects.get(keyOf(set));
      if (merged === undefined) {
        merged = { key: keyFields(set), capReached: false, lastSeen: 0, flags: new Map() };
        subjects.set(keyOf(set), merged);
      }
      merged.capReached ||= set.capReached;
      merged.lastSeen = Math.max(merged.lastSeen, set.lastSeenMillis);
      for (const [subject, flags] of set.entries) merged.flags.set(subject, (merged.flags.get(subject) ?? 0) | flags);
    }
  }
  const spans: Record<keyof SpanCounts, number> = { ...a.spans };
  for (const field of Object.keys(spans) as (keyof SpanCounts)[])
    spans[field] = (a.spans[field] ?? 0) + (b.spans[field] ?? 0);
  return {
    v: PROCESSOR_SNAPSHOT_VERSION,
    takenAtMillis: Math.max(a.takenAtMillis, b.takenAtMillis),
    bucketMillis: a.bucketMillis,
    buckets: [...buckets.keys()]
      .sort((x, y) => x - y)
      .map((startMillis) => ({
        startMillis,
        series: sortSeries([...(buckets.get(startMillis)?.values() ?? [])].map((entry) => entry.key)).map((key) => ({
          ...key,
          aggregate: buckets.get(startMillis)?.get(keyOf(key))?.aggregate.toJSON() as AggregateSnapshot,
        })),
      })),
    subjects: sortSeries([...subjects.values()].map((entry) => entry.key)).map((key) => {
      const entry = subjects.get(keyOf(key));
      return {
        ...key,
        capReached: entry?.capReached ?? false,
        lastSeenMillis: entry?.lastSeen ?? 0,
        entries: [...(entry?.flags ?? new Map<string, number>())].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
      };
    }),
    spans,
  };
}

/** @internal Orders series by release, cohort, rollout id, so equal contents give equal JSON. */
export function sortSeries<T extends SeriesKey>(series: T[]): T[] {
  const text = (key: SeriesKey) => `${key.release}\u0000${key.cohort}\u0000${key.rolloutId ?? ''}`;
  return series.sort((x, y) => (text(x) < text(y) ? -1 : text(x) > text(y) ? 1 : 0));
}

/** Which series {@link selectSeries} merges: fields left out match any value. */
export interface SeriesSelector {
  readonly release?: string;
  readonly cohort?: Cohort;
  readonly rolloutId?: string;
}

/**
 * Merges the series of a window that match `selector` (e.g. every series of cohort
 * `canary` in rollout `r-42`) into one aggregate; an empty aggregate when none matches.
 */
export function selectSeries(window: WindowSnapshot, selector: SeriesSelector): AggregateSnapshot {
  const merged = new SeriesAggregate(MERGE_TOPIC_CAP);
  for (const series of window.series) {
    if (selector.release !== undefined && series.release !== selector.release) continue;
    if (selector.cohort !== undefined && series.cohort !== selector.cohort) continue;
    if (selector.rolloutId !== undefined && series.rolloutId !== selector.rolloutId) continue;
    merged.merge(SeriesAggregate.fromJSON(series, MERGE_TOPIC_CAP));
  }
  return merged.toJSON();
}
