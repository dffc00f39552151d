import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROUTING_ERROR_CODE, type RoutingAdapter, RoutingError } from '@agent-canary/conventions';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import type { GateContext, GateResult } from '@agent-canary/gate';
import { gateResult, ScriptedGate } from '@agent-canary/gate/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Notification, Notifier } from '../notify/notifier.js';
import type { RolloutOptions } from '../rollout/config.js';
import { RolloutStore } from '../store/store.js';
import { RolloutController } from './controller.js';

const MIN = 60_000;
const T0 = 1_700_000_000_000;
const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const options: RolloutOptions = {
  id: 'r1',
  flagKey: 'agent',
  canaryRelease: 'v2',
  stableRelease: 'v1',
  steps: [
    { percent: 5, minDurationMillis: 10 * MIN, minCanaryRequests: 50 },
    { percent: 25, minDurationMillis: 10 * MIN, minCanaryRequests: 50 },
    { percent: 100 },
  ],
  tickIntervalMillis: MIN,
};

class FakeClock {
  constructor(public nowMillis = T0) {}
  readonly now = () => this.nowMillis;
  advance(millis: number) {
    this.nowMillis += millis;
  }
}

class RecordingNotifier implements Notifier {
  readonly name = 'recording';
  readonly sent: Notification[] = [];
  async notify(notification: Notification) {
    this.sent.push(notification);
    return { delivered: true, attempts: 1 };
  }
}

/** A regression that shows up on the 14th evaluation as threshold failures, then a sequential failure. */
const regressionScript = (n: number, context: GateContext): GateResult => {
  const canary = Math.round((context.canaryBasisPoints / 10_000) * 2_000 * n);
  if (n >= 14 && n < 16) return gateResult({ verdict: 'fail', thresholdFailure: true, requests: { canary } });
  if (n >= 16) return gateResult({ verdict: 'fail', sequentialFailure: true, requests: { canary } });
  return gateResult({ verdict: n % 4 === 0 ? 'warn' : 'pass', requests: { canary } });
};

function setup(store = new RolloutStore(), clock = new FakeClock(), routing = new InMemoryRoutingAdapter(clock.now)) {
  const gate = new ScriptedGate(regressionScript);
  const notifier = new RecordingNotifier();
  const controller = new RolloutController({ store, routing, gate, notifiers: [notifier], clock: clock.now, env: {} });
  return { store, clock, routing, gate, notifier, controller };
}

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ac-ctl-'));
  dirs.push(dir);
  return join(dir, 'rollouts.db');
}

