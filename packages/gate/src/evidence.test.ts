import { describe, expect, it } from 'vitest';
import { resolveGateConfig } from './config.js';
import type { GateEvaluation, JsonValue } from './evaluator.js';
import { createGate } from './gate.js';
import { GATE_EVIDENCE, type GateOptions } from './options.js';
import { type Behaviour, HEALTHY, SimulatedRollout } from './simulation.test-helper.js';
import { InMemoryMetricSource } from './testing.js';
import type { CohortWindows } from './windows.js';

/** Seeded windows of one rollout, one per 5 s tick. */
function recordWindows(seed: number, canary: Behaviour, ticks: number): { windows: CohortWindows; now: number }[] {
  const sim = new SimulatedRollout({ seed, users: 30_000, requestsPerSecond: 40, canary });
  sim.canaryBasisPoints = 1000;
  sim.controlBasisPoints = 1000;
  const out: { windows: CohortWindows; now: number }[] = [];
  for (let tick = 0; tick < ticks; tick++) {
    // A ramp half-way, so epochs are exercised too.
    if (tick === ticks / 2) {
      sim.canaryBasisPoints = 2000;
      sim.controlBasisPoints = 2000;
    }
    sim.advance(5);
    out.push({ windows: sim.windows(), now: sim.nowMillis });
  }
  return out;
}

async function replay(
  options: GateOptions,
  recorded: readonly { windows: CohortWindows; now: number }[],
  split: (tick: number) => number,
): Promise<GateEvaluation[]> {
  const source = new InMemoryMetricSource();
  const gate = createGate(resolveGateConfig(options), source);
  const evaluations: GateEvaluation[] = [];
  let state: JsonValue | undefined;
  for (const [tick, { windows, now }] of recorded.entries()) {
    source.set(windows);
    const evaluation = await gate.evaluate({
      rolloutId: 'r1',
      flagKey: 'agent.release',
      canaryRelease: 'v2',
      stableRelease: 'v1',
      startedAtMillis: 1_700_000_000_000,
      nowMillis: now,
      canaryBasisPoints: split(tick),
      controlBasisPoints: split(tick),
      ...(state === undefined ? {} : { state }),
    });
    evaluations.push(evaluation);
    // Every other tick through JSON, as a controller persisting it would.
    state = tick % 2 === 0 ? (JSON.parse(JSON.stringify(evaluation.state)) as JsonValue) : evaluation.state;
  }
  return evaluations;
}

const decisionOf = ({ result }: GateEvaluation) => ({
  verdict: result.verdict,
  sequentialFailure: result.sequentialFailure,
  thresholdFailure: result.thresholdFailure,
  sampleRatioMismatch: result.sampleRatioMismatch,
  requests: result.requests,
  subjects: result.subjects,
  checks: result.checks.map((check) => [check.check, check.method, check.verdict]),
});

describe("gate evidence modes ('full' vs 'decision')", () => {
  const ticks = 60;
  const split = (tick: number) => (tick >= ticks / 2 ? 2000 : 1000);
  const cases: [string, Partial<Behaviour>, GateOptions][] = [
    ['A/A', {}, {}],
    ['error rate up', { errorRate: 0.02 }, {}],
    ['slower', { latencyMedianMillis: 650 }, {}],
    ['tool mix and length drift', { tools: { search: 0.7, db: 0.3 }, lengthMedian: 420 }, {}],
    ['weighted mode', { errorRate: 0.02, refusalRate: 0.06 }, { mode: 'weighted' }],
  ];

  it.each(cases)('%s: identical decisions and states at every evaluation', async (_name, canary, options) => {
    const recorded = recordWindows(11, { ...HEALTHY, ...canary }, ticks);
    const full = await replay({ ...options, evidence: GATE_EVIDENCE.full }, recorded, split);
    const lean = await replay({ ...options, evidence: GATE_EVIDENCE.decision }, recorded, split);
    expect(lean.map(decisionOf)).toEqual(full.map(decisionOf));
    expect(lean.map((e) => e.state)).toEqual(full.map((e) => e.state));
    // Failing checks keep their full evidence in decision mode.
    for (const [index, evaluation] of lean.entries()) {
      for (const check of evaluation.result.checks) {
        if (check.verdict !== 'fail') continue;
        const same = full[index]?.result.checks.find((c) => c.check === check.check && c.method === check.method);
        expect(check).toEqual(same);
      }
    }
  });

  it('the effect scenarios do fail (the comparison above is not vacuous)', async () => {
    const recorded = recordWindows(11, { ...HEALTHY, errorRate: 0.02 }, ticks);
    const lean = await replay({ evidence: GATE_EVIDENCE.decision }, recorded, split);
    expect(lean.some((e) => e.result.sequentialFailure)).toBe(true);
    const healthy = await replay({ evidence: GATE_EVIDENCE.decision }, recordWindows(11, HEALTHY, ticks), split);
    const passing = healthy.filter((e) => e.result.verdict === 'pass' || e.result.verdict === 'warn');
    expect(passing.length).toBeGreaterThan(0);
    // Non-failing tests carry a verdict and their statistic, not the reasons (constant
    // explanations such as "no reference yet" stay).
    const tests = passing.flatMap((e) => e.result.checks.filter((c) => c.statistic !== undefined));
    expect(tests.length).toBeGreaterThan(0);
    expect(tests.every((c) => c.reason === '')).toBe(true);
  });

  it("defaults to 'full' and rejects other values, naming the field", () => {
    expect(resolveGateConfig().evidence).toBe('full');
    expect(() => resolveGateConfig({ evidence: 'everything' as never })).toThrow(/evidence/);
  });
});
