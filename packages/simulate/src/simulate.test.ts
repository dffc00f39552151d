import { ConfigError } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { GATE } from './gates.js';
import { renderPlotSvg } from './plot.js';
import { formatTable, wilsonInterval } from './report.js';
import { simulateRun } from './run.js';
import { SCENARIOS } from './scenarios.js';
import { runSimulation } from './simulate.js';

const scenario = (id: string) => {
  const found = SCENARIOS.find((s) => s.id === id);
  if (!found) throw new Error(id);
  return found;
};

describe('runSimulation', () => {
  it('is deterministic: the same seed gives the same report', async () => {
    const options = {
      seed: 7,
      runs: 2,
      scenarios: ['aa', 'hard-break'],
      horizonCanaryRequests: 1500,
      workers: 1,
    } as const;
    const first = await runSimulation(options);
    const second = await runSimulation(options);
    expect(second).toEqual(first);
    const other = await runSimulation({ ...options, seed: 8 });
    expect(other).not.toEqual(first);
    expect(first.gateEvaluations).toBeGreaterThan(0);
    const table = formatTable(first);
    expect(table).toContain('error 1% → 20% (hard break)');
    expect(table).toContain(first.scenarios[0]?.gates[0]?.label ?? '?');
    const svg = renderPlotSvg(first);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('hard break');
    // A/A scenarios have nothing to detect: no group of their own in the plot.
    expect(svg).not.toContain('font-weight="bold">A/A<');
    expect(svg).toContain('A/A 0'); // our gate's false-rollback rate beside its dots
  });

  it('validates its options, naming the field', async () => {
    await expect(runSimulation({ seed: 1, scenarios: ['nope'] })).rejects.toThrow(ConfigError);
    await expect(runSimulation({ seed: 1, runs: 0 })).rejects.toThrow(/runs/);
  });
});

describe('simulateRun', () => {
  it('runs our gate through createGate: every evaluation reads the metric source', async () => {
    const results = await Promise.all(
      [0, 1].map((run) =>
        simulateRun({
          seed: 3,
          run,
          scenario: scenario('error'),
          gates: [GATE.ours],
          horizonCanaryRequests: 400,
        }),
      ),
    );
    for (const result of results) {
      expect(result.evaluations).toBeGreaterThan(0);
      expect(result.sourceReads).toBe(result.evaluations);
    }
  });

  it('catches a hard break in under 100 canary requests, and the oracle is the fastest', async () => {
    const ours: number[] = [];
    const oracle: number[] = [];
    for (let run = 0; run < 12; run += 1) {
      const result = await simulateRun({
        seed: 5,
        run,
        scenario: scenario('hard-break'),
        gates: [GATE.ours, GATE.oracle, GATE.kayenta],
        horizonCanaryRequests: 1000,
      });
      const mine = result.detections.ours;
      const best = result.detections.oracle;
      if (mine) ours.push(mine.canaryRequests);
      if (best) oracle.push(best.canaryRequests);
      // Kayenta looks every 300 canary requests: never before its first look.
      expect(result.detections.kayenta?.canaryRequests ?? 300).toBeGreaterThanOrEqual(300);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
    expect(ours).toHaveLength(12);
    expect(median(ours)).toBeLessThan(100);
    expect(median(oracle)).toBeLessThanOrEqual(median(ours));
  });

  it('reproduces statistics.md §7 C qualitatively: the article gate cries wolf, Kayenta at z > 3.1 rarely', async () => {
    const runs = 150;
    let naive = 0;
    let kayenta = 0;
    for (let run = 0; run < runs; run += 1) {
      const result = await simulateRun({
        seed: 11,
        run,
        scenario: scenario('aa'),
        gates: [GATE.naive, GATE.kayenta],
        horizonCanaryRequests: 7200,
      });
      if (result.detections.naive) naive += 1;
      if (result.detections.kayenta) kayenta += 1;
    }
    // §7 C: 38% and 2.1% over a 6,000-request horizon.
    expect(naive / runs).toBeGreaterThan(0.2);
    expect(kayenta / runs).toBeLessThan(0.07);
  });
});

describe('wilsonInterval', () => {
  it('matches known values', () => {
    const none = wilsonInterval(0, 10);
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.2775, 4);
    const half = wilsonInterval(5, 10);
    expect(half.low).toBeCloseTo(0.2366, 4);
    expect(half.high).toBeCloseTo(0.7634, 4);
  });
});
