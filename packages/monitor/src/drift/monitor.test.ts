import type { Notification, Notifier } from '@agent-canary/controller';
import { RolloutStore } from '@agent-canary/controller';
import { createRng, QuantileSketch } from '@agent-canary/stats';
import { afterEach, describe, expect, it } from 'vitest';
import { createRelease } from '../registry/registry.js';
import { createBehaviorMonitor } from './monitor.js';
import type { DriftNotification } from './runtime.js';
import { MONITOR_PHASE } from './status.js';
import type { BehaviorWindowSource, MonitorWindow } from './types.js';
import { emptyMonitorWindow, mergeMonitorWindows } from './window.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const START = Date.UTC(2026, 10, 26, 0, 0, 0);
const TOOLS = ['search', 'db', 'code', 'email', 'calendar'] as const;

/** Share of `search` at a time; the other tools share the rest in their baseline proportions. */
type SearchShare = (atMillis: number) => number;

/**
 * A seeded simulated stable release: `usersPerMinute` new users each minute, each counted
 * once (its first turn, tool call and topic), every minute drawn from its own sub-stream,
 * so any range reads the same data whatever the order of the reads.
 */
function simulatedRelease(options: {
  seed: string;
  usersPerMinute: number;
  searchShare: SearchShare;
  release?: string;
}) {
  const minutes = new Map<number, MonitorWindow>();
  const release = options.release ?? 'v1';
  let reads = 0;
  const minute = (index: number): MonitorWindow => {
    const cached = minutes.get(index);
    if (cached) return cached;
    const rng = createRng(`${options.seed}:${index}`);
    const at = START + index * MINUTE;
    const search = options.searchShare(at);
    const rest = (1 - search) / 0.6;
    const shares = [search, 0.25 * rest, 0.15 * rest, 0.1 * rest, 0.1 * rest];
    const firstTools: Record<string, number> = {};
    const firstTopics: Record<string, number> = {};
    const usersWith = { turn_error: 0, refusal: 0, thumbs_down: 0, regenerate: 0, human_takeover: 0 };
    const latency = new QuantileSketch();
    const length = new QuantileSketch();
    for (let user = 0; user < options.usersPerMinute; user += 1) {
      if (rng.next() < 0.9) {
        let u = rng.next();
        let tool: string = 'calendar';
        for (let j = 0; j < TOOLS.length; j += 1) {
          u -= shares[j] ?? 0;
          if (u < 0) {
            tool = TOOLS[j] ?? tool;
            break;
          }
        }
        firstTools[tool] = (firstTools[tool] ?? 0) + 1;
      }
      const topicDraw = rng.next();
      const topic = topicDraw < 0.5 ? 'billing' : topicDraw < 0.8 ? 'tech' : 'other';
      firstTopics[topic] = (firstTopics[topic] ?? 0) + 1;
      if (rng.next() < 0.02) usersWith.turn_error += 1;
      if (rng.next() < 0.05) usersWith.refusal += 1;
      if (rng.next() < 0.02) usersWith.thumbs_down += 1;
      if (rng.next() < 0.02) usersWith.regenerate += 1;
      latency.add(1500 * Math.exp(0.5 * rng.normal()));
      length.add(Math.round(300 * Math.exp(0.6 * rng.normal())));
    }
    const window: MonitorWindow = {
      turns: 3 * options.usersPerMinute,
      users: options.usersPerMinute,
      turnUsers: options.usersPerMinute,
      usersWith,
      firstTools,
      firstTopics,
      latencyMillis: latency.buckets().map((b) => ({ upper: b.upper, count: b.count })),
      outputLength: length.buckets().map((b) => ({ upper: b.upper, count: b.count })),
    };
    minutes.set(index, window);
    return window;
  };
  const source: BehaviorWindowSource = {
    name: 'simulation',
    async read(query) {
      reads += 1;
      if (query.release !== release) return { ok: true, window: emptyMonitorWindow() };
      const first = Math.ceil((query.sinceMillis - START) / MINUTE);
      const last = Math.ceil((query.untilMillis - START) / MINUTE);
      const windows: MonitorWindow[] = [emptyMonitorWindow()];
      for (let index = Math.max(0, first); index < last; index += 1) windows.push(minute(index));
      return { ok: true, window: mergeMonitorWindows(...windows) };
    },
  };
  return { source, reads: () => reads };
}

function recordingNotifier(): Notifier & { readonly sent: Notification[] } {
  const sent: Notification[] = [];
  return {
    name: 'recording',
    sent,
    async notify(notification) {
      sent.push(notification);
      return { delivered: true, attempts: 1 };
    },
  };
}

const stores: RolloutStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

