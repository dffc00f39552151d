/**
 * Users, not calls: under sticky routing with habitual users, every check counts subjects
 * (each user's first observations, counted in the cohort it entered), so an identical
 * canary is not rolled back because of which users landed in which arm.
 */
import { describe, expect, it } from 'vitest';
import { resolveGateConfig } from './config.js';
import type { GateContext, GateEvaluation, JsonValue } from './evaluator.js';
import { createGate } from './gate.js';
import type { GateOptions } from './options.js';
import { type Behaviour, HEALTHY, SimulatedRollout, type SimulationOptions } from './simulation.test-helper.js';
import { InMemoryMetricSource } from './testing.js';
import type { CohortWindows } from './windows.js';

function contextOf(sim: SimulatedRollout, state?: JsonValue): GateContext {
  return {
    rolloutId: 'r1',
    flagKey: 'agent.release',
    canaryRelease: 'v2',
    stableRelease: 'v1',
    startedAtMillis: sim.startedAtMillis,
    nowMillis: sim.nowMillis,
    canaryBasisPoints: sim.canaryBasisPoints,
    controlBasisPoints: sim.controlBasisPoints,
    ...(state === undefined ? {} : { state }),
  };
}

/** Runs the gate every 5 s for `seconds`, stopping at the first failure of an acting check. */
async function rollout(
  options: Partial<Omit<SimulationOptions, 'canary'>> & { canary?: Partial<Behaviour>; canaryBasisPoints?: number },
  gateOptions: GateOptions,
  seconds: number,
  transform: (windows: CohortWindows) => CohortWindows = (w) => w,
): Promise<GateEvaluation> {
  const { canaryBasisPoints, ...simulation } = options;
  const sim = new SimulatedRollout({
    seed: 1,
    users: 400,
    requestsPerSecond: 20,
    ...simulation,
    canary: { ...HEALTHY, ...options.canary },
  });
  if (canaryBasisPoints !== undefined) {
    sim.canaryBasisPoints = canaryBasisPoints;
    sim.controlBasisPoints = canaryBasisPoints;
  }
  const source = new InMemoryMetricSource();
  const gate = createGate(resolveGateConfig(gateOptions), source);
  let state: JsonValue | undefined;
  let last: GateEvaluation | undefined;
  for (let t = 0; t < seconds; t += 5) {
    sim.advance(5);
    source.set(transform(sim.windows()));
    last = await gate.evaluate(contextOf(sim, state));
    state = last.state;
    if (last.result.verdict === 'fail') break;
  }
  if (!last) throw new Error('no evaluation');
  return last;
}

const HABITUAL: Partial<SimulationOptions> = { habitStrength: 0.95, zipfExponent: 1.1 };
const MIX_ONLY: GateOptions = {
  warmup: { minMillis: 30_000 },
  checks: {
    errorRate: { enabled: false },
    toolSuccessRate: { enabled: false },
    refusalRate: { enabled: false },
    latencyP99: { enabled: false },
    similarity: { enabled: false },
    toxicity: { enabled: false },
    thumbsDownRate: { enabled: false },
    responseLength: { enabled: false },
  },
};

