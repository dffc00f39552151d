/**
 * Seeded simulations that reproduce statistics.md §7 within tolerance: false-alarm
 * rates under A/A with a look after every batch (looks must not inflate them), and
 * canary requests to detection for the headline effects. Requests are simulated one by
 * one with the package's PRNG and the tests are evaluated from counts only, as the gate
 * does. Sized to run in a few seconds.
 */
import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../prng.js';
import type { BucketCounts } from './buckets.js';
import { latencyLogEValue, prepareLatencyReference } from './latency.js';
import { rateLogEValue, rateTest } from './rate.js';
import { sampleRatioTest } from './srm.js';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 === 1
    ? (sorted[Math.floor(middle)] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * Canary requests until T-RATE rejects, with canary and control at 1:1 and a look
 * every `lookEvery` requests; `Infinity` if it never does within `maxCanary`.
 */
function rateDetection(
  rng: Rng,
  options: { p0: number; p1: number; alpha: number; lookEvery: number; maxCanary: number; full?: boolean },
): number {
  const routing = rng.fork('routing');
  const outcome = rng.fork('outcome');
  let canary = 0;
  let canaryEvents = 0;
  let totalEvents = 0;
  for (let request = 1; canary < options.maxCanary; request += 1) {
    const isCanary = routing.next() < 0.5;
    if (isCanary) canary += 1;
    if (outcome.next() < (isCanary ? options.p1 : options.p0)) {
      totalEvents += 1;
      if (isCanary) canaryEvents += 1;
    }
    if (request % options.lookEvery === 0) {
      const epochs = [{ rho0: 0.5, canaryEvents, totalEvents }];
      // The full test (with bounds) decides exactly like the cheap path; use it where runs are short.
      const reject = options.full
        ? rateTest({ epochs, alpha: options.alpha }).reject
        : rateLogEValue(epochs) >= Math.log(1 / options.alpha);
      if (reject) return canary;
    }
  }
  return Number.POSITIVE_INFINITY;
}

describe('T-RATE simulations', () => {
  it('keeps the A/A false-alarm rate below alpha with a look after every event', () => {
    // Under H0 only the labels of adverse events matter: each is a canary one with
    // probability ρ0, whatever the base rate. Looking after every event is the most
    // frequent cadence possible.
    const alpha = 0.05;
    for (const rho0 of [0.5, 0.2]) {
      const rng = createRng(`rate-aa-${rho0}`);
      const runs = 1000;
      let alarms = 0;
      for (let run = 0; run < runs; run += 1) {
        const labels = rng.fork(`run-${run}`);
        let canaryEvents = 0;
        for (let totalEvents = 1; totalEvents <= 300; totalEvents += 1) {
          if (labels.next() < rho0) canaryEvents += 1;
          if (rateLogEValue([{ rho0, canaryEvents, totalEvents }]) >= Math.log(1 / alpha)) {
            alarms += 1;
            break;
          }
        }
      }
      expect(alarms / runs).toBeLessThanOrEqual(alpha);
      // Not vacuous: the test does spend a good part of its budget.
      expect(alarms / runs).toBeGreaterThan(alpha / 10);
    }
  });

  it('detects tool success 95% → 90% in a median of ≈ 586 canary requests at α = 0.01', () => {
    const rng = createRng('rate-tool');
    const detections = Array.from({ length: 200 }, (_, run) =>
      rateDetection(rng.fork(`run-${run}`), { p0: 0.05, p1: 0.1, alpha: 0.01, lookEvery: 10, maxCanary: 6000 }),
    );
    const found = median(detections);
    expect(found).toBeGreaterThan(586 * 0.8);
    expect(found).toBeLessThan(586 * 1.2);
    expect(detections.filter(Number.isFinite).length / detections.length).toBeGreaterThan(0.97);
  });

  it('detects errors 1% → 20% in a median of ≈ 58 canary requests at α = 0.01', () => {
    const rng = createRng('rate-error-break');
    const detections = Array.from({ length: 200 }, (_, run) =>
      rateDetection(rng.fork(`run-${run}`), {
        p0: 0.01,
        p1: 0.2,
        alpha: 0.01,
        lookEvery: 4,
        maxCanary: 2000,
        full: true,
      }),
    );
    const found = median(detections);
    expect(found).toBeGreaterThan(58 * 0.8);
    expect(found).toBeLessThan(58 * 1.2);
  });
});

// DDSketch-like log buckets (relative accuracy 2%) covering the latency range.
const GAMMA = 1.02 / 0.98;
const LOG_GAMMA = Math.log(GAMMA);
const MIN_KEY = Math.floor(Math.log(1500 * Math.exp(-6)) / LOG_GAMMA);
const MAX_KEY = Math.ceil(Math.log(1500 * 1.2 * Math.exp(6)) / LOG_GAMMA);
const BUCKETS = MAX_KEY - MIN_KEY + 1;

function bucketOf(latencyMillis: number): number {
  const key = Math.ceil(Math.log(latencyMillis) / LOG_GAMMA);
  return Math.min(Math.max(key, MIN_KEY), MAX_KEY) - MIN_KEY;
}

/** Stable traffic's frozen reference: 2,000 requests of 1500·e^Z ms. */
function stableReference(rng: Rng): BucketCounts {
  const counts = new Array<number>(BUCKETS).fill(0);
  for (let i = 0; i < 2000; i += 1) {
    const b = bucketOf(1500 * Math.exp(rng.normal()));
    counts[b] = (counts[b] ?? 0) + 1;
  }
  return counts.map((count, b) => ({ upper: GAMMA ** (b + MIN_KEY), count }));
}

/**
 * Canary requests until T-LAT rejects (1:1 routing, a look every `lookEvery` requests),
 * through the cheap path `latencyLogEValue`, which latency.test.ts checks against
 * `latencyTest`.
 */
function latencyDetection(
  rng: Rng,
  options: { factor: number; alpha: number; lookEvery: number; maxCanary: number },
): number {
  const prepared = prepareLatencyReference({ reference: stableReference(rng.fork('reference')) });
  const logBoundary = Math.log(1 / options.alpha);
  const routing = rng.fork('routing');
  const latency = rng.fork('latency');
  const canary = new Array<number>(BUCKETS).fill(0);
  const control = new Array<number>(BUCKETS).fill(0);
  let canaryRequests = 0;
  for (let request = 1; canaryRequests < options.maxCanary; request += 1) {
    const isCanary = routing.next() < 0.5;
    const value = 1500 * Math.exp(latency.normal()) * (isCanary ? options.factor : 1);
    const counts = isCanary ? canary : control;
    const b = bucketOf(value);
    counts[b] = (counts[b] ?? 0) + 1;
    if (isCanary) canaryRequests += 1;
    if (request % options.lookEvery === 0) {
      if (latencyLogEValue(prepared, [{ rho0: 0.5, canary, control }]) >= logBoundary) return canaryRequests;
    }
  }
  return Number.POSITIVE_INFINITY;
}

describe('T-LAT simulations', () => {
  it('keeps the A/A false-alarm rate below alpha with frequent looks', () => {
    const rng = createRng('latency-aa');
    const alpha = 0.05;
    const runs = 200;
    let alarms = 0;
    for (let run = 0; run < runs; run += 1) {
      const found = latencyDetection(rng.fork(`run-${run}`), { factor: 1, alpha, lookEvery: 40, maxCanary: 1000 });
      if (Number.isFinite(found)) alarms += 1;
    }
    // Ville's bound holds for every run length; at this size the observed rate is ≈ 0.3%.
    expect(alarms / runs).toBeLessThanOrEqual(alpha);
  });

  it('detects latency ×1.2 in a median of ≈ 801 canary requests at α = 0.01', () => {
    const rng = createRng('latency-shift');
    const detections = Array.from({ length: 100 }, (_, run) =>
      latencyDetection(rng.fork(`run-${run}`), { factor: 1.2, alpha: 0.01, lookEvery: 20, maxCanary: 4000 }),
    );
    const found = median(detections);
    expect(found).toBeGreaterThan(801 * 0.75);
    expect(found).toBeLessThan(801 * 1.25);
    expect(detections.filter(Number.isFinite).length / detections.length).toBeGreaterThan(0.95);
  });
});

describe('SRM simulations', () => {
  function srmAlarm(rng: Rng, canaryShare: number, requests: number): number {
    const routing = rng.fork('routing');
    const counts = { canary: 0, control: 0 };
    for (let request = 1; request <= requests; request += 1) {
      if (routing.next() < canaryShare) counts.canary += 1;
      else counts.control += 1;
      if (request % 50 === 0 && sampleRatioTest({ epochs: [{ split: { canary: 1, control: 1 }, counts }] }).reject) {
        return request;
      }
    }
    return Number.POSITIVE_INFINITY;
  }

  it('fires on a 60/40 split configured as 50/50', () => {
    const rng = createRng('srm-60-40');
    const alarms = Array.from({ length: 100 }, (_, run) => srmAlarm(rng.fork(`run-${run}`), 0.6, 3000));
    expect(alarms.every(Number.isFinite)).toBe(true);
    expect(median(alarms)).toBeLessThan(1500);
  });

  it('stays quiet on the configured split at α = 0.001', () => {
    const rng = createRng('srm-50-50');
    const alarms = Array.from({ length: 200 }, (_, run) => srmAlarm(rng.fork(`run-${run}`), 0.5, 5000));
    // Expected at most 0.2 false alarms in 200 runs.
    expect(alarms.filter(Number.isFinite).length).toBeLessThanOrEqual(1);
  });
});