function setup(searchShare: SearchShare, seed = 'monitor') {
  const store = new RolloutStore();
  stores.push(store);
  let now = START;
  const notifier = recordingNotifier();
  const simulation = simulatedRelease({ seed, usersPerMinute: 30, searchShare });
  const make = () =>
    createBehaviorMonitor({
      store,
      source: simulation.source,
      notifiers: [notifier],
      clock: () => now,
      release: 'v1',
    });
  const monitor = make();
  const advanceTo = async (atMillis: number, stepMillis = 5 * MINUTE, target = monitor) => {
    while (now < atMillis) {
      now = Math.min(atMillis, now + stepMillis);
      await target.tick();
    }
  };
  return { store, monitor, notifier, advanceTo, make, now: () => now };
}

/** 40% until `from`, falling linearly to 20% at `to`, 20% after. */
function slowDrift(from: number, to: number): SearchShare {
  return (at) => (at <= from ? 0.4 : at >= to ? 0.2 : 0.4 - (0.2 * (at - from)) / (to - from));
}

describe('behaviour monitor', () => {
  it('freezes a baseline after baselineMillis, then raises no alert over 48 h of unchanged behaviour', async () => {
    const { monitor, notifier, advanceTo, store } = setup(() => 0.4, 'steady');
    const first = await monitor.tick();
    expect(first.phase).toBe(MONITOR_PHASE.collectingBaseline);
    await advanceTo(START + HOUR);
    // The simulation starts at START: its first whole window (1800 users ≥ minBaselineUsers) is the baseline.
    expect(monitor.status()).toMatchObject({
      phase: MONITOR_PHASE.monitoring,
      baseline: { release: 'v1', sinceMillis: START, untilMillis: START + HOUR, periods: 1, users: 1800 },
    });
    await advanceTo(START + 49 * HOUR);
    expect(notifier.sent).toEqual([]);
    expect(store.monitorAlerts(monitor.config.monitorId)).toEqual([]);
    expect(monitor.status().windowIndex).toBeGreaterThanOrEqual(48);
  });

  it('raises exactly one tool-mix alert with its evidence when one tool falls from 40% to 20% over an hour', async () => {
    const driftStart = START + 3 * HOUR;
    const driftEnd = START + 4 * HOUR;
    const { monitor, notifier, advanceTo } = setup(slowDrift(driftStart, driftEnd), 'drift');
    await advanceTo(START + 12 * HOUR);
    expect(notifier.sent).toHaveLength(1);
    const alert = notifier.sent[0] as DriftNotification;
    expect(alert).toMatchObject({ kind: 'alert', severity: 'warn', stableRelease: 'v1' });
    const evidence = alert.drift;
    expect(evidence).toMatchObject({
      signal: 'tool_mix',
      status: 'alarm',
      subject: 'search',
      release: 'v1',
      unit: 'subject',
      effect: 'share_change',
    });
    expect(evidence.baselineValue).toBeGreaterThan(0.36);
    expect(evidence.baselineValue).toBeLessThan(0.44);
    expect(evidence.currentValue).toBeLessThan(0.3);
    // Judged on the bound, not the estimate: the proven change is past the tolerance and below the estimate.
    expect(evidence.effectBound).toBeGreaterThanOrEqual(evidence.tolerance);
    expect(evidence.effectBound).toBeLessThan(evidence.effectSize);
    // Users behind each side: the baseline's users with a tool call, and the window's so far.
    expect(evidence.baselineUsers).toBeGreaterThan(1500);
    expect(evidence.baselineUsers).toBeLessThan(1800);
    expect(evidence.users).toBeGreaterThanOrEqual(200);
    expect(evidence.reason).toContain(`of ${evidence.baselineUsers} baseline users`);
    expect(evidence.firstSeenAtMillis).toBeGreaterThan(driftStart);
    // Detected within two windows of the drift's end, not only at some far boundary.
    expect(evidence.firstSeenAtMillis).toBeLessThanOrEqual(driftEnd + 2 * HOUR);
    expect(evidence.windowSinceMillis).toBeGreaterThanOrEqual(evidence.baselineUntilMillis);
    expect(monitor.status().openAlerts.map((a) => a.signal)).toEqual(['tool_mix']);
  });

  it('clears and re-arms after clean windows, and alerts again when the drift returns', async () => {
    const share: SearchShare = (at) =>
      at >= START + 3 * HOUR && at < START + 6 * HOUR ? 0.2 : at >= START + 12 * HOUR ? 0.2 : 0.4;
    const { monitor, notifier, advanceTo } = setup(share, 'rearm');
    await advanceTo(START + 11 * HOUR);
    expect(notifier.sent.map((n) => n.kind)).toEqual(['alert', 'alert_cleared']);
    expect(monitor.status().openAlerts).toEqual([]);
    await advanceTo(START + 15 * HOUR);
    expect(notifier.sent.map((n) => n.kind)).toEqual(['alert', 'alert_cleared', 'alert']);
  });

  it('resumes from the store after a restart: same baseline, same window', async () => {
    const { monitor, advanceTo, make, store } = setup(() => 0.4, 'restart');
    await advanceTo(START + 3 * HOUR);
    const before = monitor.status();
    const restarted = make();
    expect(restarted.status()).toEqual(before);
    await advanceTo(START + 5 * HOUR, 5 * MINUTE, restarted);
    expect(store.baselines('v1')).toHaveLength(1);
    expect(restarted.status().windowIndex).toBeGreaterThan(before.windowIndex);
  });

  it('keeps one alert across a restart', async () => {
    const { notifier, advanceTo, make } = setup(slowDrift(START + 2 * HOUR, START + 2 * HOUR + 1), 'restart-alert');
    await advanceTo(START + 6 * HOUR);
    expect(notifier.sent).toHaveLength(1);
    const restarted = make();
    await advanceTo(START + 10 * HOUR, 5 * MINUTE, restarted);
    expect(notifier.sent).toHaveLength(1);
    expect(restarted.status().openAlerts).toHaveLength(1);
  });

  it('accepts a new normal on demand: freezeBaseline clears the open alert', async () => {
    const { monitor, notifier, advanceTo, now } = setup(slowDrift(START + 2 * HOUR, START + 2 * HOUR + 1), 'refreeze');
    await advanceTo(START + 6 * HOUR);
    expect(monitor.status().openAlerts).toHaveLength(1);
    const frozen = await monitor.freezeBaseline({ actor: 'ana', reason: 'new search ranking is intended' });
    expect(frozen.ok).toBe(true);
    expect(monitor.status()).toMatchObject({ openAlerts: [], baseline: { actor: 'ana', untilMillis: now() } });
    await advanceTo(START + 14 * HOUR);
    expect(notifier.sent.map((n) => n.kind)).toEqual(['alert', 'alert_cleared']);
  });

  it('follows the stable release of the registry and waits for a baseline with enough turns', async () => {
    const store = new RolloutStore();
    stores.push(store);
    let now = START;
    const simulation = simulatedRelease({
      seed: 'registry',
      usersPerMinute: 10,
      searchShare: () => 0.4,
      release: 'v7',
    });
    const monitor = createBehaviorMonitor({ store, source: simulation.source, clock: () => now, flagKey: 'agent' });
    expect((await monitor.tick()).phase).toBe(MONITOR_PHASE.idle);
    createRelease(store, { id: 'v7', promptHash: 'abc', model: 'm', status: 'stable' }, { clock: () => now });
    expect(await monitor.tick()).toMatchObject({ phase: MONITOR_PHASE.collectingBaseline, release: 'v7' });
    now += HOUR;
    // 600 users in the window: below minBaselineUsers (1000), so collection goes on, a window at a time.
    expect((await monitor.tick()).reason).toMatch(/600 users .* need 1000/);
    now += HOUR;
    expect(await monitor.tick()).toMatchObject({ phase: MONITOR_PHASE.monitoring, baselineFrozen: true });
    expect(monitor.status().baseline).toMatchObject({ periods: 2, users: 1200 });
  });

  it('holds on source failures and reports them', async () => {
    const store = new RolloutStore();
    stores.push(store);
    const monitor = createBehaviorMonitor({
      store,
      source: { name: 'down', read: async () => ({ ok: false, reason: 'connection refused' }) },
      clock: () => START + 2 * HOUR,
      release: 'v1',
    });
    await monitor.tick();
    const result = await monitor.tick();
    expect(result.phase).toBe(MONITOR_PHASE.collectingBaseline);
    expect(result.reason).toMatch(/connection refused/);
  });
});

