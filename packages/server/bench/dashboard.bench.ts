/**
 * What an open dashboard page costs the server on a long rollout: a rollout of two hours
 * with a gate tick every 5 s (1 440 evaluations of 14 checks each, evidence shaped like the
 * real gate's) in a SQLite store, served by `startServer({ dashboard })` on loopback. Each
 * poll of the rollout page either builds its document (store read, report data, thinned
 * series, JSON) or, when nothing changed, answers from the cache or with 304. Compared
 * with the full report data the page would carry without thinning, and the static report.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import type { CheckEvidence } from '@agent-canary/gate';
import { gateResult, ScriptedGate } from '@agent-canary/gate/testing';
import { buildReportData, renderReportHtml, startServer, storeReportSource } from '../src/index.js';

const EVALUATIONS = 1440;
const TICK_MILLIS = 5000;
const CHECKS = [
  'latency_p99',
  'error_rate',
  'tool_success_rate',
  'refusal_rate',
  'thumbs_down_rate',
  'similarity',
  'toxicity',
  'tool_mix',
  'response_length',
  'sample_ratio',
];
const ROUNDS = 5;

function evidence(n: number): CheckEvidence[] {
  return CHECKS.flatMap((check, index) => {
    const value = 0.02 + 0.001 * Math.sin(n / 7 + index);
    const sequential: CheckEvidence = {
      check,
      method: index === 7 || index === 8 ? 'drift' : 'sequential',
      verdict: 'pass',
      unit: 'subject',
      measurements: [
        { cohort: 'canary', value, samples: 40 * n },
        { cohort: 'control', value: 0.02, samples: 40 * n },
      ],
      statistic: { eValue: 0.5 + Math.abs(Math.sin(n / 30 + index)), boundary: 400, alpha: 0.0025 },
      effect: { name: 'relative_risk', value: value / 0.02, lower: 0.8, upper: 1.3 },
      reason: `${check}: canary ${(value * 100).toFixed(2)}% vs control 2.00% over ${40 * n} subjects; E=0.9 below 1/α=400.`,
    };
    // Four checks also have an absolute limit, as the real gate's rate checks do.
    if (index > 3) return [sequential];
    return [
      sequential,
      {
        ...sequential,
        method: 'threshold',
        unit: 'request',
        threshold: { operator: '<', value: 0.05 },
        reason: `${check}: ${(value * 100).toFixed(2)}% below the 5% limit.`,
      },
    ];
  });
}

interface LongRollout {
  readonly id: string;
  readonly store: RolloutStore;
  /** One more gate evaluation, 5 s of virtual time later. */
  tick(): Promise<void>;
  now(): number;
}

/** A store at `path` holding a two-hour rollout, still running, and its controller. */
async function seed(path: string): Promise<LongRollout> {
  const store = new RolloutStore({ path });
  let now = Date.UTC(2026, 0, 15, 9, 0, 0);
  const clock = () => now;
  const controller = new RolloutController({
    store,
    routing: new InMemoryRoutingAdapter(clock),
    gate: new ScriptedGate((n) => gateResult({ verdict: 'pass', checks: evidence(n), promotionReady: false })),
    clock,
    env: {},
  });
  const status = await controller.start({
    id: 'long-rollout',
    flagKey: 'agent',
    canaryRelease: 'v2',
    stableRelease: 'v1',
    steps: [{ percent: 5, minDurationMillis: 10 * 3_600_000 }, { percent: 100 }],
    maxDurationMillis: 24 * 3_600_000,
  });
  const tick = async () => {
    now += TICK_MILLIS;
    await controller.tick();
  };
  for (let count = 0; count < EVALUATIONS; count++) await tick();
  return { id: status.rolloutId, store, tick, now: clock };
}

function get(port: number, path: string, etag?: string): Promise<{ status: number; bytes: number; etag?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: etag === undefined ? {} : { 'if-none-match': etag } },
      (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            bytes,
            ...(typeof response.headers.etag === 'string' ? { etag: response.headers.etag } : {}),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

export async function run(): Promise<{ title: string; markdown: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-canary-dashboard-bench-'));
  const rollout = await seed(join(dir, 'state.db'));
  const { id, store } = rollout;
  try {
    const full = await buildReportData(storeReportSource(store), id, rollout.now());
    const fullBytes = Buffer.byteLength(JSON.stringify(full));
    const reportBytes = Buffer.byteLength(renderReportHtml(full!));
    const server = await startServer({ port: 0, dashboard: { store, clock: rollout.now }, env: {} });
    try {
      const path = `/dashboard/api/rollouts/${id}`;
      let started = performance.now();
      const first = await get(server.port, path);
      const coldMillis = performance.now() - started;
      const updated: number[] = [];
      const cached: number[] = [];
      const notModified: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        await rollout.tick();
        started = performance.now();
        const answer = await get(server.port, path);
        updated.push(performance.now() - started);
        started = performance.now();
        await get(server.port, path);
        cached.push(performance.now() - started);
        started = performance.now();
        const again = await get(server.port, path, answer.etag);
        notModified.push(performance.now() - started);
        if (again.status !== 304) throw new Error(`expected 304, got ${again.status}`);
      }
      started = performance.now();
      await get(server.port, '/dashboard/api/rollouts');
      const listMillis = performance.now() - started;
      const markdown = `
| | value |
|---|---|
| evaluations in the rollout (14 checks each) | ${EVALUATIONS} |
| rollout page document (series thinned to ≤ 300 points) | ${kib(first.bytes)} |
| the same without thinning (full report data) | ${kib(fullBytes)} |
| static report file | ${kib(reportBytes)} |
| first poll of the page (every verdict read) | ${coldMillis.toFixed(0)} ms |
| poll after a new evaluation (new verdicts read, document rebuilt), median of ${ROUNDS} | ${median(updated).toFixed(0)} ms |
| poll of an unchanged rollout (from the cache) | ${median(cached).toFixed(1)} ms |
| poll answered 304 Not Modified | ${median(notModified).toFixed(1)} ms |
| rollout list | ${listMillis.toFixed(1)} ms |

A page polls every 2 s. A rollout's document is built once per version (its record, its
latest verdict, its pending routing writes, and for a running one the time in 5 s steps)
and shared by every open tab; a page that has the current version gets 304. The first
read parses every stored verdict; later ones read only the verdicts stored since.
`;
      return { title: 'Dashboard: cost of a rollout page poll', markdown };
    } finally {
      await server.shutdown();
    }
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
