import type { Cohort } from '@agent-canary/conventions';
import { type AggregateSnapshot, SeriesAggregate } from './aggregate.js';
import { keyFields, keyOf, type SeriesKey, sortSeries } from './series-key.js';
import { type SubjectScopeSnapshot, SubjectTracker } from './subjects.js';

/**
 * Version of {@link ProcessorSnapshot} and {@link WindowSnapshot}. 2: subjects are kept per
 * rollout with the cohort they entered in (1: per series); version 1 snapshots are still read.
 */
export const PROCESSOR_SNAPSHOT_VERSION = 2;

/** Aggregates of one series over a window. */
export interface SeriesSnapshot extends SeriesKey, AggregateSnapshot {
  /** True when a subject of this series found its scope full: subject counters undercount new subjects. */
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
 * Version 1's subjects of one series. `entries` are `[subject, flags]`: bit 0 = the
 * subject's first turn was counted; bit i+1 = its first `ADVERSE_SIGNALS[i]` event was counted.
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
  /** Subjects per scope (a rollout, or a series' subject period outside rollouts). */
  readonly subjects: readonly SubjectScopeSnapshot[];
  readonly spans: SpanCounts;
}

/** A version 1 snapshot (subjects per series), as older processors wrote it. */
export interface ProcessorSnapshotV1 extends Omit<ProcessorSnapshot, 'v' | 'subjects'> {
  readonly v: 1;
  readonly subjects: readonly SubjectSetSnapshot[];
}

/**
 * Reads a snapshot of version 1 or 2 as version 2. Version 1 kept subjects per series: a
 * rollout's subject enters the cohort of the first series that lists it; subject sets
 * outside rollouts (per-period in version 2) are dropped.
 * @throws Error on another version.
 */
export function upgradeSnapshot(snapshot: ProcessorSnapshot | ProcessorSnapshotV1): ProcessorSnapshot {
  if (snapshot?.v === PROCESSOR_SNAPSHOT_VERSION) return snapshot;
  if (snapshot?.v !== 1)
    throw new Error(`unsupported processor snapshot version ${String((snapshot as { v?: unknown } | undefined)?.v)}`);
  const byRollout = new Map<
    string,
    {
      scope: { capReached: boolean; lastSeenMillis: number };
      entries: Map<string, readonly [string, string, Cohort, number, null]>;
    }
  >();
  for (const set of snapshot.subjects) {
    if (set.rolloutId === undefined || set.rolloutId === '') continue;
    let merged = byRollout.get(set.rolloutId);
    if (merged === undefined) {
      merged = { scope: { capReached: false, lastSeenMillis: 0 }, entries: new Map() };
      byRollout.set(set.rolloutId, merged);
    }
    merged.scope.capReached ||= set.capReached;
    merged.scope.lastSeenMillis = Math.max(merged.scope.lastSeenMillis, set.lastSeenMillis);
    for (const [subject, flags] of set.entries) {
      if (!merged.entries.has(subject)) merged.entries.set(subject, [subject, set.release, set.cohort, flags, null]);
    }
  }
  return {
    ...snapshot,
    v: PROCESSOR_SNAPSHOT_VERSION,
    subjects: [...byRollout].map(([rolloutId, merged]) => ({
      rolloutId,
      ...merged.scope,
      entries: [...merged.entries.values()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    })),
  };
}

/** Topic cap when merging windows for a selection (generous: names were capped at the source). */
const MERGE_TOPIC_CAP = 1000;

/**
 * Combines the snapshots of two processes into what one process that saw both span
 * streams would hold. Counts add and sketches merge exactly. Subject counters are exact
 * when each subject was served by one process (sticky routing per replica); a subject seen
 * by both is counted once per process in the bucket counters, and once in the merged set.
 * Version 1 snapshots are upgraded first (see {@link upgradeSnapshot}).
 * @throws Error when the snapshots use different bucket widths or versions.
 */
export function mergeSnapshots(
  first: ProcessorSnapshot | ProcessorSnapshotV1,
  second: ProcessorSnapshot | ProcessorSnapshotV1,
): ProcessorSnapshot {
  const a = upgradeSnapshot(first);
  const b = upgradeSnapshot(second);
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
  // One tracker unites both subject sets exactly as a restoring processor would.
  const subjects = new SubjectTracker(Number.MAX_SAFE_INTEGER, 1);
  subjects.merge(a.subjects);
  subjects.merge(b.subjects);
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
    subjects: subjects.snapshot(),
    spans,
  };
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
 * Subject-level fields count users once per rollout on a rollout's series and once per
 * subject period on the series outside rollouts, which also hold the users served inside
 * rollouts: give a `rolloutId` (or filter the series outside rollouts) before reading
 * them, or a user served inside a rollout counts twice.
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
