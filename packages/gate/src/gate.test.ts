import { ConfigError } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { resolveGateConfig } from './config.js';
import type { GateContext, GateEvaluation, JsonValue } from './evaluator.js';
import { createGate } from './gate.js';
import type { GateConfig, GateOptions } from './options.js';
import { promotionReadiness } from './promotion.js';
import { type Behaviour, HEALTHY, SimulatedRollout, type SimulationOptions } from './simulation.test-helper.js';
import { InMemoryMetricSource } from './testing.js';

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

/** Runs a simulated rollout, evaluating every `tickSeconds`; stops at the first fail. */
async function run(
  sim: SimulatedRollout,
  config: GateConfig,
  seconds: number,
  stopOnFail = true,
  tickSeconds = 5,
): Promise<{ last: GateEvaluation; evaluations: GateEvaluation[] }> {
  const source = new InMemoryMetricSource();
  const gate = createGate(config, source);
  const evaluations: GateEvaluation[] = [];
  let state: JsonValue | undefined;
  for (let t = 0; t < seconds; t += tickSeconds) {
    sim.advance(tickSeconds);
    source.set(sim.windows());
    const evaluation = await gate.evaluate(contextOf(sim, state));
    evaluations.push(evaluation);
    state = JSON.parse(JSON.stringify(evaluation.state)) as JsonValue;
    if (stopOnFail && (evaluation.result.verdict === 'fail' || evaluation.result.sampleRatioMismatch)) break;
  }
  const last = evaluations[evaluations.length - 1];
  if (!last) throw new Error('no evaluation');
  return { last, evaluations };
}

function simulation(canary: Partial<Behaviour>, options: Partial<SimulationOptions> = {}): SimulatedRollout {
  const sim = new SimulatedRollout({
    seed: 7,
    users: 20_000,
    requestsPerSecond: 40,
    canary: { ...HEALTHY, ...canary },
    ...options,
  });
  sim.canaryBasisPoints = 1000;
  sim.controlBasisPoints = 1000;
  return sim;
}

const config = (options: GateOptions = {}) => resolveGateConfig(options);

describe('resolveGateConfig', () => {
  it('fills in the article defaults and splits alpha over the enabled sequential checks', () => {
    const resolved = config();
    expect(resolved.checks.latencyP99.maxMillis).toBe(3000);
    expect(resolved.checks.errorRate.limit).toBe(0.01);
    expect(resolved.checks.toolSuccessRate.limit).toBe(0.95);
    expect(resolved.checks.refusalRate.limit).toBe(0.05);
    expect(resolved.checks.similarity.min).toBe(0.85);
    expect(resolved.checks.toxicity.max).toBe(0.1);
    // 90% of alphaTotal for the sequential tests by share, 10% for the six thresholds.
    expect(resolved.checks.errorRate.alpha).toBeCloseTo(0.009 * 0.25, 12);
    expect(resolved.checks.latencyP99.alpha).toBeCloseTo(0.009 * 0.1, 12);
    expect(resolved.checks.toolMix.alpha).toBeCloseTo(0.009 * 0.2, 12);
    expect(resolved.checks.errorRate.thresholdAlpha).toBeCloseTo(0.001 / 6, 12);
    expect(resolved.checks.thumbsDownRate.thresholdAlpha).toBe(0);
    const total = (c: GateConfig) => Object.values(c.checks).reduce((sum, k) => sum + k.alpha + k.thresholdAlpha, 0);
    expect(total(resolved)).toBeCloseTo(0.01, 12);
    const fewer = config({ checks: { toolMix: { enabled: false }, responseLength: { enabled: false } } });
    expect(total(fewer)).toBeCloseTo(0.01, 12);
    expect(fewer.checks.toolMix.alpha).toBe(0);
    expect(fewer.checks.errorRate.alpha).toBeCloseTo(0.009 * (0.25 / 0.75), 12);
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(config({ thresholdAlphaShare: 0.5 }).checks.errorRate.thresholdAlpha).toBeCloseTo(0.005 / 6, 12);
    expect(config({ checks: { toolMix: { observe: true } } }).checks.toolMix.observe).toBe(true);
  });

  it.each([
    [{ alphaTotal: 0 }, 'alphaTotal'],
    [{ mode: 'naive' }, 'mode'],
    [{ checks: { errorRate: { limit: 1.5 } } }, 'checks.errorRate.limit'],
    [{ checks: { errorRate: { unit: 'user' } } }, 'checks.errorRate.unit'],
    [{ checks: { latencyP99: { maxMillis: -1 } } }, 'checks.latencyP99.maxMillis'],
    [{ checks: { latency: {} } }, 'checks.latency'],
    [{ warmup: { minStableRequests: 1.5 } }, 'warmup.minStableRequests'],
    [{ weighted: { passScore: 0.4, warnScore: 0.5 } }, 'weighted.warnScore'],
    [{ checks: { toxicity: { alphaShare: 0.1 } } }, 'checks.toxicity.alphaShare'],
    [{ sampleRatio: { enabled: 'yes' } }, 'sampleRatio.enabled'],
    [{ thresholdAlphaShare: 0 }, 'thresholdAlphaShare'],
    [{ thresholdAlphaShare: 1.5 }, 'thresholdAlphaShare'],
    [{ thresholdAlpha: 0.01 }, 'thresholdAlpha'],
    [{ checks: { toolMix: { observe: 'yes' } } }, 'checks.toolMix.observe'],
    [{ checks: { toolMix: { maxShare: 0.1 } } }, 'checks.toolMix.maxShare'],
  ])('rejects %j naming %s', (options, path) => {
    try {
      resolveGateConfig(options as GateOptions);
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).path).toBe(path);
      expect((error as ConfigError).message).toContain(path);
    }
  });
});

