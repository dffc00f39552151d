import { SeriesAggregate } from './aggregate.js';
import type { BehaviorSpanProcessorConfig } from './config.js';
import { identityOf, seriesKeyString, sortSeries } from './series-key.js';
import type { BucketSeriesSnapshot, ProcessorSnapshot } from './snapshot.js';

/** @internal One time bucket: the aggregate of each series (by map key) in it. */
export type Bucket = Map<string, SeriesAggregate>;

/**
 * @internal The time buckets of a processor: aggregates per series in buckets of
 * `bucketMillis`, kept for `retentionMillis`. Expired buckets are dropped when a span
 * opens a new bucket, which also calls `onNewBucket` (the processor's other evictions).
 */
export class TimeBuckets {
  private readonly buckets = new Map<number, Bucket>();
  private currentStart = Number.NaN;
  private currentBucket: Bucket | undefined;

  constructor(
    private readonly config: Pick<
      BehaviorSpanProcessorConfig,
      'bucketMillis' | 'retentionMillis' | 'maxTopics' | 'now'
    >,
    private readonly onNewBucket: (now: number) => void,
  ) {}

  /** The bucket holding `now`; moving to a later bucket compacts the previous one and evicts. */
  at(now: number): Bucket {
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

  /** The aggregate of a series in a bucket, created empty when missing. */
  aggregateIn(bucket: Bucket, key: string): SeriesAggregate {
    let aggregate = bucket.get(key);
    if (aggregate === undefined) {
      aggregate = new SeriesAggregate(this.config.maxTopics);
      bucket.set(key, aggregate);
    }
    return aggregate;
  }

  /** Drops buckets past the retention, then runs the processor's other evictions; once per bucket. */
  private evict(now: number): void {
    const oldest = now - this.config.retentionMillis;
    for (const start of this.buckets.keys()) {
      if (start + this.config.bucketMillis <= oldest) this.buckets.delete(start);
    }
    this.onNewBucket(now);
  }

  /** Aggregates per series (by map key) merged over the unexpired buckets that start in [since, until). */
  merged(since: number, until: number): Map<string, SeriesAggregate> {
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
    return merged;
  }

  /** Every non-empty bucket, oldest first, as snapshot JSON. */
  toSnapshot(): ProcessorSnapshot['buckets'] {
    return [...this.buckets.keys()]
      .sort((a, b) => a - b)
      .map((startMillis) => {
        const bucket = this.buckets.get(startMillis) ?? new Map<string, SeriesAggregate>();
        const series: BucketSeriesSnapshot[] = [...bucket].map(([key, aggregate]) => ({
          ...identityOf(key),
          aggregate: aggregate.toJSON(),
        }));
        return { startMillis, series: sortSeries(series) };
      })
      .filter((bucket) => bucket.series.length > 0);
  }

  /**
   * Adds a snapshot's buckets into these, skipping those that end at or before `oldest`
   * (past the retention). `onAggregate` sees each restored aggregate before it is merged.
   */
  merge(
    buckets: ProcessorSnapshot['buckets'],
    oldest: number,
    onAggregate: (aggregate: SeriesAggregate) => void,
  ): void {
    for (const bucket of buckets) {
      if (bucket.startMillis + this.config.bucketMillis <= oldest) continue;
      let target = this.buckets.get(bucket.startMillis);
      if (target === undefined) {
        target = new Map();
        this.buckets.set(bucket.startMillis, target);
      }
      for (const entry of bucket.series) {
        const key = seriesKeyString(entry.rolloutId ?? '', entry.release, entry.cohort);
        const aggregate = SeriesAggregate.fromJSON(entry.aggregate, this.config.maxTopics);
        onAggregate(aggregate);
        const existing = target.get(key);
        if (existing === undefined) target.set(key, aggregate);
        else existing.merge(aggregate);
      }
    }
  }
}
