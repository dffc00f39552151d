import { COHORT, type Cohort, isCohort } from '@agent-canary/conventions';

/** Identity of a series: aggregates are kept per (rollout, release, cohort). */
export interface SeriesKey {
  /** Absent when the spans carried no rollout id. */
  readonly rolloutId?: string;
  readonly release: string;
  readonly cohort: Cohort;
}

/** @internal The map key of a series; `rolloutId` is `''` outside rollouts. */
export function seriesKeyString(rolloutId: string, release: string, cohort: string): string {
  return `${rolloutId}\u0000${release}\u0000${cohort}`;
}

/** @internal The map key of a {@link SeriesKey}. */
export function keyOf(series: SeriesKey): string {
  return seriesKeyString(series.rolloutId ?? '', series.release, series.cohort);
}

/** @internal The identity fields of a series only (drops the rest of a snapshot entry). */
export function keyFields(series: SeriesKey): SeriesKey {
  return series.rolloutId === undefined
    ? { release: series.release, cohort: series.cohort }
    : { rolloutId: series.rolloutId, release: series.release, cohort: series.cohort };
}

/** @internal The identity of a series from its map key (the inverse of {@link seriesKeyString}). */
export function identityOf(key: string): SeriesKey {
  const [rolloutId = '', release = '', cohort = COHORT.stable] = key.split('\u0000');
  const safeCohort = isCohort(cohort) ? cohort : COHORT.stable;
  return rolloutId === '' ? { release, cohort: safeCohort } : { rolloutId, release, cohort: safeCohort };
}

/** @internal Orders series by release, cohort, rollout id, so equal contents give equal JSON. */
export function sortSeries<T extends SeriesKey>(series: T[]): T[] {
  const text = (key: SeriesKey) => `${key.release}\u0000${key.cohort}\u0000${key.rolloutId ?? ''}`;
  return series.sort((x, y) => (text(x) < text(y) ? -1 : text(x) > text(y) ? 1 : 0));
}
