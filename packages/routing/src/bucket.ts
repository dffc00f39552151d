import { COHORT, type Cohort } from '@agent-canary/conventions';

/** Number of buckets: shares are basis points. */
export const BUCKET_COUNT = 10_000;

const encoder = new TextEncoder();

/**
 * MurmurHash3 x86 32-bit of the UTF-8 bytes of `key`, unsigned.
 *
 * @default seed 0 (what flagd uses)
 */
export function murmur3(key: string, seed = 0): number {
  const bytes = encoder.encode(key);
  const length = bytes.length;
  const blocks = length & ~3;
  let h = seed >>> 0;
  for (let i = 0; i < blocks; i += 4) {
    let k = (bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = bytes[blocks] ?? 0;
    if (tail >= 2) k ^= (bytes[blocks + 1] ?? 0) << 8;
    if (tail >= 3) k ^= (bytes[blocks + 2] ?? 0) << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Sticky bucket of a subject for a flag, in [0, 10000): flagd's `fractional` rule with a
 * total weight of 10 000 — MurmurHash3 (seed 0) of `flagKey + targetingKey`, then
 * `floor(hash × 10000 / 2^32)`. Every replica computes the same bucket with no shared state.
 *
 * @example
 * bucketFor('agent-release', 'user-42'); // e.g. 3127
 */
export function bucketFor(flagKey: string, targetingKey: string): number {
  // hash < 2^32 and 10000 < 2^14, so the product is exact in a double (< 2^53).
  return Math.floor((murmur3(flagKey + targetingKey) * BUCKET_COUNT) / 2 ** 32);
}

/** The shares a cohort decision needs (basis points of 10 000). */
export interface CohortShares {
  readonly canaryBasisPoints: number;
  readonly controlBasisPoints: number;
}

/**
 * Cohort of a bucket: the canary owns the lowest buckets, control the next range, stable
 * the rest. Widening the canary only moves the boundary up, so canary users stay canary.
 */
export function cohortFor(bucket: number, split: CohortShares): Cohort {
  if (bucket < split.canaryBasisPoints) return COHORT.canary;
  if (bucket < split.canaryBasisPoints + split.controlBasisPoints) return COHORT.control;
  return COHORT.stable;
}
