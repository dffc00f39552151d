import { describe, expect, it } from 'vitest';
import { createRng, hashString32, splitmix32, zipfSampler } from './prng.js';

describe('createRng', () => {
  it('is reproducible from its seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const first = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(first);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(first);
    expect(createRng('scenario').next()).toBe(createRng(hashString32('scenario')).next());
  });

  it('draws uniforms in [0, 1) with the right moments', () => {
    const rng = createRng(7);
    const n = 100_000;
    let sum = 0;
    let sumSquares = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i += 1) {
      const u = rng.next();
      sum += u;
      sumSquares += u * u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(sum / n).toBeCloseTo(0.5, 2);
    expect(sumSquares / n - (sum / n) ** 2).toBeCloseTo(1 / 12, 2);
  });

  it('draws standard normals, exponentials and bounded integers', () => {
    const rng = createRng(11);
    const n = 50_000;
    let sum = 0;
    let sumSquares = 0;
    let beyond = 0;
    let exponentialSum = 0;
    const histogram = new Array<number>(6).fill(0);
    for (let i = 0; i < n; i += 1) {
      const z = rng.normal();
      sum += z;
      sumSquares += z * z;
      if (Math.abs(z) > 1.96) beyond += 1;
      exponentialSum += rng.exponential(4);
      const k = rng.int(6);
      histogram[k] = (histogram[k] ?? 0) + 1;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(sumSquares / n).toBeCloseTo(1, 1);
    expect(beyond / n).toBeCloseTo(0.05, 2);
    expect(exponentialSum / n).toBeCloseTo(0.25, 2);
    for (const count of histogram) expect(Math.abs(count / n - 1 / 6)).toBeLessThan(0.01);
  });

  it('forks independent sub-streams that do not depend on the parent’s consumption', () => {
    const parent = createRng(5);
    const before = parent.fork('routing').next();
    for (let i = 0; i < 100; i += 1) parent.next();
    expect(parent.fork('routing').next()).toBe(before);
    expect(parent.fork('latency').next()).not.toBe(before);
    expect(createRng(6).fork('routing').next()).not.toBe(before);
  });

  it('splitmix32 yields 32-bit unsigned integers', () => {
    const next = splitmix32(0);
    for (let i = 0; i < 100; i += 1) {
      const value = next();
      expect(Number.isInteger(value) && value >= 0 && value < 2 ** 32).toBe(true);
    }
  });
});

describe('zipfSampler', () => {
  it('samples ranks with probability ∝ 1/(r+1)^s', () => {
    const sample = zipfSampler(10, 1.1);
    const rng = createRng(3);
    const counts = new Array<number>(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i += 1) {
      const rank = sample(rng);
      counts[rank] = (counts[rank] ?? 0) + 1;
    }
    const normaliser = Array.from({ length: 10 }, (_, r) => (r + 1) ** -1.1).reduce((a, b) => a + b, 0);
    counts.forEach((count, r) => {
      expect(Math.abs(count / n - (r + 1) ** -1.1 / normaliser)).toBeLessThan(0.005);
    });
  });

  it('rejects invalid parameters', () => {
    expect(() => zipfSampler(0, 1)).toThrow(/size/);
    expect(() => zipfSampler(10, -1)).toThrow(/exponent/);
  });
});