describe('createGate (sequential mode)', () => {
  it('is inconclusive while warming up: rate tests and the sample-ratio test run, the others wait for their references', async () => {
    const sim = simulation({});
    const { last } = await run(sim, config(), 10);
    expect(last.result.verdict).toBe('inconclusive');
    expect(last.result.reason).toMatch(/warming up/);
    expect(last.result.checks.some((c) => c.method === 'threshold')).toBe(false);
    const byName = new Map(last.result.checks.map((c) => [c.check, c]));
    expect(byName.get('sample_ratio')).toBeDefined();
    expect(byName.get('error_rate')?.method).toBe('sequential');
    expect(byName.get('latency_p99')?.reason).toMatch(/no latency reference/);
    expect(byName.get('tool_mix')?.reason).toMatch(/no tool-use reference/);
  });

  it('rolls a hard break back during warm-up: rate tests need no reference', async () => {
    const { last, evaluations } = await run(simulation({ errorRate: 0.5 }), config(), 60);
    expect(last.result.verdict).toBe('fail');
    expect(last.result.sequentialFailure).toBe(true);
    expect(last.result.reason).toMatch(/^fail \(during warm-up\): error_rate/);
    expect(evaluations.length).toBeLessThan(12);
  });

  it('is inconclusive below the minimum sample once warm-up is over', async () => {
    const sim = simulation({}, { requestsPerSecond: 2 });
    const { last } = await run(sim, config(), 90);
    expect(last.result.verdict).toBe('inconclusive');
    expect(last.result.reason).toMatch(/^inconclusive: \d+ canary and \d+ control requests, 50 each needed/);
    expect(last.result.checks.some((c) => c.method === 'sequential')).toBe(true);
  });

  it('passes a healthy canary with evidence for every check', async () => {
    const sim = simulation({});
    const { last } = await run(sim, config(), 600);
    expect(last.result.verdict).toBe('pass');
    expect(last.result.sequentialFailure).toBe(false);
    expect(last.result.thresholdFailure).toBe(false);
    const names = new Set(last.result.checks.map((c) => c.check));
    for (const name of [
      'latency_p99',
      'error_rate',
      'tool_success_rate',
      'refusal_rate',
      'similarity',
      'toxicity',
      'thumbs_down_rate',
      'tool_mix',
      'response_length',
      'sample_ratio',
    ]) {
      expect(names, name).toContain(name);
    }
    for (const check of last.result.checks) {
      expect(check.reason.length, check.check).toBeGreaterThan(20);
      if (check.method === 'sequential') expect(check.statistic?.boundary).toBeGreaterThan(1);
    }
    expect(last.result.requests.canary).toBeGreaterThan(1000);
    expect(last.result.reason).toMatch(/^pass: /);
  });

  it('fails a canary with a raised error rate through the sequential test, with readable evidence', async () => {
    const sim = simulation({ errorRate: 0.05 });
    const { last } = await run(sim, config({ checks: { errorRate: { limit: 0.5 } } }), 1800);
    expect(last.result.verdict).toBe('fail');
    expect(last.result.sequentialFailure).toBe(true);
    expect(last.result.thresholdFailure).toBe(false);
    const sequential = last.result.checks.find((c) => c.check === 'error_rate' && c.method === 'sequential');
    expect(sequential?.verdict).toBe('fail');
    expect(sequential?.unit).toBe('subject');
    expect(sequential?.statistic?.eValue).toBeGreaterThanOrEqual(sequential?.statistic?.boundary ?? Infinity);
    expect(sequential?.effect?.name).toBe('relative_risk');
    expect(sequential?.effect?.lower).toBeGreaterThan(1);
    const canary = sequential?.measurements.find((m) => m.cohort === 'canary');
    const control = sequential?.measurements.find((m) => m.cohort === 'control');
    expect(canary?.value).toBeGreaterThan(control?.value ?? 1);
    expect(last.result.reason).toMatch(/^fail: error_rate: the canary has more failed turns than control/);
  });

  it('fails a slow canary through the latency test and the p99 threshold', async () => {
    const sim = simulation({ latencyMedianMillis: 2000 });
    const { last } = await run(sim, config(), 900);
    expect(last.result.verdict).toBe('fail');
    const latency = last.result.checks.filter((c) => c.check === 'latency_p99');
    expect(latency.map((c) => c.method).sort()).toEqual(['sequential', 'threshold']);
    expect(latency.find((c) => c.method === 'threshold')?.verdict).toBe('fail');
    expect(latency.find((c) => c.method === 'sequential')?.effect?.value).toBeGreaterThan(1.5);
    // The threshold fails on evidence: more than 1% of requests provably above 3000 ms.
    const threshold = latency.find((c) => c.method === 'threshold');
    expect(threshold?.effect?.name).toBe('share_above_limit');
    expect(threshold?.effect?.lower).toBeGreaterThan(0.01);
    expect(threshold?.reason).toMatch(/[\d.]+% lower bound [\d.]+% — above the 1\.0% a p99 within the limit allows/);
  });

  it('keeps a rejection once made, also in a gate restarted from the persisted state', async () => {
    const sim = simulation({ refusalRate: 0.2 });
    const source = new InMemoryMetricSource();
    const live = createGate(config(), source);
    let state: JsonValue | undefined;
    let failedAt = -1;
    for (let i = 0; i < 120 && failedAt < 0; i++) {
      sim.advance(5);
      source.set(sim.windows());
      const evaluation = await live.evaluate(contextOf(sim, state));
      state = JSON.parse(JSON.stringify(evaluation.state)) as JsonValue;
      if (evaluation.result.sequentialFailure) failedAt = i;
    }
    expect(failedAt).toBeGreaterThan(0);
    source.set(sim.windows());
    const again = await createGate(config(), source).evaluate(contextOf(sim, state));
    expect(again.result.sequentialFailure).toBe(true);
    expect(again.result.checks.find((c) => c.check === 'refusal_rate' && c.method === 'sequential')?.verdict).toBe(
      'fail',
    );
  });

  it('does not count the units served while routing settles (sampleRatio.settleMillis)', async () => {
    // Control users keep getting stable for the first minute, as replicas polling a flag file do.
    const outcome = async (settleMillis: number) => {
      const sim = simulation({});
      const source = new InMemoryMetricSource();
      const gate = createGate(config({ sampleRatio: { settleMillis, unit: 'request' } }), source);
      let state: JsonValue | undefined;
      let mismatch = false;
      for (let t = 0; t < 900 && !mismatch; t += 5) {
        sim.leakControlToStable = t < 60 ? 1 : 0;
        sim.advance(5);
        source.set(sim.windows());
        const evaluation = await gate.evaluate(contextOf(sim, state));
        state = JSON.parse(JSON.stringify(evaluation.state)) as JsonValue;
        mismatch = evaluation.result.sampleRatioMismatch;
      }
      return mismatch;
    };
    expect(await outcome(0)).toBe(true);
    expect(await outcome(70_000)).toBe(false);
  });

  it('freezes verdicts on a sample-ratio mismatch', async () => {
    const sim = simulation({});
    sim.leakControlToStable = 0.3;
    const { last } = await run(sim, config(), 600);
    expect(last.result.sampleRatioMismatch).toBe(true);
    expect(last.result.verdict).toBe('inconclusive');
    expect(last.result.sequentialFailure).toBe(false);
    expect(last.result.reason).toMatch(/sample-ratio mismatch/);
    const srm = last.result.checks.find((c) => c.check === 'sample_ratio');
    expect(srm?.verdict).toBe('fail');
    expect(srm?.statistic?.alpha).toBe(0.001);
  });

  it('is inconclusive with the reason when the source fails', async () => {
    const source = new InMemoryMetricSource();
    source.fail('prometheus answered 503');
    const gate = createGate(config(), source);
    const sim = simulation({});
    const { result } = await gate.evaluate(contextOf(sim));
    expect(result.verdict).toBe('inconclusive');
    expect(result.reason).toContain('prometheus answered 503');
  });

  it('warns when a threshold is close to its limit', async () => {
    const measured = await run(simulation({}), config(), 600);
    const refusal = measured.last.result.checks.find((c) => c.check === 'refusal_rate' && c.method === 'threshold');
    const value = refusal?.measurements.find((m) => m.cohort === 'canary')?.value ?? 0;
    expect(value).toBeGreaterThan(0);
    // Same seed, same traffic: a limit 5% above the measured rate is within the 10% margin.
    const { last } = await run(
      simulation({}),
      config({ checks: { refusalRate: { limit: value * 1.05 } } }),
      600,
      false,
    );
    const close = last.result.checks.find((c) => c.check === 'refusal_rate' && c.method === 'threshold');
    expect(close?.verdict).toBe('warn');
    expect(close?.threshold).toEqual({ operator: '<', value: value * 1.05 });
    expect(last.result.verdict).toBe('warn');
    expect(last.result.reason).toMatch(/^warn: refusal_rate: .* is within 10.0% of the limit/);
  });

  it('counts per epoch when the canary share changes', async () => {
    const sim = simulation({ errorRate: 0.05 }, { seed: 11 });
    sim.canaryBasisPoints = 500;
    sim.controlBasisPoints = 1500;
    const source = new InMemoryMetricSource();
    const gate = createGate(config({ checks: { errorRate: { limit: 0.5 } } }), source);
    let state: JsonValue | undefined;
    let failed = false;
    for (let i = 0; i < 240; i++) {
      if (i === 24) sim.canaryBasisPoints = 1500;
      sim.advance(5);
      source.set(sim.windows());
      const evaluation = await gate.evaluate(contextOf(sim, state));
      state = evaluation.state;
      failed ||= evaluation.result.sequentialFailure;
    }
    expect(failed).toBe(true);
    const epochs = (state as { epochs: { rho0: number }[] }).epochs.map((e) => e.rho0);
    expect(epochs[0]).toBeCloseTo(0.25, 12);
    expect(epochs[epochs.length - 1]).toBeCloseTo(0.5, 12);
  });
});

