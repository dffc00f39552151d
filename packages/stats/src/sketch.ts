import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';

/** Version of the {@link SketchSnapshot} JSON shape. */
export const SKETCH_SNAPSHOT_VERSION = 1;

/**
 * Plain-JSON form of a {@link QuantileSketch}. Bins are the counts of consecutive
 * mapping keys starting at `offset` (key `k` holds values in `(γ^(k-1), γ^k]`), trimmed to
 * the occupied range. `min` and `max` are `null` when the sketch is empty.
 */
export interface SketchSnapshot {
  readonly v: typeof SKETCH_SNAPSHOT_VERSION;
  readonly relativeAccuracy: number;
  readonly binLimit: number;
  readonly offset: number;
  readonly bins: readonly number[];
  readonly zeroCount: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number | null;
  readonly max: number | null;
}

/** Options of {@link QuantileSketch}. */
export interface QuantileSketchOptions {
  /**
   * Relative error guaranteed at every quantile (0..1, exclusive). Only sketches with the
   * same accuracy merge.
   * @default 0.01
   */
  readonly relativeAccuracy?: number;
  /**
   * Maximum number of bins; beyond it the lowest bins collapse (high quantiles stay exact).
   * @default 2048
   */
  readonly binLimit?: number;
}

/** Resolved {@link QuantileSketchOptions}. */
export interface QuantileSketchConfig {
  readonly relativeAccuracy: number;
  readonly binLimit: number;
}

/** Defaults of {@link QuantileSketchOptions}. */
export const QUANTILE_SKETCH_DEFAULTS: QuantileSketchConfig = Object.freeze({ relativeAccuracy: 0.01, binLimit: 2048 });

/** One bucket of a sketch: `count` values lie in `(lower, upper]` (the zero bucket is `[0, 0]`). */
export interface SketchBucket {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
}

type Inner = LogCollapsingLowestDenseDDSketch;

/**
 * Mergeable quantile sketch of non-negative values (durations, lengths, scores), a thin
 * wrapper over DDSketch (`LogCollapsingLowestDenseDDSketch` of `@datadog/sketches-js`).
 *
 * Values must be ≥ 0: negative values are clamped to 0 (a negative duration is clock skew)
 * and non-finite values are ignored; `add` returns false when it ignored or clamped a
 * value, so a caller on a telemetry path can report it. Only the positive store is used,
 * which also sidesteps the library's merge, which drops negative values.
 *
 * Merges are exact (bin counts add) while the occupied range spans fewer than `binLimit`
 * buckets: a ratio max/min of about 6·10^17 at the default accuracy. Past it the lowest
 * buckets collapse, and which values collapse depends on arrival order (low quantiles only).
 *
 * @example
 * const sketch = new QuantileSketch();
 * for (const ms of latencies) sketch.add(ms);
 * sketch.quantile(0.99);
 */
export class QuantileSketch {
  /** Resolved configuration. */
  readonly config: QuantileSketchConfig;
  private readonly inner: Inner;