describe('behaviour monitor upgrade', () => {
  it('drops a version-1 state (per-call windows): its open alerts clear and a baseline over users is collected', async () => {
    const store = new RolloutStore();
    stores.push(store);
    const monitorId = 'monitor:v1';
    const evidence = { release: 'v1', firstSeenAtMillis: START };
    const [alertId] = store.commitMonitor({
      monitorId,
      raise: [{ signal: 'tool_mix', evidence }],
      state: () => ({ v: 1, monitorId, release: 'v1', windowIndex: 3, signals: {}, updatedAtMillis: START }),
    });
    store.commitMonitor({
      monitorId,
      state: () => ({
        v: 1,
        monitorId,
        release: 'v1',
        windowIndex: 3,
        signals: { tool_mix: { alertId, cleanWindows: 0 } },
        updatedAtMillis: START,
      }),
    });
    const simulation = simulatedRelease({ seed: 'upgrade', usersPerMinute: 30, searchShare: () => 0.4 });
    const monitor = createBehaviorMonitor({ store, source: simulation.source, clock: () => START, release: 'v1' });
    expect((await monitor.tick()).phase).toBe(MONITOR_PHASE.collectingBaseline);
    const [alert] = store.monitorAlerts(monitorId);
    expect(alert?.clearReason).toMatch(/per-user windows/);
    expect(store.getMonitorState<{ v: number }>(monitorId)?.v).toBe(2);
  });
});
