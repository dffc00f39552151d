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
