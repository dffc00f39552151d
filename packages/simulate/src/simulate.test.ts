import { ConfigError } from '@agent-canary/conventions';
import { createRng } from '@agent-canary/stats';
import { describe, expect, it } from 'vitest';
import { oracleDetection, streamTheta } from './oracle.js';
import { formatTable, wilsonInterval } from './report.js';
import { GATE, simulateRun } from './run.js';
import { SCENARIOS } from './scenarios.js';
import { runSimulation } from './simulate.js';
import { Population } from './traffic.js';

const scenario = (id: string) => {
  const found = SCENARIOS.find((s) => s.id === id);
  if (!found) throw new Error(id);
  return found;
};
const MIDDLE = { concentration: 50, zipfExponent: 1.1 };

describe('Population', () => {
  it('draws users around the base rates, more alike as the concentration grows', () => {
    const spread = (concentration: number) => {
      const population = new Population(createRng(1), 5000, { concentration, zipfExponent: 1.1 });
      const rates = Array.from(population.errorRate);
      const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
      const variance = rates.reduce((a, b) => a + (b - mean) ** 2, 0) / rates.length;
      return { mean, sd: Math.sqrt(variance) };
    };
    const habitual = spread(5);
    const alike = spread(1000);
    expect(habitual.mean).toBeCloseTo(0.01, 2);
    expect(alike.mean).toBeCloseTo(0.01, 3);
    expect(habitual.sd).toBeGreaterThan(10 * alike.sd);
  });

  it('Zipf activity: the heaviest user sends more as the exponent grows', () => {
    const share = (zipfExponent: number) => {
      const population = new Population(createRng(2), 1000, { concentration: 50, zipfExponent });
      const rng = createRng(3);
      let top = 0;
      for (let i = 0; i < 20_000; i++) if (population.next(rng) === 0) top += 1;
      return top / 20_000;
    };
    expect(share(1.5)).toBeGreaterThan(3 * share(0.8));
  });
});

describe('simulateRun', () => {
  it('runs the gate through createGate on every tick, and records the oracle stream to the horizon', async () => {
    const result = await simulateRun({
      seed: 1,
      run: 0,
      scenario: scenario('error'),
      heterogeneity: MIDDLE,
      canaryBasisPoints: 5000,
      gates: [GATE.ours],
      users: 2000,
      horizonCanaryRequests: 1500,
    });
    expect(result.evaluations).toBeGreaterThan(20);
    expect(result.sourceReads).toBe(result.evaluations);
    expect(result.canaryRequests).toBeGreaterThanOrEqual(1500);
    expect(result.oracleEvents.length).toBeGreaterThan(0);
    expect(result.ticks.length).toBe(2 * Math.ceil(result.ticks.length / 2));
  });

  it('follows our gate to 1.5× the horizon in effect runs, and stops the oracle stream at the horizon', async () => {
    const horizon = 400;
    const result = await simulateRun({
      seed: 2,
      run: 0,
      scenario: scenario('refusal'),
      heterogeneity: MIDDLE,
      canaryBasisPoints: 5000,
      gates: [GATE.ours],
      users: 2000,
      horizonCanaryRequests: horizon,
    });
    // Ticks are (canary requests, users) pairs; the horizon falls in the first tick past it.
    const requestsAt = result.ticks.filter((_, index) => index % 2 === 0);
    const horizonTick = requestsAt.findIndex((requests) => requests >= horizon);
    expect(horizonTick).toBeGreaterThan(0);
    const eventTicks = result.oracleEvents.filter((_, index) => index % 2 === 0);
    expect(eventTicks.length).toBeGreaterThan(0);
    expect(Math.max(...eventTicks)).toBeLessThanOrEqual(horizonTick);
    // A refusal rise this small is not proven in 600 canary requests: the run goes on to 1.5×.
    expect(result.detections.ours).toBeNull();
    expect(result.canaryRequests).toBe(1.5 * horizon);
  });

  it('uses the same traffic in every scenario (common random numbers): the hard break is caught first', async () => {
    const run = (id: string) =>
      simulateRun({
        seed: 3,
        run: 1,
        scenario: scenario(id),
        heterogeneity: MIDDLE,
        canaryBasisPoints: 500,
        gates: [GATE.ours],
        users: 4000,
        horizonCanaryRequests: 600,
      });
    const aa = await run('aa');
    const hard = await run('hard-break');
    expect(aa.detections.ours).toBeNull();
    expect(hard.detections.ours?.checks).toContain('error_rate');
    expect(hard.detections.ours?.canaryRequests).toBeLessThan(300);
    // Same users, same arrivals: the canary saw the same requests until the rollback.
    expect(hard.canaryRequests).toBe(aa.canaryRequests);
  });

  it('an identical canary of habitual users: the gate counting users holds, counting requests it rolls back', async () => {
    let byRequests = 0;
    for (let run = 0; run < 8; run += 1) {
      const result = await simulateRun({
        seed: 11,
        run,
        scenario: scenario('aa'),
        heterogeneity: MIDDLE,
        canaryBasisPoints: 5000,
        gates: [GATE.ours, GATE.oursRequest],
      });
      expect(result.detections.ours).toBeNull();
      if (result.detections['ours-request']) byRequests += 1;
    }
    expect(byRequests).toBeGreaterThanOrEqual(2);
  });
});

describe('oracle', () => {
  it('decides at the end of the tick its evidence crosses the boundary', () => {
    // Ten canary events in tick 2, none from control: ln(θ1/ρ0) each.
    const events = Array.from({ length: 10 }, () => [2, 1]).flat();
    const ticks = [0, 0, 10, 5, 20, 9, 30, 12];
    const detection = oracleDetection(events, ticks, 0.9, 0.5, 0.01);
    expect(detection).toEqual({ canaryRequests: 20, canaryUsers: 9 });
    expect(oracleDetection(events.slice(0, 8), ticks, 0.9, 0.5, 0.01)).toBeNull();
    expect(oracleDetection(events, ticks, 0.4, 0.5, 0.01)).toBeNull();
    expect(streamTheta([events, [0, 0, 0, 1]])).toBeCloseTo(11 / 12, 12);
  });
});

describe('runSimulation', () => {
  it('is deterministic: the same seed gives the same report', async () => {
    const options = {
      seed: 7,
      quick: true,
      runs: 2,
      users: 2000,
      scenarios: ['aa', 'hard-break'],
      horizonCanaryRequests: 400,
      workers: 1,
    } as const;
    const first = await runSimulation(options);
    expect(await runSimulation(options)).toEqual(first);
    expect(await runSimulation({ ...options, seed: 8 })).not.toEqual(first);
    expect(first.cells).toHaveLength(4);
    expect(first.gateEvaluations).toBeGreaterThan(0);
    const table = formatTable(first);
    expect(table).toContain('error 1% → 20% (hard break)');
    expect(table).toContain('ours (users): rollbacks');
    expect(table).toContain('Targets:');
  });

  it('validates its options, naming the field', async () => {
    await expect(runSimulation({ seed: 1, scenarios: ['nope'] })).rejects.toThrow(ConfigError);
    await expect(runSimulation({ seed: 1, runs: 0 })).rejects.toThrow(/runs/);
    await expect(runSimulation({ seed: 1, shares: [6000] })).rejects.toThrow(/shares\[0\]/);
  });
});

describe('wilsonInterval', () => {
  it('brackets the rate', () => {
    const { low, high } = wilsonInterval(10, 1000);
    expect(low).toBeLessThan(0.01);
    expect(high).toBeGreaterThan(0.01);
    expect(wilsonInterval(0, 2000).high).toBeLessThan(0.002);
  });
});