describe('RolloutController', () => {
  it('starts by writing the first split and records when routing acknowledged it', async () => {
    const { controller, routing, clock, notifier } = setup();
    const status = await controller.start(options);
    expect(status).toMatchObject({
      phase: 'canary',
      canaryBasisPoints: 500,
      controlBasisPoints: 500,
      routingSeenAtMillis: clock.nowMillis,
    });
    expect(await routing.read('agent')).toMatchObject({
      canaryBasisPoints: 500,
      controlBasisPoints: 500,
      rolloutId: 'r1',
    });
    expect(notifier.sent.map((n) => n.title)).toEqual(['draft -> canary@5%']);
  });

  it('refuses a second rollout of the same flag while one runs', async () => {
    const { controller } = setup();
    await controller.start(options);
    await expect(controller.start({ ...options, id: 'r2' })).rejects.toMatchObject({
      code: 'AGENT_CANARY_ROLLOUT_ACTIVE',
    });
  });

  it('advances, passes the persisted gate state back, and rolls back with one routing write and a post-mortem', async () => {
    const { controller, routing, clock, gate, store } = setup();
    await controller.start(options);
    const phases: string[] = [];
    for (let i = 0; i < 20; i++) {
      clock.advance(MIN);
      const result = await controller.tick();
      phases.push(`${result.status.phase}@${result.status.stepPercent}`);
      if (result.status.phase === 'rolled_back') break;
    }
    expect(gate.contexts.map((c) => (c.state as { n: number } | undefined)?.n ?? 0)).toEqual(
      gate.contexts.map((_, i) => i),
    );
    expect(store.transitions('r1').map((t) => t.to)).toEqual(['canary@5%', 'canary@25%', 'rolled_back']);
    expect(store.transitions('r1')[2]).toMatchObject({
      actor: 'controller',
      trigger: 'tick',
      evidence: { sequentialFailure: true },
    });
    // Threshold failures at n = 14, 15, then the sequential test at 16 (before a 3rd threshold failure).
    expect(phases.at(-1)).toBe('rolled_back@25');
    expect(routing.history.map((s) => [s.canaryBasisPoints, s.controlBasisPoints])).toEqual([
      [500, 500],
      [2_500, 2_500],
      [0, 0],
    ]);
    const postMortem = store.getPostMortem('r1');
    expect(postMortem?.config.flagKey).toBe('agent');
    expect(postMortem?.verdicts).toHaveLength(16);
    expect(postMortem?.transitions.at(-1)?.to).toBe('rolled_back');
    expect(postMortem?.gateSnapshot).toMatchObject({ cohorts: ['stable', 'canary', 'control'] });
    expect(store.pendingEffects('r1')).toEqual([]);
    // Final: further ticks evaluate nothing.
    expect((await controller.tick()).evaluated).toBe(false);
  });

  it('a controller killed mid-rollout and restarted on the same file makes the same decisions', async () => {
    const drive = async (path: string, killAfter?: number) => {
      let ctx = setup(new RolloutStore({ path }));
      const routing = ctx.routing;
      await ctx.controller.start(options);
      for (let i = 1; i <= 18; i++) {
        if (i === killAfter) {
          // Kill: drop the controller and close the store without any shutdown logic.
          ctx.store.close();
          ctx = setup(new RolloutStore({ path }), ctx.clock, routing);
          expect((await ctx.controller.restore())?.rolloutId).toBe('r1');
        }
        ctx.clock.advance(MIN);
        await ctx.controller.tick();
      }
      const out = {
        transitions: ctx.store.transitions('r1').map(({ rolloutId: _r, ...t }) => t),
        verdicts: ctx.store.verdicts('r1').map((v) => [v.atMillis, v.verdict]),
        splits: routing.history.map((s) => [s.canaryBasisPoints, s.controlBasisPoints]),
        status: ctx.controller.status(),
      };
      ctx.store.close();
      return out;
    };
    const uninterrupted = await drive(tempDb());
    for (const killAfter of [3, 11, 15]) {
      const restarted = await drive(tempDb(), killAfter);
      expect(restarted).toEqual(uninterrupted);
    }
    expect(uninterrupted.status.phase).toBe('rolled_back');
  });

  it('repairs a split that was decided but never written (crash or outage between persist and effect)', async () => {
    const path = tempDb();
    const first = setup(new RolloutStore({ path }));
    await first.controller.start(options);
    first.routing.failNextApplies(1);
    first.clock.advance(11 * MIN);
    await first.controller.tick();
    expect(first.controller.status()).toMatchObject({ phase: 'canary', canaryBasisPoints: 2_500 });
    expect(await first.routing.read('agent')).toMatchObject({ canaryBasisPoints: 500 });
    expect(first.store.pendingEffects('r1').map((p) => p.effect.type)).toEqual(['applySplit']);
    first.store.close();

    const second = setup(new RolloutStore({ path }), first.clock, first.routing);
    await second.controller.restore('r1');
    expect(await second.routing.read('agent')).toMatchObject({ canaryBasisPoints: 2_500, controlBasisPoints: 2_500 });
    expect(second.store.pendingEffects('r1')).toEqual([]);
    expect(second.controller.status().routingSeenAtMillis).toBe(first.clock.nowMillis);
  });

  it('holds and alerts instead of overwriting a hand change; resume re-asserts the split', async () => {
    const { controller, routing, clock, store, notifier } = setup();
    await controller.start(options);
    routing.setByHand({
      flagKey: 'agent',
      rolloutId: 'ops',
      canaryRelease: 'v2',
      stableRelease: 'v1',
      canaryBasisPoints: 9_000,
      controlBasisPoints: 0,
    });
    clock.advance(11 * MIN);
    await controller.tick();
    expect(controller.status()).toMatchObject({ phase: 'paused', alerts: ['routing_conflict'] });
    expect(await routing.read('agent')).toMatchObject({ canaryBasisPoints: 9_000 });
    expect(notifier.sent.filter((n) => n.kind === 'alert').map((n) => n.alert)).toEqual(['routing_conflict']);
    const resumed = await controller.resume({ actor: 'ops-lead', reason: 'the hand change was a mistake' });
    expect(resumed.ok).toBe(true);
    expect(await routing.read('agent')).toMatchObject({ canaryBasisPoints: 2_500 });
    expect(store.manualActions('r1')).toMatchObject([{ action: 'resume', actor: 'ops-lead', accepted: true }]);
  });

  it('holds and alerts when the flag was edited into a shape the adapter cannot read', async () => {
    const clock = new FakeClock();
    const inner = new InMemoryRoutingAdapter(clock.now);
    let broken = false;
    const routing: RoutingAdapter = {
      apply: (split) => inner.apply(split),
      read: async (flagKey) => {
        if (broken)
          throw new RoutingError({
            code: ROUTING_ERROR_CODE.flagShape,
            provider: 'test',
            flagKey,
            message: 'no fractional',
          });
        return inner.read(flagKey);
      },
      close: () => inner.close(),
    };
    const { controller, store } = setup(new RolloutStore(), clock, inner);
    const guarded = new RolloutController({
      store,
      routing,
      gate: new ScriptedGate(regressionScript),
      clock: clock.now,
      env: {},
    });
    await controller.start(options);
    await guarded.restore('r1');
    broken = true;
    clock.advance(11 * MIN);
    await guarded.tick();
    expect(guarded.status()).toMatchObject({ phase: 'paused', alerts: ['routing_conflict'] });
    expect(inner.history).toHaveLength(1);
  });

  it('returns refused manual actions as results and audits them', async () => {
    const { controller, store } = setup();
    await controller.start(options);
    expect((await controller.rollback({ actor: 'ana', reason: 'customer complaints' })).ok).toBe(true);
    const refused = await controller.promote({ actor: 'bo', reason: 'ship it' });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.code).toBe('AGENT_CANARY_INVALID_TRANSITION');
    expect(store.manualActions('r1').map((a) => [a.action, a.actor, a.accepted])).toEqual([
      ['rollback', 'ana', true],
      ['promote', 'bo', false],
    ]);
    expect(store.getPostMortem('r1')?.reason).toContain('customer complaints');
  });

  it('records failing notifiers and a failing gate without crashing', async () => {
    const store = new RolloutStore();
    const throwing: Notifier = {
      name: 'broken',
      notify: async () => {
        throw new Error('boom');
      },
    };
    const gate = {
      evaluate: async () => {
        throw new Error('metrics backend down');
      },
    };
    const clock = new FakeClock();
    const controller = new RolloutController({
      store,
      routing: new InMemoryRoutingAdapter(clock.now),
      gate,
      notifiers: [throwing],
      clock: clock.now,
      env: {},
    });
    await controller.start(options);
    expect(store.notifications('r1')).toMatchObject([{ notifier: 'broken', delivered: false, error: 'boom' }]);
    clock.advance(MIN);
    expect((await controller.tick()).evaluated).toBe(false);
    expect(controller.status().phase).toBe('canary');
  });

  it('run() ticks on the scheduler until the rollout ends (fake timers)', async () => {
    vi.useFakeTimers({ now: T0 });
    const store = new RolloutStore();
    const gate = new ScriptedGate(regressionScript);
    const controller = new RolloutController({ store, routing: new InMemoryRoutingAdapter(), gate, env: {} });
    await controller.start(options);
    controller.run();
    await vi.advanceTimersByTimeAsync(5 * MIN);
    expect(gate.contexts).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(30 * MIN);
    expect(controller.status().phase).toBe('rolled_back');
    expect(gate.contexts).toHaveLength(16);
    expect(vi.getTimerCount()).toBe(0);
    controller.stop();
  });
});

