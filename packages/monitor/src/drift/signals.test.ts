import { ConfigError } from '@agent-canary/conventions';
import { createRng, QuantileSketch } from '@agent-canary/stats';
import { describe, expect, it } from 'vitest';
import { resolveMonitorConfig } from './config.js';
import { evaluateSignals } from './signals.js';
import type { MonitorSignal, MonitorWindow, SignalEvaluation } from './types.js';

interface Spec {
  readonly users: number;
  /** Share of users with a refusal in the period. */
  readonly refusalShare?: number;
  readonly searchShare?: number;
  readonly billingShare?: number;
  readonly lengthScale?: number;
  readonly latencyScale?: number;
  /** Multiplies latencies above the median, up to ×tail at the p95 and beyond (median unchanged). */
  readonly tail?: number;
}

const LATENCY_SIGMA = 0.5;

/** A window of `users` seeded users, one observation each (a subject period's firsts). */
function windowOf(seed: string, spec: Spec): MonitorWindow {
  const rng = createRng(seed);
  const length = new QuantileSketch();
  const latency = new QuantileSketch();
  let refusals = 0;
  let thumbsDown = 0;
  const firstTopics: Record<string, number> = {};
  const firstTools: Record<string, number> = {};
  const median = spec.latencyScale ?? 1500;
  const p95 = median * Math.exp(1.645 * LATENCY_SIGMA);
  for (let i = 0; i < spec.users; i += 1) {
    if (rng.next() < (spec.refusalShare ?? 0.05)) refusals += 1;
    if (rng.next() < 0.02) thumbsDown += 1;
    length.add(Math.round((spec.lengthScale ?? 300) * Math.exp(0.6 * rng.normal())));
    let value = median * Math.exp(LATENCY_SIGMA * rng.normal());
    if (spec.tail !== undefined && value > median) {
      value *= 1 + (spec.tail - 1) * Math.min(1, Math.log(value / median) / Math.log(p95 / median));
    }
    latency.add(value);
    const topic = rng.next() < (spec.billingShare ?? 0.5) ? 'billing' : rng.next() < 0.6 ? 'tech' : 'other';
    firstTopics[topic] = (firstTopics[topic] ?? 0) + 1;
    const u = rng.next();
    const search = spec.searchShare ?? 0.4;
    const tool = u < search ? 'search' : u < search + (1 - search) / 2 ? 'db' : 'code';
    firstTools[tool] = (firstTools[tool] ?? 0) + 1;
  }
  const buckets = (sketch: QuantileSketch) => sketch.buckets().map((b) => ({ upper: b.upper, count: b.count }));
  return {
    turns: spec.users * 3,
    users: spec.users,
    turnUsers: spec.users,
    usersWith: { refusal: refusals, turn_error: 0, thumbs_down: thumbsDown, regenerate: 0, human_takeover: 0 },
    firstTools,
    firstTopics,
    latencyMillis: buckets(latency),
    outputLength: buckets(length),
  };
}

const config = resolveMonitorConfig({}, 3_600_000);
const alpha = config.alphaPerWindow / config.signals.length;
const baseline = { window: windowOf('baseline', { users: 5000 }), periods: 1 };

function statusOf(current: MonitorWindow, base = baseline): Record<MonitorSignal, SignalEvaluation> {
  return Object.fromEntries(evaluateSignals(base, current, config, alpha).map((e) => [e.signal, e])) as Record<
    MonitorSignal,
    SignalEvaluation
  >;
}

