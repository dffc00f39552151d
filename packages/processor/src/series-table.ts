import { ATTR_COHORT, ATTR_RELEASE_ID, ATTR_ROLLOUT_ID, type Cohort } from '@agent-canary/conventions';
import { type Attributes, diag } from '@opentelemetry/api';
import type { CounterTotals } from './metrics.js';
import { SeriesAttributes } from './metrics.js';
import { seriesKeyString } from './series-key.js';

/** @internal One live series: its identity, subject-cap flag, metric attributes and idle clock. */
export interface Series {
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

/**
 * @internal The live series of a processor, at most `maxSeries`, keyed by (rollout,
 * release, cohort), with a one-entry cache of the last series for the hot path.
 */
export class SeriesTable {
  private readonly series = new Map<string, Series>();
  private lastSeries: Series | undefined;
  private seriesCapWarned = false;

  /** `withMetrics`: give each series its metric attributes (a meter provider is set). */
  constructor(
    private readonly maxSeries: number,
    private readonly withMetrics: boolean,
  ) {}

  /** The live series of a map key, if any. */
  get(key: string): Series | undefined {
    return this.series.get(key);
  }

  /** Finds or creates a series (undefined at `maxSeries`) and marks it seen at `now`. */
  seriesOf(rolloutId: string, release: string, cohort: Cohort, now: number): Series | undefined {
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
  lookupSeries(rolloutId: string, release: string, cohort: Cohort, now: number): Series | undefined {
    const key = seriesKeyString(rolloutId, release, cohort);
    let series = this.series.get(key);
    if (series === undefined) {
      series = this.createSeries(key, rolloutId, release, cohort, now);
      if (series === undefined) return undefined;
    }
    series.lastSeenMillis = now;
    return series;
  }

  /** The series outside rollouts of a rollout series' release and cohort (kept on the series). */
  outsideOf(series: Series, now: number): Series | undefined {
    const linked = series.outside;
    if (linked !== undefined && !linked.evicted) {
      linked.lastSeenMillis = now;
      return linked;
    }
    const outside = this.lookupSeries('', series.release, series.cohort, now);
    series.outside = outside;
    return outside;
  }

  /** Forgets the series last seen before `idleBefore`. */
  evictIdle(idleBefore: number): void {
    for (const [key, series] of this.series) {
      if (series.lastSeenMillis < idleBefore) {
        series.evicted = true;
        this.series.delete(key);
        if (this.lastSeries === series) this.lastSeries = undefined;
      }
    }
  }

  /** The running counter totals of every series with metric attributes. */
  *counterTotals(): Iterable<CounterTotals> {
    for (const series of this.series.values()) if (series.attributes) yield series.attributes.totals;
  }

  private createSeries(
    key: string,
    rolloutId: string,
    release: string,
    cohort: Cohort,
    now: number,
  ): Series | undefined {
    if (this.series.size >= this.maxSeries) {
      if (!this.seriesCapWarned) {
        this.seriesCapWarned = true;
        diag.warn(
          `agent-canary behaviour processor: maxSeries (${this.maxSeries}) reached; spans of new series are dropped, and users served inside a rollout whose release has no series outside rollouts yet are not counted per subject period`,
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
      attributes: this.withMetrics ? new SeriesAttributes(base) : undefined,
      outside: undefined,
      evicted: false,
    };
    this.series.set(key, series);
    return series;
  }
}
