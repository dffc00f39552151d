/** Version of the {@link CategoricalSnapshot} JSON shape. */
export const CATEGORICAL_SNAPSHOT_VERSION = 1;

/** Label under which names beyond the cardinality cap are counted. */
export const OTHER_CATEGORY = 'other';

/** Plain-JSON form of a {@link CategoricalDistribution}. */
export interface CategoricalSnapshot {
  readonly v: typeof CATEGORICAL_SNAPSHOT_VERSION;
  readonly maxCategories: number;
  /** Weight per category, `other` included. */
  readonly counts: Readonly<Record<string, number>>;
}

/** Options of {@link CategoricalDistribution}. */
export interface CategoricalDistributionOptions {
  /**
   * Most distinct category names kept (the `other` bucket included); further names are
   * counted as `other`, which bounds memory whatever the input.
   * @default 50
   */
  readonly maxCategories?: number;
}

/** Defaults of {@link CategoricalDistributionOptions}. */
export const CATEGORICAL_DEFAULTS: Readonly<Required<CategoricalDistributionOptions>> = Object.freeze({
  maxCategories: 50,
});

/** Anything that gives counts per category: a distribution or a plain record. */
export type CategoryCounts = CategoricalDistribution | Readonly<Record<string, number>>;

/**
 * Counts per category name (tool names, topics, finish reasons) with a cardinality cap.
 * Merging is exact (counts add) while the union of names stays within the cap; beyond it,
 * which names fold into `other` depends on arrival order.
 *
 * @example
 * const tools = new CategoricalDistribution({ maxCategories: 20 });
 * tools.add('search');
 * tools.shares(); // { search: 1 }
 */
export class CategoricalDistribution {
  /** Resolved cap. */
  readonly maxCategories: number;
  private readonly counts = new Map<string, number>();
  private totalWeight = 0;

  constructor(options: CategoricalDistributionOptions = {}) {
    const maxCategories = options.maxCategories ?? CATEGORICAL_DEFAULTS.maxCategories;
    if (!(Number.isInteger(maxCategories) && maxCategories >= 1)) {
      throw new RangeError(`CategoricalDistribution maxCategories must be an integer >= 1, received ${maxCategories}`);
    }
    this.maxCategories = maxCategories;
  }

  /** Adds `weight` (default 1) to `name`, or to `other` when the cap is reached. Ignores weight ≤ 0. */
  add(name: string, weight = 1): void {
    if (!(weight > 0) || !Number.isFinite(weight)) return;
    const key = this.resolve(name);
    this.counts.set(key, (this.counts.get(key) ?? 0) + weight);
    this.totalWeight += weight;
  }

  /**
   * The name under which `name` is (or would be) counted: itself if known or if room is
   * left, else `other`. One slot stays free for `other`.
   */
  resolve(name: string): string {
    if (this.counts.has(name)) return name;
    const room = this.counts.has(OTHER_CATEGORY) ? this.maxCategories : this.maxCategories - 1;
    return this.counts.size < room || name === OTHER_CATEGORY ? name : OTHER_CATEGORY;
  }

  /** Adds every count of `other` (names in sorted order, so the cap folds deterministically). */
  merge(other: CategoryCounts): this {
    const entries = other instanceof CategoricalDistribution ? [...other.counts] : Object.entries(other);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [name, weight] of entries) this.add(name, weight);
    return this;
  }

  /** Weight of `name` (0 when absent). */
  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  /** Total weight. */
  get total(): number {
    return this.totalWeight;
  }

  /** Number of distinct names (including `other`). */
  get size(): number {
    return this.counts.size;
  }

  /** Counts as a plain record, names sorted. */
  toRecord(): Record<string, number> {
    const record: Record<string, number> = {};
    for (const name of [...this.counts.keys()].sort()) record[name] = this.counts.get(name) ?? 0;
    return record;
  }

  /** Share of each name in the total (sums to 1; empty when the total is 0). */
  shares(): Record<string, number> {
    const shares: Record<string, number> = {};
    if (this.totalWeight === 0) return shares;
    for (const [name, weight] of Object.entries(this.toRecord())) shares[name] = weight / this.totalWeight;
    return shares;
  }

  /** A deep copy. */
  clone(): CategoricalDistribution {
    const copy = new CategoricalDistribution({ maxCategories: this.maxCategories });
    for (const [name, weight] of this.counts) copy.counts.set(name, weight);
    copy.totalWeight = this.totalWeight;
    return copy;
  }

  /** Versioned plain-JSON form; names sorted, so equal contents give equal JSON. */
  toJSON(): CategoricalSnapshot {
    return { v: CATEGORICAL_SNAPSHOT_VERSION, maxCategories: this.maxCategories, counts: this.toRecord() };
  }

  /**
   * Rebuilds a distribution from {@link CategoricalDistribution.toJSON} output.
   * @throws TypeError when `snapshot` is not a version-1 categorical snapshot.
   */
  static fromJSON(snapshot: CategoricalSnapshot): CategoricalDistribution {
    if (snapshot === null || typeof snapshot !== 'object' || snapshot.v !== CATEGORICAL_SNAPSHOT_VERSION) {
      throw new TypeError(`not a version ${CATEGORICAL_SNAPSHOT_VERSION} categorical snapshot`);
    }
    const distribution = new CategoricalDistribution({ maxCategories: snapshot.maxCategories });
    for (const [name, weight] of Object.entries(snapshot.counts)) {
      if (typeof weight !== 'number' || !(weight >= 0)) throw new TypeError(`malformed count for category ${name}`);
      if (weight === 0) continue;
      // Restores the names as they were, even past the cap of a smaller receiving config.
      distribution.counts.set(name, weight);
      distribution.totalWeight += weight;
    }
    return distribution;
  }
}

/** Reads counts from a distribution or a plain record. */
export function countsOf(counts: CategoryCounts): Record<string, number> {
  return counts instanceof CategoricalDistribution ? counts.toRecord() : { ...counts };
}
