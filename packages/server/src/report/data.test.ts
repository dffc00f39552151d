import type { GateResult } from '@agent-canary/gate';
import { describe, expect, it } from 'vitest';
import { buildReportData, checkSeriesOf, thinCheckSeries } from './data.js';
import { sharesOfLabel, toolMixOfSnapshot } from './store-view.js';
import { memoryReportSource, syntheticRollout } from './synthetic-rollout.js';

describe('buildReportData', () => {
  const rollout = syntheticRollout();

  it('builds the share timeline, with every point summing to 100 and the rollback winning its instant', async () => {
    const data = await buildReportData(memoryReportSource([rollout]), rollout.summary.id, rollout.endMillis + 1);
    expect(data).toBeDefined();
    for (const point of data!.share) expect(point.stable + point.canary + point.control).toBeCloseTo(100, 9);
    const times = data!.share.map((point) => point.atMillis);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(data!.share.at(-1)).toMatchObject({ canary: 0, control: 0, stable: 100 });
    expect(data!.share.find((point) => point.canary === 50)).toMatchObject({ control: 50, stable: 0 });
    expect(data!.startMillis).toBe(rollout.history.transitions[0]?.atMillis);
    expect(data!.endMillis).toBe(rollout.endMillis);
  });

  it('groups checks into one series per check, one point per evaluation', async () => {
    const data = await buildReportData(memoryReportSource([rollout]), rollout.summary.id);
    const evaluations = rollout.history.evaluations.length;
    expect(data!.checks.map((series) => series.check)).toEqual([
      'error_rate',
      'latency_p99',
      'tool_success_rate',
      'refusal_rate',
      'tool_mix',
    ]);
    for (const series of data!.checks) expect(series.points).toHaveLength(evaluations);
    const tool = data!.checks.find((series) => series.check === 'tool_success_rate')!;
    const last = tool.points.at(-1)!;
    expect(last.verdict).toBe('fail');
    expect(last.statistic!.eValue).toBeGreaterThanOrEqual(last.statistic!.boundary);
    expect(last.canary).toBeLessThan(last.control!);
    expect(data!.requests).toHaveLength(evaluations);
  });

  it('keeps a check judged by two methods as two series (a failure rate tested, a success rate limited)', () => {
    const result = (at: number): GateResult => ({
      verdict: 'pass',
      sequentialFailure: false,
      thresholdFailure: false,
      sampleRatioMismatch: false,
      requests: { canary: 100, control: 100, stable: 800 },
      subjects: { canary: 60, control: 60, stable: 500 },
      reason: 'pass',
      evaluatedAtMillis: at,
      checks: [
        {
          check: 'tool_success_rate',
          method: 'sequential',
          verdict: 'pass',
          unit: 'subject',
          measurements: [{ cohort: 'canary', value: 0.007, samples: 60 }],
          reason: 'failure rate',
        },
        {
          check: 'tool_success_rate',
          method: 'threshold',
          verdict: 'pass',
          unit: 'tool_call',
          measurements: [{ cohort: 'canary', value: 0.99, samples: 200 }],
          reason: 'success rate',
        },
      ],
    });
    const series = checkSeriesOf([result(1), result(2)]);
    expect(series.map((entry) => [entry.check, entry.method, entry.points.map((point) => point.canary)])).toEqual([
      ['tool_success_rate', 'sequential', [0.007, 0.007]],
      ['tool_success_rate', 'threshold', [0.99, 0.99]],
    ]);
  });

  it('keeps every transition as a decision with its evidence, and manual ones without', async () => {
    const data = await buildReportData(memoryReportSource([rollout]), rollout.summary.id);
    expect(data!.decisions.map((decision) => `${decision.cause}:${decision.to}`)).toEqual([
      'start:canary@5%',
      'tick:canary@20%',
      'pause:paused@20%',
      'resume:canary@20%',
      'tick:canary@50%',
      'tick:rolled_back',
    ]);
    expect(data!.decisions.at(-1)!.verdict).toBe('fail');
    expect(data!.decisions.at(-1)!.evidence.length).toBeGreaterThan(0);
    expect(data!.decisions[2]!.evidence).toEqual([]);
    expect(data!.decisions[2]!.actor).toBe('bob');
  });

  it('returns undefined for an unknown rollout', async () => {
    await expect(buildReportData(memoryReportSource([rollout]), 'nope')).resolves.toBeUndefined();
  });
});

describe('reading the controller store', () => {
  it('sharesOfLabel reads the split from a transition label', () => {
    expect(sharesOfLabel('canary@5%')).toEqual({ canaryPercent: 5, controlPercent: 5 });
    expect(sharesOfLabel('paused@50%')).toEqual({ canaryPercent: 50, controlPercent: 50 });
    expect(sharesOfLabel('awaiting_approval@60%')).toEqual({ canaryPercent: 60, controlPercent: 40 });
    expect(sharesOfLabel('promoted')).toEqual({ canaryPercent: 100, controlPercent: 0 });
    expect(sharesOfLabel('rolled_back')).toEqual({ canaryPercent: 0, controlPercent: 0 });
  });

  it('toolMixOfSnapshot reads per-tool shares from a gate snapshot, and nothing from other shapes', () => {
    const snapshot = {
      source: 'in-process',
      windows: {
        cohorts: {
          canary: { toolCallsByName: { search: { calls: 30 }, refund: { calls: 10 } } },
          control: { toolCallsByName: { search: { calls: 45 }, refund: { calls: 5 } } },
        },
      },
    };
    expect(toolMixOfSnapshot(snapshot)).toEqual({
      tools: ['search', 'refund'],
      share: { canary: [0.75, 0.25], control: [0.9, 0.1] },
    });
    expect(toolMixOfSnapshot({ source: 'prometheus', error: 'down' })).toBeUndefined();
    expect(toolMixOfSnapshot(undefined)).toBeUndefined();
  });
});

describe('thinCheckSeries', () => {
  it('keeps about maxPoints points per series: each bucket’s last point and e-value peak, and every failing point', () => {
    const points = Array.from({ length: 2000 }, (_, index) => ({
      atMillis: index * 1000,
      verdict: index === 1234 ? ('fail' as const) : ('pass' as const),
      canary: index,
      statistic: { eValue: index === 777 ? 50 : 1, boundary: 400, alpha: 0.0025 },
    }));
    const series = [{ check: 'error_rate', method: 'sequential' as const, unit: 'subject', points }];
    const [thinned] = thinCheckSeries(series, 200, 0, 1_999_000);
    expect(thinned!.points.length).toBeLessThanOrEqual(201);
    expect(thinned!.points.length).toBeGreaterThan(90);
    const times = thinned!.points.map((point) => point.atMillis);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times).toContain(1_234_000);
    expect(times).toContain(777_000);
    expect(times.at(-1)).toBe(1_999_000);
    // Short series stay as they are.
    expect(thinCheckSeries(series, 5000, 0, 1_999_000)[0]).toBe(series[0]);
  });
});
