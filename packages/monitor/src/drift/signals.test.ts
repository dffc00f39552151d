import { ConfigError, FEEDBACK_KIND } from '@agent-canary/conventions';
import { createRng, QuantileSketch } from '@agent-canary/stats';
import { describe, expect, it } from 'vitest';
import { resolveMonitorConfig } from './config.js';
import { evaluateSignals } from './signals.js';
import type { MonitorSignal, MonitorWindow, SignalEvaluation } from './types.js';

interface Spec {
  readonly turns: number;
  readonly refusalRate?: number;
  readonly thumbsDownRate?: number;
  readonly lengthScale?: number;
  readonly latencyScale?: number;
  readonly billingShare?: number;
}

/** A window of `turns` seeded turns; each spec field moves one signal. */
function windowOf(seed: string, spec: Spec): MonitorWindow {
  const rng = createRng(seed);
  const length = new QuantileSketch();
  const latency = new QuantileSketch();
  let refusals = 0;
  let thumbsDown = 0;
  const topics: Record<string, number> = {};
  const toolCalls: Record<string, number> = {};
  for (let i = 0; i < spec.turns; i += 1) {
    if (rng.next() < (spec.refusalRate ?? 0.02)) refusals += 1;
    if (rng.next() < (spec.thumbsDownRate ?? 0.01)) thumbsDown += 1;
    length.add(Math.round((spec.lengthScale ?? 300) * Math.exp(0.6 * rng.normal())));
    latency.add((spec.latencyScale ?? 1500) * Math.exp(0.5 * rng.normal()));
    const topic = rng.next() < (spec.billingShare ?? 0.5) ? 'billing' : rng.next() < 0.6 ? 'tech' : 'other';
    topics[topic] = (topics[topic] ?? 0) + 1;
    const tool = rng.next() < 0.5 ? 'search' : 'db';
    toolCalls[tool] = (toolCalls[tool] ?? 0) + 1;
  }
  const buckets = (sketch: QuantileSketch) => sketch.buckets().map((b) => ({ upper: b.upper, count: b.count }));
  return {
    turns: spec.turns,
    errors: 0,
    refusals,
    toolCalls,
    topics,
    feedback: { [FEEDBACK_KIND.thumbsDown]: thumbsDown },
    latencyMillis: buckets(latency),
    outputLength: buckets(length),
  };
}

const config = resolveMonitorConfig();
const alpha = config.alphaPerWindow / config.signals.length;
const baseline = windowOf('baseline', { turns: 3000 });

function statusOf(current: MonitorWindow): Record<MonitorSignal, SignalEvaluation> {
  return Object.fromEntries(evaluateSignals(baseline, current, config, alpha).map((e) => [e.signal, e])) as Record<
    MonitorSignal,
    SignalEvaluation
  >;
}

describe('evaluateSignals', () => {
  it('judges an unchanged window clear on every signal that has data', () => {
    const result = statusOf(windowOf('same', { turns: 2000 }));
    for (const signal of [
      'tool_mix',
      'topic_mix',
      'response_length',
      'latency',
      'refusal_rate',
      'error_rate',
    ] as const) {
      expect(result[signal].status, `${signal}: ${result[signal].reason}`).toBe('clear');
    }
  });

  it('alarms on a refusal rate that tripled, with the rates and the e-value as evidence', () => {
    const result = statusOf(windowOf('refusals', { turns: 2000, refusalRate: 0.06 }));
    expect(result.refusal_rate).toMatchObject({ status: 'alarm', effect: 'rate_increase', statistic: 'e_value' });
    expect(result.refusal_rate.baselineValue).toBeCloseTo(0.02, 2);
    expect(result.refusal_rate.currentValue).toBeCloseTo(0.06, 2);
    expect(result.refusal_rate.statisticValue).toBeGreaterThanOrEqual(result.refusal_rate.boundary);
    expect(result.response_length.status).toBe('clear');
  });

  it('does not alarm on a rate increase below the effect-size threshold, however sure', () => {
    // +1 point is proven on 20 000 turns, but below maxRateIncrease (2 points).
    const result = statusOf(windowOf('small', { turns: 20_000, thumbsDownRate: 0.02 }));
    expect(result.thumbs_down_rate.statisticValue).toBeGreaterThanOrEqual(result.thumbs_down_rate.boundary);
    expect(result.thumbs_down_rate.status).toBe('undecided');
  });

  it('alarms on answers that got 60% longer (KS lower bound above 0.1), not on latency', () => {
    const result = statusOf(windowOf('longer', { turns: 2000, lengthScale: 480 }));
    expect(result.response_length).toMatchObject({ status: 'alarm', effect: 'ks_distance', subject: 'median' });
    expect(result.response_length.currentValue).toBeGreaterThan(result.response_length.baselineValue);
    expect(result.latency.status).toBe('clear');
  });

  it('alarms on a topic mix that moved, naming the topic', () => {
    const result = statusOf(windowOf('topics', { turns: 2000, billingShare: 0.25 }));
    expect(result.topic_mix).toMatchObject({ status: 'alarm', subject: 'billing' });
  });

  it('stays undecided on too little data', () => {
    const result = statusOf(windowOf('tiny', { turns: 50, refusalRate: 0.5 }));
    expect(result.refusal_rate.status).toBe('undecided');
    expect(result.refusal_rate.reason).toMatch(/not enough data/);
  });
});

describe('resolveMonitorConfig', () => {
  it('names the offending field', () => {
    expect(() => resolveMonitorConfig({ windowMillis: 0 })).toThrow(ConfigError);
    expect(() => resolveMonitorConfig({ alphaPerWindow: 1 })).toThrow(/alphaPerWindow/);
    expect(() => resolveMonitorConfig({ signals: ['tool_mix', 'nope' as MonitorSignal] })).toThrow(/signals\[1\]/);
    expect(resolveMonitorConfig({ flagKey: 'agent' }).monitorId).toBe('monitor:agent');
  });
});