describe('evaluateSignals (users as the unit, materiality on a confidence bound)', () => {
  it('judges an unchanged window clear on every common signal, and raises no alarm on any', () => {
    const result = statusOf(windowOf('same', { users: 4000 }));
    for (const signal of ['tool_mix', 'topic_mix', 'response_length', 'latency', 'latency_tail'] as const) {
      expect(result[signal].status, `${signal}: ${result[signal].reason}`).toBe('clear');
    }
    for (const evaluation of Object.values(result)) {
      expect(evaluation.status, evaluation.reason).not.toBe('alarm');
      if (Number.isFinite(evaluation.effectBound)) expect(evaluation.effectBound).toBeLessThan(evaluation.tolerance);
    }
  });

  it('alarms on a share of users with a refusal that doubled, with the users behind each side as evidence', () => {
    const result = statusOf(windowOf('refusals', { users: 4000, refusalShare: 0.1 }));
    expect(result.refusal_rate).toMatchObject({
      status: 'alarm',
      unit: 'subject',
      effect: 'rate_ratio',
      subject: 'refusal',
      users: 4000,
      baselineUsers: 5000,
    });
    expect(result.refusal_rate.baselineValue).toBeCloseTo(0.05, 2);
    expect(result.refusal_rate.currentValue).toBeCloseTo(0.1, 2);
    expect(result.refusal_rate.effectBound).toBeGreaterThanOrEqual(result.refusal_rate.tolerance);
    expect(result.refusal_rate.effectBound).toBeLessThan(result.refusal_rate.effectSize);
    expect(result.refusal_rate.reason).toMatch(/of 5000 baseline users -> 10(\.\d)?% of 4000 users/);
    expect(result.response_length.status).toBe('clear');
  });

  it('never alarms on a point estimate past the tolerance that is not proven', () => {
    // 300 users: search's share moves 6 points, three times the tolerance, but the bounds
    // are ±8 points wide: which users showed up could do that.
    const result = statusOf(windowOf('few', { users: 300, searchShare: 0.46 }));
    expect(result.tool_mix.effectSize).toBeGreaterThan(result.tool_mix.tolerance);
    expect(result.tool_mix.effectBound).toBeLessThan(result.tool_mix.tolerance);
    expect(result.tool_mix.status).toBe('undecided');
    expect(result.tool_mix.reason).toMatch(/not proven/);
  });

  it('does not alarm on a proven change within the tolerance', () => {
    const mix = (search: number, users: number) => ({
      ...windowOf('counts', { users: 1000 }),
      users,
      firstTools: { search: search * users, db: ((1 - search) / 2) * users, code: ((1 - search) / 2) * users },
    });
    // 1.5 points up over a million users is proven, but within the 2-point tolerance.
    const result = statusOf(mix(0.415, 1_000_000), { window: mix(0.4, 1_000_000), periods: 1 });
    expect(result.tool_mix.effectBound).toBeGreaterThan(0);
    expect(result.tool_mix.status).toBe('clear');
  });

  it('alarms on a 10-point move of the tool mix over 4000 users, naming the tool', () => {
    const result = statusOf(windowOf('tools', { users: 4000, searchShare: 0.3 }));
    expect(result.tool_mix).toMatchObject({ status: 'alarm', subject: 'search', effect: 'share_change' });
    expect(result.tool_mix.effectBound).toBeGreaterThanOrEqual(0.02);
    expect(result.tool_mix.currentValue).toBeLessThan(result.tool_mix.baselineValue);
  });

  it('sees a tail-only slowdown (p95 ×1.5, median unchanged) that the KS distance of the whole distribution misses', () => {
    const result = statusOf(windowOf('tail', { users: 4000, tail: 1.5 }));
    expect(result.latency.status).not.toBe('alarm');
    expect(result.latency_tail).toMatchObject({ status: 'alarm', effect: 'quantile_ratio', unit: 'subject' });
    expect(result.latency_tail.subject).toMatch(/^p9[59]$/);
    expect(result.latency_tail.currentValue / result.latency_tail.baselineValue).toBeGreaterThan(1.4);
    expect(result.latency_tail.effectBound).toBeGreaterThan(config.maxTailLatencyRatio);
  });

  it('alarms on latency ×1.5 on both the distribution and the tail, and on longer answers', () => {
    const slow = statusOf(windowOf('slow', { users: 3000, latencyScale: 2250 }));
    expect(slow.latency).toMatchObject({ status: 'alarm', effect: 'ks_distance', subject: 'distribution' });
    expect(slow.latency_tail.status).toBe('alarm');
    const longer = statusOf(windowOf('longer', { users: 3000, lengthScale: 480 }));
    expect(longer.response_length.status).toBe('alarm');
    expect(longer.latency.status).toBe('clear');
  });

  it('alarms on a topic mix that moved, naming the topic', () => {
    const result = statusOf(windowOf('topics', { users: 3000, billingShare: 0.3 }));
    expect(result.topic_mix).toMatchObject({ status: 'alarm', subject: 'billing' });
  });

  it('stays undecided on too few users, and says what a source cannot tell', () => {
    const tiny = statusOf(windowOf('tiny', { users: 50, refusalShare: 0.5 }));
    expect(tiny.refusal_rate.status).toBe('undecided');
    expect(tiny.refusal_rate.reason).toMatch(/not enough users/);
    const { firstTools: _tools, latencyMillis: _latency, ...rest } = windowOf('metrics', { users: 4000 });
    const partial = statusOf({ ...rest, usersWith: { refusal: 200 } });
    expect(partial.tool_mix).toMatchObject({ status: 'undecided', reason: 'no per-user tool data from the source' });
    expect(partial.latency_tail.status).toBe('undecided');
    expect(partial.regenerate_rate.reason).toMatch(/does not count users with a regeneration/);
    expect(partial.refusal_rate.status).toBe('clear');
  });

  it('widens the baseline side when the baseline spans several subject periods', () => {
    const current = windowOf('periods', { users: 4000, searchShare: 0.35 });
    const one = statusOf(current, { window: baseline.window, periods: 1 });
    const six = statusOf(current, { window: baseline.window, periods: 6 });
    expect(six.tool_mix.effectBound).toBeLessThan(one.tool_mix.effectBound);
  });
});

describe('resolveMonitorConfig', () => {
  it('names the offending field', () => {
    expect(() => resolveMonitorConfig({ windowMillis: 0 })).toThrow(ConfigError);
    expect(() => resolveMonitorConfig({ alphaPerWindow: 1 })).toThrow(/alphaPerWindow/);
    expect(() => resolveMonitorConfig({ maxRateRatio: 0.9 })).toThrow(/maxRateRatio/);
    expect(() => resolveMonitorConfig({ signals: ['tool_mix', 'nope' as MonitorSignal] })).toThrow(/signals\[1\]/);
    expect(resolveMonitorConfig({ flagKey: 'agent' }).monitorId).toBe('monitor:agent');
  });

  it("takes the source's subject period as the window, and refuses another", () => {
    expect(resolveMonitorConfig({}, 1_800_000).windowMillis).toBe(1_800_000);
    expect(resolveMonitorConfig({}).windowMillis).toBe(3_600_000);
    expect(() => resolveMonitorConfig({ windowMillis: 3_600_000 }, 1_800_000)).toThrow(
      /windowMillis.*subject period \(1800000 ms\)/,
    );
  });
});
