import { type AgentSpanFacts, ConfigError, SPAN_CONVENTION } from '@agent-canary/conventions';
import { createRng } from '@agent-canary/stats';
import { describe, expect, it } from 'vitest';
import { BehaviorSpanProcessor } from './processor.js';
import { buildBehaviorProfile, compareProfiles, DRIFT_SIGNAL } from './profile.js';
import { selectSeries } from './snapshot.js';

interface Traffic {
  readonly tools: Readonly<Record<string, number>>;
  readonly lengthScale: number;
  readonly refusalRate: number;
  readonly topics: Readonly<Record<string, number>>;
}

const BASE: Traffic = {
  tools: { search: 0.4, db: 0.25, code: 0.15, email: 0.1, calendar: 0.1 },
  lengthScale: 1,
  refusalRate: 0.02,
  topics: { billing: 0.5, shipping: 0.3, returns: 0.2 },
};

function pick(weights: Readonly<Record<string, number>>, u: number): string {
  let cumulative = 0;
  const entries = Object.entries(weights);
  for (const [name, weight] of entries) {
    cumulative += weight;
    if (u < cumulative) return name;
  }
  return entries[entries.length - 1]?.[0] ?? 'none';
}

/** Seeded traffic (statistics.md §6): one tool call per turn, length = round(300·e^{0.6Z}). */
function profileOf(seed: string, traffic: Traffic, turns: number) {
  const rng = createRng(seed);
  const processor = new BehaviorSpanProcessor({ now: () => 0 });
  const base = { convention: SPAN_CONVENTION.genAi, startTimeMillis: 0, durationMillis: 1000, isError: false };
  for (let index = 0; index < turns; index++) {
    const ids = { traceId: `t${index}`, spanId: `s${index}`, release: 'v', cohort: 'canary' } as const;
    processor.record({ ...base, ...ids, kind: 'tool_call', toolName: pick(traffic.tools, rng.next()) });
    const facts: AgentSpanFacts = {
      ...base,
      ...ids,
      kind: 'turn',
      outputLength: Math.round(300 * traffic.lengthScale * Math.exp(0.6 * rng.normal())),
      refusal: rng.next() < traffic.refusalRate,
      topic: pick(traffic.topics, rng.next()),
    };
    processor.record(facts);
  }
  return buildBehaviorProfile(selectSeries(processor.window({ since: -1, until: 1 }), {}));
}

describe('behaviour profiles and drift', () => {
  it('builds the article profile from window aggregates', () => {
    const profile = profileOf('profile', BASE, 2000);
    expect(profile.turns).toBe(2000);
    expect(profile.toolCalls).toBe(2000);
    expect(Object.values(profile.toolCallDistribution).reduce((sum, share) => sum + share, 0)).toBeCloseTo(1, 12);
    expect(profile.toolCallDistribution.search).toBeGreaterThan(0.35);
    expect(profile.toolCallDistribution.search).toBeLessThan(0.45);
    // Mean of 300·e^{0.6Z} is 300·e^{0.18} ≈ 359.
    expect(profile.avgResponseLength).toBeGreaterThan(340);
    expect(profile.avgResponseLength).toBeLessThan(380);
    expect(profile.refusalIndicators.refusalRate).toBeLessThan(0.04);
    expect(Object.keys(profile.topicDistribution).sort()).toEqual(['billing', 'returns', 'shipping']);
  });

  it('reports no drift between two samples of the same traffic (A/A)', () => {
    const report = compareProfiles(profileOf('a', BASE, 2000), profileOf('b', BASE, 2000));
    expect(report.drifted).toBe(false);
    // Not vacuous: every signal was compared, on enough data.
    expect(report.signals.length).toBeGreaterThan(0);
    expect(report.signals.every((signal) => signal.enoughData)).toBe(true);
  });

  it('flags the article per-tool share drift above 0.15 and names the tool', () => {
    const shifted = { ...BASE, tools: { search: 0.15, db: 0.5, code: 0.15, email: 0.1, calendar: 0.1 } };
    const report = compareProfiles(profileOf('a', BASE, 2000), profileOf('b', shifted, 2000));
    expect(report.drifted).toBe(true);
    const drifted = report.signals.filter((signal) => signal.drifted);
    expect(
      drifted
        .filter((s) => s.signal === DRIFT_SIGNAL.toolShare)
        .map((s) => s.tool)
        .sort(),
    ).toEqual(['db', 'search']);
    const search = drifted.find((signal) => signal.tool === 'search');
    expect(search?.value).toBeGreaterThan(0.2);
    expect(search?.currentSamples).toBe(2000);
    expect(search?.reason).toMatch(/share of tool search moved/);
    expect(drifted.map((signal) => signal.signal)).toEqual(
      expect.arrayContaining([DRIFT_SIGNAL.toolMixJs, DRIFT_SIGNAL.toolMixPsi]),
    );
    expect(drifted.map((signal) => signal.signal)).not.toContain(DRIFT_SIGNAL.lengthKs);
  });

  it('flags answer-length drift by KS and W1, and a refusal-rate rise', () => {
    const longer = { ...BASE, lengthScale: 1.3, refusalRate: 0.08 };
    const report = compareProfiles(profileOf('a', BASE, 2000), profileOf('b', longer, 2000));
    const names = report.signals.filter((signal) => signal.drifted).map((signal) => signal.signal);
    expect(names).toEqual(
      expect.arrayContaining([DRIFT_SIGNAL.lengthKs, DRIFT_SIGNAL.lengthW1, DRIFT_SIGNAL.refusalRate]),
    );
    expect(names).not.toContain(DRIFT_SIGNAL.toolShare);
    const w1 = report.signals.find((signal) => signal.signal === DRIFT_SIGNAL.lengthW1);
    expect(w1?.value).toBeGreaterThan(0.2);
    expect(w1?.value).toBeLessThan(0.4);
  });

  it('says "not enough data" instead of drifting on tiny samples', () => {
    const shifted = { ...BASE, tools: { search: 0.05, db: 0.95 } };
    const report = compareProfiles(profileOf('a', BASE, 30), profileOf('b', shifted, 30));
    expect(report.drifted).toBe(false);
    expect(report.signals[0]?.reason).toMatch(/not enough data/);
    expect(() => compareProfiles(profileOf('a', BASE, 1), profileOf('b', BASE, 1), { minSamples: -1 })).toThrow(
      ConfigError,
    );
  });
});
