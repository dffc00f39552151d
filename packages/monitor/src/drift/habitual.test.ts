/**
 * The monitor over habitual users, through the real behaviour processor: heavy users who
 * come and go swing the per-call tool mix from hour to hour, which a monitor counting
 * calls takes for drift; counted over users, the same traffic is quiet, and real changes
 * (a 10-point move of the tool mix, a tail-only slowdown) are still caught.
 */
import { RolloutStore } from '@agent-canary/controller';
import { BehaviorSpanProcessor, selectSeries } from '@agent-canary/processor';
import { multinomialDriftTest } from '@agent-canary/stats';
import { afterEach, describe, expect, it } from 'vitest';
import { HabitualTraffic, type HabitualTrafficOptions, type TrafficChange } from './habitual-traffic.test-helper.js';
import { createBehaviorMonitor } from './monitor.js';
import type { MonitorAlertRecord } from './types.js';
import { processorBehaviorSource } from './window.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const START = Date.UTC(2026, 10, 2, 0, 0, 0);

const stores: RolloutStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

/**
 * Runs `hours` of traffic after a baseline hour, ticking the monitor every 5 minutes;
 * returns the alerts it raised and the processor (for per-call comparisons).
 */
async function watch(
  traffic: Partial<HabitualTrafficOptions> & { seed: string },
  hours: number,
  change?: TrafficChange,
) {
  const simulation = new HabitualTraffic(traffic, START - HOUR, change);
  const processor = new BehaviorSpanProcessor({
    now: simulation.now,
    bucketMillis: 60_000,
    retentionMillis: 48 * HOUR,
  });
  const store = new RolloutStore();
  stores.push(store);
  let now = START;
  const monitor = createBehaviorMonitor({
    store,
    source: processorBehaviorSource(processor),
    clock: () => now,
    release: 'v1',
  });
  const raised: MonitorAlertRecord[] = [];
  for (let at = START; at <= START + hours * HOUR; at += 5 * MINUTE) {
    simulation.run(processor, at);
    now = at;
    raised.push(...(await monitor.tick()).raised);
  }
  return { raised, processor, monitor };
}

/** Tool calls of the release over [since, until), per tool, every call counted. */
function callMix(processor: BehaviorSpanProcessor, sinceMillis: number, untilMillis: number) {
  const aggregate = selectSeries(processor.window({ since: sinceMillis, until: untilMillis }), { release: 'v1' });
  return Object.fromEntries(Object.entries(aggregate.toolCalls).map(([tool, c]) => [tool, c.ok + c.error]));
}

/** Strongly habitual users with Zipf(1.3) activity; the 6 heaviest (half the turns) come and go by the hour. */
const SESSIONS: Partial<HabitualTrafficOptions> = {
  users: 5000,
  zipfExponent: 1.3,
  turnsPerHour: 3000,
  concentration: 2,
  sessionUsers: 6,
  sessionShare: 0.5,
};

describe('monitor over habitual users (real processor)', () => {
  it('raises no alert on 12 unchanged hours where counting calls would report a tool-mix drift', async () => {
    const { raised, processor } = await watch({ ...SESSIONS, seed: 's2' }, 12);
    expect(raised.map((alert) => `${alert.signal}: ${alert.evidence.reason}`)).toEqual([]);
    // The call-counting rule the monitor used before (Dirichlet-multinomial e-value with a TV
    // lower bound above 0.05, and one tool's share of CALLS moved by more than 15 points), on
    // the same spans: some hour looks like a large, "significant" drift.
    const baseline = callMix(processor, START - HOUR, START);
    const alarms: number[] = [];
    for (let hour = 0; hour < 12; hour += 1) {
      const counts = callMix(processor, START + hour * HOUR, START + (hour + 1) * HOUR);
      const test = multinomialDriftTest({ counts, baseline, alpha: 0.0001, tvTolerance: 0.05 });
      const moved = Math.max(...test.categories.map((c) => Math.abs(c.share - c.baselineShare)));
      if (test.alarm && moved > 0.15) alarms.push(hour);
    }
    expect(alarms.length).toBeGreaterThanOrEqual(6);
  });

  it('catches a 10-point move of the tool mix within a few windows, with the users behind each side', async () => {
    const change = { atMillis: START + 90 * MINUTE, tool: 'search', toolShareMove: -0.1 };
    const { raised, processor } = await watch({ seed: 'tool-move' }, 4, change);
    const alert = raised.find((record) => record.signal === 'tool_mix');
    expect(alert?.evidence).toMatchObject({ subject: 'search', unit: 'subject', effect: 'share_change' });
    const evidence = alert?.evidence;
    if (evidence === undefined) return;
    expect(evidence.firstSeenAtMillis).toBeGreaterThan(change.atMillis);
    expect(evidence.firstSeenAtMillis - change.atMillis).toBeLessThan(150 * MINUTE);
    expect(evidence.baselineValue - evidence.currentValue).toBeGreaterThan(0.05);
    expect(evidence.effectBound).toBeGreaterThanOrEqual(evidence.tolerance);
    // The units are users: each counted once in the window however many calls it made.
    const window = selectSeries(
      processor.window({ since: evidence.windowSinceMillis, until: evidence.windowUntilMillis }),
      { release: 'v1' },
    );
    const toolUsers = Object.values(window.subjectTools).reduce((sum, c) => sum + c.ok + c.error, 0);
    const toolCalls = Object.values(window.toolCalls).reduce((sum, c) => sum + c.ok + c.error, 0);
    expect(evidence.users).toBe(toolUsers);
    expect(evidence.users).toBeLessThan(toolCalls / 1.5);
    expect(evidence.baselineUsers).toBeGreaterThan(3000);
    expect(raised.filter((record) => record.signal !== 'tool_mix')).toEqual([]);
  });

  it('catches a tail-only slowdown (p95 and p99 ×1.5, median unchanged) on latency_tail, not on the KS distance', async () => {
    const change = { atMillis: START + 90 * MINUTE, tailFactor: 1.5 };
    const { raised } = await watch({ seed: 'tail' }, 4, change);
    expect(raised.map((record) => record.signal)).toEqual(['latency_tail']);
    const evidence = raised[0]?.evidence;
    expect(evidence).toMatchObject({ effect: 'quantile_ratio', unit: 'subject' });
    expect(evidence?.subject).toMatch(/^p9[59]$/);
    expect((evidence?.currentValue ?? 0) / (evidence?.baselineValue ?? 1)).toBeGreaterThan(1.35);
    expect(evidence?.effectBound).toBeGreaterThan(1.2);
  });
});