  constructor(options: QuantileSketchOptions = {}) {
    const relativeAccuracy = options.relativeAccuracy ?? QUANTILE_SKETCH_DEFAULTS.relativeAccuracy;
    const binLimit = options.binLimit ?? QUANTILE_SKETCH_DEFAULTS.binLimit;
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
      throw new RangeError(`QuantileSketch relativeAccuracy must be in (0, 1), received ${relativeAccuracy}`);
    }
    if (!(Number.isInteger(binLimit) && binLimit >= 16)) {
      throw new RangeError(`QuantileSketch binLimit must be an integer >= 16, received ${binLimit}`);
    }
    this.config = Object.freeze({ relativeAccuracy, binLimit });
    this.inner = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy, binLimit });
  }

  /**
   * Adds `value` with `weight` (default 1). Returns false when the value was ignored
   * (non-finite, or weight ≤ 0) or clamped (negative, recorded as 0).
   */
  add(value: number, weight = 1): boolean {
    if (!Number.isFinite(value) || !(weight > 0) || !Number.isFinite(weight)) return false;
    if (value < 0) {
      this.inner.accept(0, weight);
      return false;
    }
    this.inner.accept(value, weight);
    return true;
  }

  /**
   * Adds every value of `other` into this sketch.
   * @throws Error when the two sketches have different relative accuracies.
   */
  merge(other: QuantileSketch): this {
    if (other.config.relativeAccuracy !== this.config.relativeAccuracy) {
      throw new Error(
        `cannot merge quantile sketches with different relativeAccuracy (${this.config.relativeAccuracy} vs ${other.config.relativeAccuracy})`,
      );
    }
    if (other.inner.count === 0) return this;
    widenStoreRange(this.inner.store, other.inner.store);
    this.inner.merge(other.inner);
    return this;
  }

  /** Number of values (sum of weights). */
  get count(): number {
    return this.inner.count;
  }

  /** Sum of the values (weighted). */
  get sum(): number {
    return this.inner.sum;
  }

  /** Smallest value, or NaN when empty. */
  get min(): number {
    return this.inner.count === 0 ? Number.NaN : this.inner.min;
  }

  /** Largest value, or NaN when empty. */
  get max(): number {
    return this.inner.count === 0 ? Number.NaN : this.inner.max;
  }

  /** Mean of the values, or NaN when empty. */
  get mean(): number {
    return this.inner.count === 0 ? Number.NaN : this.inner.sum / this.inner.count;
  }

  /**
   * Value at quantile `q` (0..1), within the relative accuracy of the true value and
   * clamped to [min, max]; NaN when empty or when q is out of range.
   */
  quantile(q: number): number {
    if (this.inner.count === 0 || !(q >= 0 && q <= 1)) return Number.NaN;
    const value = this.inner.getValueAtQuantile(q);
    return Math.min(Math.max(value, this.inner.min), this.inner.max);
  }

  /**
   * Fraction of values ≤ `x`. Exact when `x` is a bucket edge (see {@link buckets});
   * between edges, the bucket containing `x` counts as fully above it.
   */
  cdf(x: number): number {
    const total = this.inner.count;
    if (total === 0) return Number.NaN;
    if (x < 0) return 0;
    let below = this.inner.zeroCount;
    const store = this.inner.store;
    if (store.count > 0 && x > this.inner.mapping.minPossible) {
      const lastKey = Math.min(this.inner.mapping.key(x), store.maxKey);
      // A value equal to γ^k maps to key k, so key(x) itself is fully ≤ x only at an edge.
      const edge = this.edge(lastKey);
      const through = edge <= x ? lastKey : lastKey - 1;
      for (let key = store.minKey; key <= through; key++) below += store.bins[key - store.offset] ?? 0;
    }
    return Math.min(1, below / total);
  }

  /**
   * Occupied buckets in ascending order, with exact edges from the sketch's mapping:
   * `count` values lie in `(lower, upper]`, `upper = γ^k`, `lower = γ^(k-1)`. Values at
   * or near zero form a first bucket `{ lower: 0, upper: 0 }`.
   */
  buckets(): SketchBucket[] {
    const result: SketchBucket[] = [];
    if (this.inner.zeroCount > 0) result.push({ lower: 0, upper: 0, count: this.inner.zeroCount });
    const store = this.inner.store;
    if (store.count === 0) return result;
    for (let key = store.minKey; key <= store.maxKey; key++) {
      const count = store.bins[key - store.offset] ?? 0;
      if (count > 0) result.push({ lower: this.edge(key - 1), upper: this.edge(key), count });
    }
    return result;
  }

  /**
   * Upper edge `γ^key` of the bucket with the given mapping key (values in
   * `(edge(key-1), edge(key)]` map to `key`).
   */
  edge(key: number): number {
    // The runtime mapping is the library's LogarithmicMapping; its own power function is the
    // exact inverse of its `key`, which is what makes the CDF exact at these edges.
    return (this.inner.mapping as unknown as { _powGamma(exponent: number): number })._powGamma(key);
  }

  /** Mapping key of a positive value (for aligning two sketches' buckets). */
  keyOf(value: number): number {
    return this.inner.mapping.key(value);
  }

  /** Number of values in the bucket with mapping `key`. */
  countAtKey(key: number): number {
    const store = this.inner.store;
    if (store.count === 0 || key < store.minKey || key > store.maxKey) return 0;
    return store.bins[key - store.offset] ?? 0;
  }

  /** Lowest and highest occupied mapping keys, or undefined when no positive value was added. */
  keyRange(): { readonly minKey: number; readonly maxKey: number } | undefined {
    const store = this.inner.store;
    return store.count === 0 ? undefined : { minKey: store.minKey, maxKey: store.maxKey };
  }

  /** Weight of the values recorded as zero. */
  get zeroCount(): number {
    return this.inner.zeroCount;
  }

  /**
   * Releases the spare capacity of the bin array (it grows in chunks of 128): call it on a
   * sketch that will mostly be read from now on, e.g. a closed time bucket. Contents,
   * quantiles and later adds are unaffected.
   */
  compact(): this {
    const store = this.inner.store;
    if (store.count === 0) return this;
    const from = store.minKey - store.offset;
    const to = store.maxKey - store.offset + 1;
    if (from === 0 && to === store.bins.length) return this;
    store.bins = store.bins.slice(from, to);
    store.offset = store.minKey;
    return this;
  }

  /** A deep copy. */
  clone(): QuantileSketch {
    return new QuantileSketch(this.config).merge(this);
  }

  /** Versioned plain-JSON form (see {@link SketchSnapshot}); canonical: equal contents give equal JSON. */
  toJSON(): SketchSnapshot {
    const store = this.inner.store;
    const empty = this.inner.count === 0;
    const bins: number[] = [];
    if (store.count > 0) {
      for (let key = store.minKey; key <= store.maxKey; key++) bins.push(store.bins[key - store.offset] ?? 0);
    }
    return {
      v: SKETCH_SNAPSHOT_VERSION,
      relativeAccuracy: this.config.relativeAccuracy,
      binLimit: this.config.binLimit,
      offset: store.count > 0 ? store.minKey : 0,
      bins,
      zeroCount: this.inner.zeroCount,
      count: this.inner.count,
      sum: this.inner.sum,
      min: empty ? null : this.inner.min,
      max: empty ? null : this.inner.max,
    };
  }

  /**
   * Rebuilds a sketch from {@link QuantileSketch.toJSON} output.
   * @throws TypeError when `snapshot` is not a version-1 sketch snapshot.
   */
  static fromJSON(snapshot: SketchSnapshot): QuantileSketch {
    if (snapshot === null || typeof snapshot !== 'object' || snapshot.v !== SKETCH_SNAPSHOT_VERSION) {
      throw new TypeError(`not a version ${SKETCH_SNAPSHOT_VERSION} sketch snapshot`);
    }
    const { offset, bins, zeroCount, count, sum } = snapshot;
    if (!Number.isInteger(offset) || !Array.isArray(bins) || !(zeroCount >= 0) || !(count >= 0)) {
      throw new TypeError('malformed sketch snapshot: offset, bins, zeroCount or count');
    }
    const sketch = new QuantileSketch({ relativeAccuracy: snapshot.relativeAccuracy, binLimit: snapshot.binLimit });
    const inner = sketch.inner;
    const last = bins.length - 1;
    if (last >= 0) {
      // Extend the range once (both ends) before filling, instead of growing bin by bin.
      inner.store.add(offset, bins[0] ?? 0);
      if (last > 0) inner.store.add(offset + last, bins[last] ?? 0);
      for (let index = 1; index < last; index++) {
        const weight = bins[index] ?? 0;
        if (weight !== 0) inner.store.add(offset + index, weight);
      }
    }
    inner.zeroCount = zeroCount;
    inner.count = count;
    inner.sum = sum;
    inner.min = snapshot.min ?? Number.POSITIVE_INFINITY;
    inner.max = snapshot.max ?? Number.NEGATIVE_INFINITY;
    return sketch;
  }
}

/** The part of `@datadog/sketches-js`'s dense store that {@link widenStoreRange} needs. */
interface DenseStoreRange {
  readonly count: number;
  readonly minKey: number;
  readonly maxKey: number;
  _extendRange(key: number, secondKey?: number): void;
}

/**
 * Grows `target`'s key range to cover `source`'s before a merge. The library's own merge
 * widens with `_extendRange(minKey, maxKey)`, which reads a `maxKey` of 0 (values in
 * (0.98, 1]: similarity scores of 1) as "absent" and then drops that bucket's counts;
 * extending one key at a time avoids it.
 */
function widenStoreRange(target: unknown, source: unknown): void {
  const into = target as DenseStoreRange;
  const from = source as DenseStoreRange;
  if (from.count === 0 || into.count === 0) return;
  if (from.minKey < into.minKey) into._extendRange(from.minKey);
  if (from.maxKey > into.maxKey) into._extendRange(from.maxKey);
}
