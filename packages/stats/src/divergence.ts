import { type CategoryCounts, countsOf } from './categorical.js';
import type { QuantileSketch } from './sketch.js';

/*
 * Effect sizes between two distributions. None of these is anytime-valid (statistics.md
 * §1): the gate uses them to say how much something moved, and the sequential tests to
 * decide whether it moved at all.
 */

/** Options of {@link populationStabilityIndex}. */
export interface PsiOptions {
  /**
   * Share substituted for an empty category on either side, so a category present on one
   * side only gives a large but finite term.
   * @default 0.0001
   */
  readonly epsilon?: number;
}

/** Defaults of {@link PsiOptions}. */
export const PSI_DEFAULTS: Readonly<Required<PsiOptions>> = Object.freeze({ epsilon: 1e-4 });

/** Result of {@link chiSquare}: Pearson's statistic of the 2×K table and its degrees of freedom. */
export interface ChiSquareResult {
  readonly statistic: number;
  readonly degreesOfFreedom: number;
}

/** Distances between two sketched distributions (see {@link sketchDistances}). */
export interface SketchDistances {
  /** Kolmogorov–Smirnov distance: sup |F_ref − F_cur| over the bucket edges (0..1). */
  readonly ks: number;
  /** Wasserstein-1 distance, in the unit of the values: Σ |ΔF(b)|·(b⁺ − b). */
  readonly wasserstein1: number;
  /** `wasserstein1` divided by the reference mean (NaN when that mean is 0). */
  readonly wasserstein1Normalised: number;
  readonly referenceCount: number;
  readonly currentCount: number;
}

function aligned(p: CategoryCounts, q: CategoryCounts): { names: string[]; pc: number[]; qc: number[] } {
  const a = countsOf(p);
  const b = countsOf(q);
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return { names, pc: names.map((name) => a[name] ?? 0), qc: names.map((name) => b[name] ?? 0) };
}

const sumOf = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

/**
 * Jensen–Shannon divergence between two categorical distributions, in bits (0..1; 0 when
 * identical, 1 when disjoint). NaN when either side is empty. Its square root is a metric.
 */
export function jensenShannon(p: CategoryCounts, q: CategoryCounts): number {
  const { pc, qc } = aligned(p, q);
  const pn = sumOf(pc);
  const qn = sumOf(qc);
  if (pn === 0 || qn === 0) return Number.NaN;
  let divergence = 0;
  for (let index = 0; index < pc.length; index++) {
    const pi = (pc[index] ?? 0) / pn;
    const qi = (qc[index] ?? 0) / qn;
    const mi = (pi + qi) / 2;
    if (pi > 0) divergence += 0.5 * pi * Math.log2(pi / mi);
    if (qi > 0) divergence += 0.5 * qi * Math.log2(qi / mi);
  }
  return Math.min(1, Math.max(0, divergence));
}

/**
 * Population stability index of `current` against `reference`: Σ (c − r)·ln(c / r) over
 * category shares, empty shares replaced by `epsilon`. Rule of thumb: < 0.1 stable,
 * > 0.25 major shift. NaN when either side is empty.
 */
export function populationStabilityIndex(
  reference: CategoryCounts,
  current: CategoryCounts,
  options: PsiOptions = {},
): number {
  const epsilon = options.epsilon ?? PSI_DEFAULTS.epsilon;
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`PSI epsilon must be in (0, 1), received ${epsilon}`);
  const { pc: rc, qc: cc } = aligned(reference, current);
  const rn = sumOf(rc);
  const cn = sumOf(cc);
  if (rn === 0 || cn === 0) return Number.NaN;
  let psi = 0;
  for (let index = 0; index < rc.length; index++) {
    const r = Math.max((rc[index] ?? 0) / rn, epsilon);
    const c = Math.max((cc[index] ?? 0) / cn, epsilon);
    psi += (c - r) * Math.log(c / r);
  }
  return psi;
}