describe('promotionReadiness', () => {
  it('does not promote on a bare pass, only on maximum exposure or bounded relative risks', async () => {
    const resolved = config();
    const healthy = await run(simulation({}), resolved, 600);
    expect(healthy.last.result.verdict).toBe('pass');
    const bare = promotionReadiness(healthy.last.result, resolved);
    expect(bare.ready).toBe(false);
    expect(bare.reason).toMatch(/error_rate \(RR upper bound/);
    expect(healthy.last.result.reason).toMatch(/not yet ready to promote/);

    const exposed = config({ maxExposureRequests: 1000 });
    const exposure = promotionReadiness(healthy.last.result, exposed);
    expect(exposure).toMatchObject({ ready: true, basis: 'exposure' });

    // Frequent events in both arms bound the relative risk quickly.
    const busy = { errorRate: 0.05, toolFailureRate: 0.05, refusalRate: 0.05 };
    const tolerant = config({
      maxExposureRequests: 1_000_000,
      checks: {
        errorRate: { limit: 0.5, maxRelativeRisk: 2 },
        toolSuccessRate: { limit: 0.5, maxRelativeRisk: 2 },
        refusalRate: { limit: 0.5, maxRelativeRisk: 2 },
      },
    });
    const bounded = await run(simulation(busy, { control: { ...HEALTHY, ...busy } }), tolerant, 1200);
    expect(bounded.last.result.verdict).toBe('pass');
    expect(promotionReadiness(bounded.last.result, tolerant)).toMatchObject({ ready: true, basis: 'bounds' });
    const error = bounded.last.result.checks.find((c) => c.check === 'error_rate' && c.method === 'sequential');
    expect(error?.effect?.upper).toBeLessThan(2);
    expect(error?.effect?.lower).toBeLessThanOrEqual(1);
  });
});

describe('absolute thresholds judged on anytime-valid bounds (sequential mode)', () => {
  const thresholdOf = (evaluation: GateEvaluation, check: string) =>
    evaluation.result.checks.find((c) => c.check === check && c.method === 'threshold');
  // Thresholds alone: the sequential tests get no alpha, so every failure below is a threshold's.
  const thresholdsOnly = (options: GateOptions = {}) =>
    config({
      ...options,
      checks: {
        latencyP99: { alphaShare: 0 },
        errorRate: { alphaShare: 0 },
        toolSuccessRate: { alphaShare: 0 },
        refusalRate: { alphaShare: 0 },
        similarity: { alphaShare: 0 },
        thumbsDownRate: { alphaShare: 0 },
        toolMix: { alphaShare: 0 },
        responseLength: { alphaShare: 0 },
        ...options.checks,
      },
    });

  it('warns, and does not fail, while a point estimate past the limit lacks evidence', async () => {
    const measured = await run(simulation({}), thresholdsOnly(), 300);
    const rate =
      thresholdOf(measured.last, 'refusal_rate')?.measurements.find((m) => m.cohort === 'canary')?.value ?? 0;
    expect(rate).toBeGreaterThan(0);
    // Same seed, same traffic: a limit 20% below the measured rate is broken by the point estimate.
    const limit = rate * 0.8;
    const { last, evaluations } = await run(
      simulation({}),
      thresholdsOnly({ checks: { refusalRate: { limit } } }),
      300,
      false,
    );
    expect(evaluations.every((e) => !e.result.thresholdFailure)).toBe(true);
    const evidence = thresholdOf(last, 'refusal_rate');
    expect(evidence?.verdict).toBe('warn');
    expect(evidence?.effect?.name).toBe('refusal_rate');
    expect(evidence?.effect?.value).toBeCloseTo(rate, 12);
    expect(evidence?.effect?.lower).toBeLessThan(limit);
    expect(evidence?.reason).toMatch(
      /^refusal_rate: canary [\d.]+% \(\d+ subjects, control [\d.]+%\), [\d.]+% lower bound [\d.]+% — not above the [\d.]+% limit: evidence building/,
    );
    // The article's rule on the point estimate would have failed it.
    const weighted = await run(
      simulation({}),
      config({ mode: 'weighted', checks: { refusalRate: { limit } } }),
      300,
      false,
    );
    expect(thresholdOf(weighted.last, 'refusal_rate')?.verdict).toBe('fail');
  });

  it('fails a clear breach of an error-rate maximum, with the lower bound as evidence', async () => {
    const { last, evaluations } = await run(simulation({ errorRate: 0.08 }), thresholdsOnly(), 300);
    expect(last.result.verdict).toBe('fail');
    expect(last.result.thresholdFailure).toBe(true);
    expect(last.result.sequentialFailure).toBe(false);
    const evidence = thresholdOf(last, 'error_rate');
    expect(evidence?.verdict).toBe('fail');
    expect(evidence?.effect?.lower).toBeGreaterThan(0.01);
    expect(evidence?.statistic?.eValue).toBeGreaterThanOrEqual(evidence?.statistic?.boundary ?? Number.NaN);
    expect(evidence?.unit).toBe('subject');
    expect(evidence?.reason).toMatch(/[\d.]+% lower bound [\d.]+% — above the 1\.0% limit\.$/);
    // Caught at the first evaluation after warm-up (60 s), not after minutes of evidence.
    expect(evaluations.length).toBeLessThanOrEqual(14);
  });

  it('fails a clear breach of a tool-success minimum, with the upper bound as evidence', async () => {
    const { last } = await run(simulation({ toolFailureRate: 0.25 }), thresholdsOnly(), 300);
    const evidence = thresholdOf(last, 'tool_success_rate');
    expect(evidence?.verdict).toBe('fail');
    expect(evidence?.effect?.upper).toBeLessThan(0.95);
    expect(evidence?.effect?.value).toBeLessThan(evidence?.effect?.upper ?? 0);
    expect(evidence?.reason).toMatch(/[\d.]+% upper bound [\d.]+% — below the 95\.0% limit\.$/);
  });

  it('fails a toxic canary on the bound of a mean score', async () => {
    const { last } = await run(simulation({ toxicityMean: 0.4 }), thresholdsOnly(), 300);
    const evidence = thresholdOf(last, 'toxicity');
    expect(evidence?.verdict).toBe('fail');
    expect(evidence?.effect?.name).toBe('mean_toxicity');
    expect(evidence?.effect?.lower).toBeGreaterThan(0.1);
    const healthy = await run(simulation({}), thresholdsOnly(), 300);
    expect(thresholdOf(healthy.last, 'toxicity')?.verdict).toBe('pass');
  });

  it('needs more evidence at a smaller share of alpha for thresholds', async () => {
    const canary = { errorRate: 0.03 };
    const loose = await run(simulation(canary), thresholdsOnly({ alphaTotal: 0.5, thresholdAlphaShare: 0.9 }), 600);
    const strict = await run(simulation(canary), thresholdsOnly({ thresholdAlphaShare: 0.001 }), 600);
    expect(loose.last.result.thresholdFailure).toBe(true);
    expect(strict.evaluations.length).toBeGreaterThan(loose.evaluations.length);
  });
});

describe('createGate (weighted mode, the article scoring)', () => {
  it('scores passing weights over measured weights: pass >= 0.8, warn >= 0.5, else fail', async () => {
    // Weights: latency 1, error 2, tool 2, refusal 1, similarity 1, toxicity 1 = 8
    // (thumbs-down has no limit by default, so it is not scored).
    const weighted = (canary: Partial<Behaviour>) =>
      run(simulation(canary), config({ mode: 'weighted', warnMarginFraction: 0 }), 300, false);
    const healthy = await weighted({});
    expect(healthy.last.result.verdict).toBe('pass');
    expect(healthy.last.result.reason).toContain('weighted score 1.00');
    // Refusal fails: 7/8 = 0.875 -> pass.
    const refusing = await weighted({ refusalRate: 0.2 });
    expect(refusing.last.result.reason).toContain('weighted score 0.88');
    expect(refusing.last.result.verdict).toBe('pass');
    // Error and tool fail: 4/8 = 0.5 -> warn.
    const broken = await weighted({ errorRate: 0.2, toolFailureRate: 0.2 });
    expect(broken.last.result.reason).toContain('weighted score 0.50');
    expect(broken.last.result.verdict).toBe('warn');
    // Error, tool and refusal fail: 3/8 -> fail, as a threshold failure.
    const worse = await weighted({ errorRate: 0.2, toolFailureRate: 0.2, refusalRate: 0.2 });
    expect(worse.last.result.verdict).toBe('fail');
    expect(worse.last.result.thresholdFailure).toBe(true);
    expect(worse.last.result.sequentialFailure).toBe(false);
  });
});