describe('users, not calls', () => {
  it('does not fail an identical canary on the tool mix of habitual users (it did when counting calls)', async () => {
    let byCalls = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const subject = await rollout({ ...HABITUAL, seed }, MIX_ONLY, 600);
      const mix = subject.result.checks.find((c) => c.check === 'tool_mix');
      expect(subject.result.verdict).not.toBe('fail');
      expect(mix?.unit).toBe('subject');
      const calls = await rollout(
        { ...HABITUAL, seed },
        { ...MIX_ONLY, checks: { ...MIX_ONLY.checks, toolMix: { unit: 'request' } } },
        600,
      );
      if (calls.result.verdict === 'fail') byCalls += 1;
    }
    // The request unit treats a heavy user's habitual calls as independent draws.
    expect(byCalls).toBeGreaterThanOrEqual(5);
  });

  it('fails a 10-point shift of a tool share once enough users are in, and only with proof', async () => {
    const shifted = { tools: { search: 0.3, db: 0.35, code: 0.15, email: 0.1, calendar: 0.1 } };
    // Half the users in each arm: about 10,000 users per arm within the half hour.
    const last = await rollout(
      { users: 20_000, requestsPerSecond: 100, canary: shifted, canaryBasisPoints: 5000 },
      { ...MIX_ONLY, evidence: 'full' },
      1800,
    );
    const mix = last.result.checks.find((c) => c.check === 'tool_mix');
    expect(last.result.verdict).toBe('fail');
    expect(mix?.verdict).toBe('fail');
    expect(mix?.reason).toContain('a change beyond the tolerance, proven');
    expect(mix?.statistic?.eValue).toBeGreaterThanOrEqual(mix?.statistic?.boundary ?? Number.NaN);
  });

  it('catches habitual users switching tools more (usual tool 95% -> 75%) through the switch test', async () => {
    // Same aggregate shares in both arms: only each user's consistency changes.
    let caught = 0;
    for (let seed = 1; seed <= 3; seed++) {
      const sim = await rollout(
        { users: 5000, requestsPerSecond: 50, seed, habitStrength: 0.95, canaryHabitStrength: 0.75 },
        { ...MIX_ONLY, evidence: 'full' },
        3600,
      );
      const mix = sim.result.checks.find((c) => c.check === 'tool_mix');
      if (mix?.verdict === 'fail') {
        caught += 1;
        expect(mix.reason).toMatch(/switch test E=/);
      }
    }
    expect(caught).toBeGreaterThanOrEqual(2);
  });

  it('catches the usual tool 95% -> 90%: the switch test has no tolerance to clear', async () => {
    let caught = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const sim = await rollout(
        {
          users: 20_000,
          requestsPerSecond: 40,
          seed,
          habitStrength: 0.95,
          canaryHabitStrength: 0.9,
          canaryBasisPoints: 5000,
        },
        { ...MIX_ONLY, evidence: 'full' },
        300,
      );
      const mix = sim.result.checks.find((c) => c.check === 'tool_mix');
      if (mix?.verdict === 'fail') caught += 1;
    }
    // With the old 1-point tolerance on switching, half of these runs went uncaught.
    expect(caught).toBeGreaterThanOrEqual(7);
  });

  it('an observe-only check is computed and shown but never fails the gate', async () => {
    const broken = { errorRate: 0.3 };
    const acting = await rollout({ canary: broken }, { warmup: { minMillis: 30_000 } }, 600);
    expect(acting.result.verdict).toBe('fail');
    const observed = await rollout(
      { canary: broken },
      { warmup: { minMillis: 30_000 }, checks: { errorRate: { observe: true } } },
      600,
    );
    const error = observed.result.checks.filter((c) => c.check === 'error_rate');
    expect(error.some((c) => c.verdict === 'fail')).toBe(true);
    expect(error.every((c) => c.observeOnly === true)).toBe(true);
    expect(observed.result.verdict).not.toBe('fail');
    expect(observed.result.sequentialFailure).toBe(false);
    expect(observed.result.thresholdFailure).toBe(false);
  });

  it('says so when the metric source has no per-subject data and counts requests instead', async () => {
    const withoutFirsts = (windows: CohortWindows): CohortWindows => ({
      ...windows,
      cohorts: Object.fromEntries(
        Object.entries(windows.cohorts).map(([cohort, { subjectFirsts: _dropped, ...rest }]) => [cohort, rest]),
      ) as unknown as CohortWindows['cohorts'],
    });
    const last = await rollout({}, { warmup: { minMillis: 30_000 }, evidence: 'full' }, 120, withoutFirsts);
    const errorThreshold = last.result.checks.find((c) => c.check === 'error_rate' && c.method === 'threshold');
    expect(errorThreshold?.unit).toBe('request');
    expect(errorThreshold?.reason).toContain('no per-subject data');
    // Adverse events counted once per subject exist in every source: the sequential test keeps the subject unit.
    expect(last.result.checks.find((c) => c.check === 'error_rate' && c.method === 'sequential')?.unit).toBe('subject');
  });
});
