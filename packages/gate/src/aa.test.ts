import { describe, expect, it } from 'vitest';
import { resolveGateConfig } from './config.js';
import type { JsonValue } from './evaluator.js';
import { createGate } from './gate.js';
import { HEALTHY, SimulatedRollout } from './simulation.test-helper.js';
import { InMemoryMetricSource } from './testing.js';

/**
 * A/A property: canary and control serve the same behaviour; over many seeded rollouts,
 * evaluated every 5 s, the gate's sequential false-fail rate stays at or below alpha.
 *
 * One set of runs checks every alpha at once: at total alpha α' (same shares) the gate
 * rejects iff some check k reaches E_k ≥ 1/(α'·share_k), i.e. iff the run's statistic
 * S = max over looks and checks of E_k·share_k reaches 1/α' (share_k = α_k/α_total).
 * Ville's inequality and Bonferroni bound P(S ≥ 1/α') by α' for every α'.
 */
describe('gate A/A (seeded simulation)', () => {
  it('keeps the false-fail rate at or below alpha at any cadence', async () => {
    const config = resolveGateConfig({});
    const runs = 40;
    const ticks = 96; // 8 minutes at one look every 5 s
    const statistics: number[] = [];
    let gateFails = 0;
    let looks = 0;
    for (let run = 0; run < runs; run++) {
      const sim = new SimulatedRollout({ seed: 1000 + run, users: 4000, requestsPerSecond: 12, canary: HEALTHY });
      sim.canaryBasisPoints = 2500;
      sim.controlBasisPoints = 2500;
      const source = new InMemoryMetricSource();
      const gate = createGate(config, source);
      let state: JsonValue | undefined;
      let statistic = 0;
      let failed = false;
      for (let tick = 0; tick < ticks; tick++) {
        // A ramp half-way: epochs must keep the test valid across share changes.
        if (tick === ticks / 2) {
          sim.canaryBasisPoints = 3500;
          sim.controlBasisPoints = 3500;
        }
        sim.advance(5);
        source.set(sim.windows());
        const { result, state: next } = await gate.evaluate({
          rolloutId: `aa-${run}`,
          flagKey: 'agent.release',
          canaryRelease: 'v2',
          stableRelease: 'v1',
          startedAtMillis: sim.startedAtMillis,
          nowMillis: sim.nowMillis,
          canaryBasisPoints: sim.canaryBasisPoints,
          controlBasisPoints: sim.controlBasisPoints,
          ...(state === undefined ? {} : { state }),
        });
        state = next;
        looks++;
        failed ||= result.sequentialFailure;
        for (const check of result.checks) {
          if (!check.statistic || check.method === 'sample_ratio') continue;
          statistic = Math.max(statistic, (check.statistic.eValue * check.statistic.alpha) / config.alphaTotal);
        }
      }
      if (failed) gateFails++;
      statistics.push(statistic);
    }
    expect(looks).toBe(runs * ticks);
    // The gate itself, at alpha 0.01: expected at most 0.4 false fails in 40 runs.
    expect(gateFails).toBeLessThanOrEqual(2);
    for (const alpha of [0.05, 0.1, 0.25, 0.5]) {
      const rate = statistics.filter((s) => s >= 1 / alpha).length / runs;
      const slack = 2.5 * Math.sqrt((alpha * (1 - alpha)) / runs);
      expect(rate, `false-fail rate at alpha ${alpha}`).toBeLessThanOrEqual(alpha + slack);
    }
    // The statistic is not degenerate: some runs do wander above 1 under H0.
    expect(statistics.some((s) => s > 1)).toBe(true);
  });
});