/**
 * Pearson chi-square statistic of homogeneity between two samples of categories (a 2×K
 * contingency table), with K − 1 degrees of freedom over the categories seen on either
 * side. Fixed-horizon: repeated looks inflate its false alarms, so report it, do not gate on it.
 */
export function chiSquare(a: CategoryCounts, b: CategoryCounts): ChiSquareResult {
  const { pc, qc } = aligned(a, b);
  const an = sumOf(pc);
  const bn = sumOf(qc);
  const total = an + bn;
  let statistic = 0;
  let categories = 0;
  for (let index = 0; index < pc.length; index++) {
    const column = (pc[index] ?? 0) + (qc[index] ?? 0);
    if (column === 0) continue;
    categories++;
    const expectedA = (an * column) / total;
    const expectedB = (bn * column) / total;
    if (expectedA > 0) statistic += ((pc[index] ?? 0) - expectedA) ** 2 / expectedA;
    if (expectedB > 0) statistic += ((qc[index] ?? 0) - expectedB) ** 2 / expectedB;
  }
  return { statistic, degreesOfFreedom: Math.max(0, categories - 1) };
}

function assertComparable(reference: QuantileSketch, current: QuantileSketch): void {
  if (reference.config.relativeAccuracy !== current.config.relativeAccuracy) {
    throw new Error(
      `cannot compare quantile sketches with different relativeAccuracy (${reference.config.relativeAccuracy} vs ${current.config.relativeAccuracy})`,
    );
  }
}

/**
 * KS and Wasserstein-1 distances between two sketches with the same accuracy, computed
 * on the shared bucket edges, where both CDFs are exact. W1 takes each CDF as constant
 * inside a bucket, so it is exact up to one bucket width (the relative accuracy).
 * NaN everywhere when either sketch is empty.
 * @throws Error when the sketches have different relative accuracies.
 */
export function sketchDistances(reference: QuantileSketch, current: QuantileSketch): SketchDistances {
  assertComparable(reference, current);
  const referenceCount = reference.count;
  const currentCount = current.count;
  if (referenceCount === 0 || currentCount === 0) {
    return {
      ks: Number.NaN,
      wasserstein1: Number.NaN,
      wasserstein1Normalised: Number.NaN,
      referenceCount,
      currentCount,
    };
  }
  let fr = reference.zeroCount / referenceCount;
  let fc = current.zeroCount / currentCount;
  let ks = Math.abs(fr - fc);
  let w1 = 0;
  const ranges = [reference.keyRange(), current.keyRange()].filter((range) => range !== undefined);
  if (ranges.length > 0) {
    const minKey = Math.min(...ranges.map((range) => range.minKey));
    const maxKey = Math.max(...ranges.map((range) => range.maxKey));
    // Between 0 and the first occupied bucket's lower edge, only the zero buckets differ.
    w1 += Math.abs(fr - fc) * reference.edge(minKey - 1);
    for (let key = minKey; key <= maxKey; key++) {
      const width = reference.edge(key) - reference.edge(key - 1);
      // Inside bucket `key`, the CDFs are known only at its edges: take the lower one.
      w1 += Math.abs(fr - fc) * width;
      fr += reference.countAtKey(key) / referenceCount;
      fc += current.countAtKey(key) / currentCount;
      ks = Math.max(ks, Math.abs(fr - fc));
    }
  }
  const mean = reference.mean;
  return {
    ks: Math.min(1, ks),
    wasserstein1: w1,
    wasserstein1Normalised: mean > 0 ? w1 / mean : Number.NaN,
    referenceCount,
    currentCount,
  };
}

/** Kolmogorov–Smirnov distance between two sketches (see {@link sketchDistances}). */
export function ksDistance(reference: QuantileSketch, current: QuantileSketch): number {
  return sketchDistances(reference, current).ks;
}

/** Wasserstein-1 distance between two sketches (see {@link sketchDistances}). */
export function wasserstein1(reference: QuantileSketch, current: QuantileSketch): number {
  return sketchDistances(reference, current).wasserstein1;
}