describe('RolloutController when the flag system is down', () => {
  /** 20% canary until the canary turns bad (evaluation `badFrom` on), then a sequential failure. */
  const turnsBad =
    (badFrom: number) =>
    (n: number, context: GateContext): GateResult => {
      const canary = Math.round((context.canaryBasisPoints / 10_000) * 2_000 * n);
      if (n >= badFrom) return gateResult({ verdict: 'fail', sequentialFailure: true, requests: { canary } });
      return gateResult({ verdict: 'pass', requests: { canary } });
    };
  const atTwenty: RolloutOptions = {
    ...options,
    steps: [{ percent: 20, minDurationMillis: 60 * MIN, minCanaryRequests: 50 }, { percent: 100 }],
    tickIntervalMillis: 5_000,
  };
  // Fixed jitter: every delay is 3/4 of its base (1 s, 2 s, 4 s, 8 s, then 10 s capped: 7.5 s).
  const routingRetry = { initialDelayMillis: 1_000, maxDelayMillis: 10_000, jitter: 0.5, random: () => 0.5 };

  function outageSetup(path?: string, routing?: InMemoryRoutingAdapter, badFrom = 3) {
    const store = new RolloutStore(path === undefined ? {} : { path });
    const adapter = routing ?? new InMemoryRoutingAdapter();
    const notifier = new RecordingNotifier();
    const controller = new RolloutController({
      store,
      routing: adapter,
      gate: new ScriptedGate(turnsBad(badFrom)),
      notifiers: [notifier],
      env: {},
      routingRetry,
    });
    return { store, routing: adapter, notifier, controller };
  }

  it('keeps retrying a rollback after the rollout ended, alerts, and lands once the flag system is back', async () => {
    vi.useFakeTimers({ now: T0 });
    const { controller, routing, notifier, store } = outageSetup();
    await controller.start(atTwenty);
    controller.run();
    expect(await routing.read('agent')).toMatchObject({ canaryBasisPoints: 2_000, controlBasisPoints: 2_000 });

    routing.setOutage({ code: 'AGENT_CANARY_ROUTING_UNAUTHORIZED' });
    // Third evaluation (15 s): the canary turned bad while nothing can be written.
    await vi.advanceTimersByTimeAsync(15_000);
    const decided = controller.status();
    expect(decided).toMatchObject({
      phase: 'rolled_back',
      canaryBasisPoints: 0,
      routingPending: true,
      alerts: ['routing_pending'],
      routing: {
        pending: true,
        pendingSinceMillis: T0 + 15_000,
        failedAttempts: 1,
        // The flag system cannot be read either: what it last acknowledged is what it routes.
        routed: { canaryBasisPoints: 2_000, controlBasisPoints: 2_000, source: 'acknowledged' },
      },
    });
    expect(decided.routing.lastError).toContain('simulated outage');
    const rollbackNote = notifier.sent.find((n) => n.title === 'canary@20% -> rolled_back');
    // The payload says what users get (still 20%), with the decision pending beside it.
    expect(rollbackNote).toMatchObject({
      canaryBasisPoints: 2_000,
      controlBasisPoints: 2_000,
      pendingSplit: { canaryBasisPoints: 0, controlBasisPoints: 0, sinceMillis: T0 + 15_000 },
    });
    expect(notifier.sent.filter((n) => n.alert === 'routing_pending').map((n) => [n.kind, n.severity])).toEqual([
      ['alert', 'error'],
    ]);

    // 40 s of outage: retried with back-off (1, 2, 4, 8 s ... x 3/4), never widened, never promoted.
    await vi.advanceTimersByTimeAsync(40_000);
    const attemptsDuringOutage = routing.applyCalls;
    expect(controller.status().routing.failedAttempts).toBeGreaterThanOrEqual(6);
    expect(routing.history.map((s) => s.canaryBasisPoints)).toEqual([2_000]);

    routing.setOutage(undefined);
    const backAt = Date.now();
    // The next retry is at most maxDelayMillis away.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await routing.read('agent')).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0 });
    expect(routing.history.at(-1)?.version).toBeDefined();
    const landedAt = controller.status().routingSeenAtMillis ?? 0;
    expect(landedAt - backAt).toBeLessThanOrEqual(10_000);
    expect(controller.status()).toMatchObject({ phase: 'rolled_back', routingPending: false, alerts: [] });
    const resolved = notifier.sent.filter((n) => n.kind === 'alert_cleared' && n.alert === 'routing_pending');
    expect(resolved).toEqual([
      expect.objectContaining({
        severity: 'info',
        canaryBasisPoints: 0,
        controlBasisPoints: 0,
        routingPendingMillis: landedAt - (T0 + 15_000),
      }),
    ]);
    expect(resolved[0]).not.toHaveProperty('pendingSplit');
    expect(store.transitions('r1').map((t) => t.to)).toEqual(['canary@20%', 'rolled_back']);
    // Nothing left to retry: no timers, no more writes.
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(routing.applyCalls).toBe(attemptsDuringOutage + 1);
    controller.stop();
  });

  it('repeats the alert at most every routingAlertRepeatMillis while the write keeps failing', async () => {
    vi.useFakeTimers({ now: T0 });
    const { controller, routing, notifier } = outageSetup();
    await controller.start(atTwenty);
    controller.run();
    routing.setOutage({});
    await vi.advanceTimersByTimeAsync(15_000);
    expect(controller.status().phase).toBe('rolled_back');
    // 35 minutes down: the first alert, then one every 10 minutes (the default).
    await vi.advanceTimersByTimeAsync(35 * MIN);
    const alerts = notifier.sent.filter((n) => n.kind === 'alert' && n.alert === 'routing_pending');
    expect(alerts.map((n) => Math.floor((n.atMillis - (T0 + 15_000)) / MIN))).toEqual([0, 10, 20, 30]);
    expect(alerts.every((n) => n.severity === 'error')).toBe(true);
    controller.stop();
  });

  it('a controller restarted during the outage resumes the pending rollback first and lands it', async () => {
    vi.useFakeTimers({ now: T0 });
    const path = tempDb();
    const first = outageSetup(path);
    await first.controller.start(atTwenty);
    first.controller.run();
    first.routing.setOutage({ reads: false });
    await vi.advanceTimersByTimeAsync(15_000);
    // Reads still work here: the status says what the flag system still routes, read back.
    expect(first.controller.status().routing.routed).toMatchObject({
      canaryBasisPoints: 2_000,
      source: 'read_back',
    });
    // Killed: no shutdown logic.
    first.controller.stop();
    first.store.close();

    const second = outageSetup(path, first.routing);
    const restored = await second.controller.restore();
    expect(restored).toMatchObject({ rolloutId: 'r1', phase: 'rolled_back', routingPending: true });
    second.controller.run();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await second.routing.read('agent')).toMatchObject({ canaryBasisPoints: 2_000 });
    second.routing.setOutage(undefined);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await second.routing.read('agent')).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0 });
    expect(second.controller.status()).toMatchObject({ routingPending: false, alerts: [] });
    expect(second.notifier.sent.map((n) => n.kind)).toContain('alert_cleared');
    second.controller.stop();
    second.store.close();
  });

  it('restored without an id, drives the pending rollback first, then the active rollout of another flag', async () => {
    vi.useFakeTimers({ now: T0 });
    const path = tempDb();
    const routing = new InMemoryRoutingAdapter();
    const other = outageSetup(path, routing);
    await other.controller.start({ ...atTwenty, id: 'b', flagKey: 'other' });
    const first = outageSetup(path, routing);
    await first.controller.start(atTwenty);
    routing.setOutage({});
    expect((await first.controller.rollback({ actor: 'ana', reason: 'bad' })).status.routingPending).toBe(true);
    first.store.close();
    other.store.close();

    const gate = new ScriptedGate(turnsBad(1_000));
    const store = new RolloutStore({ path });
    const controller = new RolloutController({ store, routing, gate, env: {}, routingRetry });
    expect(await controller.restore()).toMatchObject({ rolloutId: 'r1', routingPending: true });
    controller.run();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(gate.contexts).toHaveLength(0);
    routing.setOutage(undefined);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await routing.read('agent')).toMatchObject({ canaryBasisPoints: 0, rolloutId: 'r1' });
    // Landed: it goes on with the active rollout, as a restore would have.
    expect(controller.status()).toMatchObject({ rolloutId: 'b', phase: 'canary' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(gate.contexts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(gate.contexts.map((context) => context.rolloutId))).toEqual(new Set(['b']));
    controller.stop();
    store.close();
  });

  it('refuses to start another rollout of the flag while a rollback is pending', async () => {
    const { controller, routing } = outageSetup();
    await controller.start(atTwenty);
    routing.setOutage({});
    await controller.rollback({ actor: 'ana', reason: 'bad answers' });
    expect(controller.status().routingPending).toBe(true);
    await expect(controller.start({ ...atTwenty, id: 'r2' })).rejects.toMatchObject({
      code: 'AGENT_CANARY_ROUTING_PENDING',
      message: expect.stringContaining('r1'),
    });
  });

  it('rollback on a rolled-back rollout re-applies canary 0 over a hand change, and is audited', async () => {
    const { controller, routing, store } = outageSetup();
    await controller.start(atTwenty);
    await controller.rollback({ actor: 'ana', reason: 'bad answers' });
    routing.setByHand({
      ...(await routing.read('agent'))!,
      rolloutId: 'ops',
      canaryBasisPoints: 2_000,
      controlBasisPoints: 0,
    });
    const again = await controller.rollback({ actor: 'bo', reason: 'the flag routes 20% again' });
    expect(again).toMatchObject({ ok: true, status: { phase: 'rolled_back', routingPending: false } });
    expect(await routing.read('agent')).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0, rolloutId: 'r1' });
    expect(store.manualActions('r1').map((a) => [a.action, a.actor, a.accepted])).toEqual([
      ['rollback', 'ana', true],
      ['rollback', 'bo', true],
    ]);
    // While the flag system is down the re-assert reports the write as pending instead.
    routing.setOutage({});
    const pending = await controller.rollback({ actor: 'bo', reason: 'again' });
    expect(pending).toMatchObject({ ok: true, status: { routingPending: true, alerts: ['routing_pending'] } });
  });

  it('refuses to re-assert an ended rollout while a newer rollout of the flag runs', async () => {
    const { controller, store, routing } = outageSetup();
    await controller.start(atTwenty);
    await controller.rollback({ actor: 'ana', reason: 'bad answers' });
    await controller.start({ ...atTwenty, id: 'r2' });
    const old = new RolloutController({ store, routing, gate: new ScriptedGate(turnsBad(3)), env: {} });
    await old.restore('r1');
    const refused = await old.rollback({ actor: 'bo', reason: 'again' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'AGENT_CANARY_ROLLOUT_ACTIVE' } });
    expect(await routing.read('agent')).toMatchObject({ rolloutId: 'r2', canaryBasisPoints: 2_000 });
  });
});
