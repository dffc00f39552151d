/**
 * Seeded pseudo-random numbers for simulations, tests and benchmarks: `sfc32` streams
 * seeded through `splitmix32`, with named sub-streams (`fork`) so that arrivals,
 * routing and each outcome draw from independent, reproducible sequences (common
 * random numbers across scenarios). Not for anything security-related.
 */

import { StatsInputError } from './sequential/errors.js';

const TWO_POW_32 = 4_294_967_296;

/**
 * The splitmix32 generator: a 32-bit state advanced by a Weyl constant and mixed.
 * Used to turn one seed into well-spread seeds for `sfc32`.
 *
 * @returns a function returning the next unsigned 32-bit integer.
 */
export function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Chris Doty-Humphrey's Small Fast Counting generator (sfc32), 128-bit state, passes
 * PractRand. Seed it with four 32-bit words (e.g. from `splitmix32`).
 *
 * @returns a function returning the next unsigned 32-bit integer.
 */
export function sfc32(a: number, b: number, c: number, d: number): () => number {
  let s0 = a >>> 0;
  let s1 = b >>> 0;
  let s2 = c >>> 0;
  let s3 = d >>> 0;
  return () => {
    const t = (((s0 + s1) >>> 0) + s3) >>> 0;
    s3 = (s3 + 1) >>> 0;
    s0 = s1 ^ (s1 >>> 9);
    s1 = (s2 + (s2 << 3)) >>> 0;
    s2 = (s2 << 21) | (s2 >>> 11);
    s2 = (s2 + t) >>> 0;
    return t;
  };
}

/**
 * 32-bit FNV-1a hash of a string (UTF-16 code units), for deriving seeds from labels
 * such as scenario names: `createRng(hashString32('E1') ^ run)`.
 */
export function hashString32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A seeded random stream (see `createRng`). */
export interface Rng {
  /** The 32-bit seed this stream was created from (forks derive theirs from it). */
  readonly seed: number;
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number;
  /** Standard normal N(0, 1) by Box–Muller, one pair of uniforms per call (no caching, so draws stay aligned across scenarios). */
  normal(): number;
  /** Uniform integer in [0, n); `n` must be a positive integer ≤ 2^32. */
  int(n: number): number;
  /** Exponential with the given rate (mean 1/rate), e.g. Poisson inter-arrival times. */
  exponential(rate: number): number;
  /**
   * An independent stream named by `label`. It depends only on this stream's seed and
   * the label, not on how many numbers were drawn, so adding draws to one sub-stream
   * never shifts another.
   */
  fork(label: string): Rng;
}

/**
 * Creates a seeded stream: `sfc32` seeded by four `splitmix32` outputs of the seed
 * (a string seed is hashed with `hashString32`).
 *
 * @example
 * const rng = createRng(42);
 * const routing = rng.fork('routing');
 * const isCanary = routing.next() < 0.05;
 */
export function createRng(seed: number | string): Rng {
  const seed32 = typeof seed === 'string' ? hashString32(seed) : seed >>> 0;
  const mixer = splitmix32(seed32);
  const nextUint32 = sfc32(mixer(), mixer(), mixer(), mixer());
  // The first outputs of sfc32 are weakly mixed; discard them as its author recommends.
  for (let i = 0; i < 12; i += 1) nextUint32();
  const next = (): number => nextUint32() / TWO_POW_32;
  return {
    seed: seed32,
    next,
    normal() {
      // 1 − u lies in (0, 1], so the log is finite.
      const radius = Math.sqrt(-2 * Math.log(1 - next()));
      return radius * Math.cos(2 * Math.PI * next());
    },
    int(n: number) {
      return Math.floor(next() * n);
    },
    exponential(rate: number) {
      return -Math.log(1 - next()) / rate;
    },
    fork(label: string) {
      return createRng(splitmix32(seed32 ^ hashString32(label))());
    },
  };
}

/**
 * A Zipf(s) sampler over ranks 0..size−1 (rank r drawn with probability ∝ 1/(r+1)^s),
 * by inversion of a precomputed CDF: O(size) setup, O(log size) per draw. Used for
 * skewed user populations (e.g. 2,000 users at s = 1.1).
 *
 * @example
 * const user = zipfSampler(2000, 1.1);
 * const id = user(rng); // 0 is the most active user
 */
export function zipfSampler(size: number, exponent: number): (rng: Rng) => number {
  if (!Number.isInteger(size) || size < 1) {
    throw new StatsInputError({ path: 'size', expected: 'a positive integer', received: size });
  }
  if (typeof exponent !== 'number' || !(exponent >= 0) || !Number.isFinite(exponent)) {
    throw new StatsInputError({ path: 'exponent', expected: 'a finite number ≥ 0', received: exponent });
  }
  const cdf = new Float64Array(size);
  let total = 0;
  for (let rank = 0; rank < size; rank += 1) {
    total += (rank + 1) ** -exponent;
    cdf[rank] = total;
  }
  for (let rank = 0; rank < size; rank += 1) cdf[rank] = (cdf[rank] ?? 0) / total;
  return (rng: Rng) => {
    const u = rng.next();
    let low = 0;
    let high = size - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((cdf[mid] ?? 1) > u) high = mid;
      else low = mid + 1;
    }
    return low;
  };
}
