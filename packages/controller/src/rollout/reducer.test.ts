import { gateResult } from '@agent-canary/gate/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RolloutConfig, resolveRolloutConfig } from './config.js';
import { initialRolloutState, reduce as reduceOnly } from './reducer.js';
import type { RolloutEffect, RolloutEvent, RolloutState } from './state.js';
import type { ReduceResult } from './transition.js';

const MIN = 60_000;
const T0 = 1_700_000_000_000;

/** The reducer as the driver runs it with a flag system that acknowledges every write at once. */
function reduce(state: RolloutState, event: RolloutEvent, cfg: RolloutConfig): ReduceResult {
  const result = reduceOnly(state, event, cfg);
  const write = result.effects.find((effect) => effect.type === 'applySplit');
  if (write === undefined || write.type !== 'applySplit') return result;
  const acknowledged = reduceOnly(
    result.state,
    { type: 'routingApplied', atMillis: event.atMillis, seenAtMillis: event.atMillis, ...shares(write) },
    cfg,
  );
  return { ...result, state: acknowledged.state, effects: [...result.effects, ...acknowledged.effects] };
}

const shares = (split: { canaryBasisPoints: number; controlBasisPoints: number }) => ({
  canaryBasisPoints: split.canaryBasisPoints,
  controlBasisPoints: split.controlBasisPoints,
});

function config(overrides: Partial<Parameters<typeof resolveRolloutConfig>[0]> = {}): RolloutConfig {
  return resolveRolloutConfig({ flagKey: 'agent', canaryRelease: 'v2', stableRelease: 'v1', ...overrides }, {});
}

function started(cfg: RolloutConfig): RolloutState {
  return reduce(initialRolloutState('r1', T0), { type: 'start', atMillis: T0 }, cfg).state;
}

function run(cfg: RolloutConfig, state: RolloutState, events: readonly RolloutEvent[]) {
  const effects: RolloutEffect[] = [];
  const transitions = [];
  let current = state;
  for (const event of events) {
    const result = reduce(current, event, cfg);
    current = result.state;
    effects.push(...result.effects);
    if (result.transition) transitions.push(result.transition);
  }
  return { state: current, effects, transitions };
}

const tick = (atMillis: number, overrides: Parameters<typeof gateResult>[0] = {}): RolloutEvent => ({
  type: 'tick',
  atMillis,
  gate: gateResult(overrides),
});
const alerts = (effects: readonly RolloutEffect[]) =>
  effects.flatMap((e) => (e.type === 'notify' && e.notification.kind === 'alert' ? [e.notification.alert] : []));
const splits = (effects: readonly RolloutEffect[]) =>
  effects.flatMap((e) => (e.type === 'applySplit' ? [[e.canaryBasisPoints, e.controlBasisPoints]] : []));

describe('reduce', () => {
  it('start routes the first step to canary with an equally sized control', () => {
    const cfg = config();
    const result = reduce(initialRolloutState('r1', T0), { type: 'start', atMillis: T0 }, cfg);
    expect(result.state.phase).toBe('canary');
    expect(splits(result.effects)).toEqual([[500, 500]]);
    expect(result.transition).toMatchObject({ from: 'draft', to: 'canary@5%', trigger: 'start' });
  });

  it('advances only when the gate passes, the step time and the step sample are reached', () => {
    const cfg = config();
    const s0 = started(cfg);
    // Passing, but before 15 minutes: hold.
    expect(reduce(s0, tick(T0 + 14 * MIN), cfg).state.stepIndex).toBe(0);
    // Time reached but too few canary requests: hold and alert.
    const few = reduce(s0, tick(T0 + 15 * MIN, { requests: { canary: 99 } }), cfg);
    expect(few.state.stepIndex).toBe(0);
    expect(alerts(few.effects)).toContain('insufficient_traffic');
    // Everything met: advance to 20% (control 20%), the transition carries the evidence.
    const ok = reduce(s0, tick(T0 + 15 * MIN), cfg);
    expect(ok.state.stepIndex).toBe(1);
    expect(splits(ok.effects)).toEqual([[2_000, 2_000]]);
    expect(ok.transition?.evidence?.verdict).toBe('pass');
    expect(ok.transition?.to).toBe('canary@20%');
  });

  it('warn holds: no advance on that tick', () => {
    const cfg = config();
    const result = reduce(started(cfg), tick(T0 + 20 * MIN, { verdict: 'warn' }), cfg);
    expect(result.state.stepIndex).toBe(0);
    expect(result.transition).toBeUndefined();
  });

  it('warm-up: no advance and no threshold-failure counting until the time passes or the request minimums are met', () => {
    const cfg = config({ steps: [{ percent: 5, minDurationMillis: 0, minCanaryRequests: 0 }, { percent: 100 }] });
    const cold = { requests: { stable: 10, canary: 5 } };
    const r = run(cfg, started(cfg), [
      tick(T0 + 10_000, cold),
      tick(T0 + 20_000, { ...cold, verdict: 'fail', thresholdFailure: true }),
      tick(T0 + 30_000, { ...cold, verdict: 'fail', thresholdFailure: true }),
      tick(T0 + 40_000, { ...cold, verdict: 'fail', thresholdFailure: true }),
    ]);
    expect(r.state).toMatchObject({ phase: 'canary', stepIndex: 0, consecutiveThresholdFailures: 0 });
    // Enough requests end the warm-up before the minimum time.
    expect(reduce(r.state, tick(T0 + 45_000, { requests: { stable: 500, canary: 50 } }), cfg).state.phase).toBe(
      'promoted',
    );
    // So does the time.
    expect(reduce(r.state, tick(T0 + 61_000, { requests: { stable: 10, canary: 6 } }), cfg).state.phase).toBe(
      'promoted',
    );
  });

  it('counts the step sample as canary requests since the step began (the gate window is cumulative)', () => {
    const cfg = config();
    const advanced = reduce(started(cfg), tick(T0 + 15 * MIN, { requests: { canary: 1_000 } }), cfg).state;
    expect(advanced.stepIndex).toBe(1);
    // 1 050 cumulative = 50 in the 20% step: too few, hold and alert.
    const few = reduce(advanced, tick(T0 + 46 * MIN, { requests: { canary: 1_050 } }), cfg);
    expect(few.state.stepIndex).toBe(1);
    expect(alerts(few.effects)).toContain('insufficient_traffic');
    expect(reduce(advanced, tick(T0 + 46 * MIN, { requests: { canary: 1_100 } }), cfg).state.stepIndex).toBe(2);
  });

  it('inconclusive never advances; it alerts once, clears, and re-arms', () => {
    const cfg = config();
    const r = run(cfg, started(cfg), [
      tick(T0 + 16 * MIN, { verdict: 'inconclusive' }),
      tick(T0 + 17 * MIN, { verdict: 'inconclusive' }),
      tick(T0 + 18 * MIN, { verdict: 'warn' }),
      tick(T0 + 19 * MIN, { verdict: 'inconclusive' }),
    ]);
    expect(r.state.stepIndex).toBe(0);
    expect(alerts(r.effects)).toEqual(['inconclusive', 'inconclusive']);
    expect(r.effects.filter((e) => e.type === 'notify' && e.notification.kind === 'alert_cleared')).toHaveLength(1);
  });

  it('a sequential failure rolls back at once, with routing first and a post-mortem', () => {
    const cfg = config();
    const result = reduce(started(cfg), tick(T0 + 1_000, { verdict: 'fail', sequentialFailure: true }), cfg);
    expect(result.state.phase).toBe('rolled_back');
    expect(result.effects.map((e) => e.type)).toEqual(['applySplit', 'snapshotPostMortem', 'notify']);
    expect(splits(result.effects)).toEqual([[0, 0]]);
    expect(result.transition?.evidence?.sequentialFailure).toBe(true);
    expect(result.state.reason).toContain('sequential');
  });

  it('the rollback notification names the failing checks with their unit and the users behind each arm', () => {
    const cfg = config();
    const check = (name: string, verdict: 'fail' | 'pass', canary: number, control: number) => ({
      check: name,
      method: 'sequential' as const,
      verdict,
      unit: 'subject',
      measurements: [
        { cohort: 'canary' as const, value: 0.1, samples: canary },
        { cohort: 'control' as const, value: 0.01, samples: control },
      ],
      reason: `${name}: ...`,
    });
    const result = reduce(
      started(cfg),
      tick(T0 + 1_000, {
        verdict: 'fail',
        sequentialFailure: true,
        checks: [check('error_rate', 'fail', 412, 398), check('latency_p99', 'pass', 400, 401)],
      }),
      cfg,
    );
    const notify = result.effects.find((e) => e.type === 'notify');
    expect(notify?.type === 'notify' && notify.notification.checks).toEqual([
      {
        check: 'error_rate',
        method: 'sequential',
        verdict: 'fail',
        unit: 'subject',
        canarySamples: 412,
        controlSamples: 398,
        reason: 'error_rate: ...',
      },
    ]);
  });

  it('threshold failures roll back after N consecutive evaluations; a clean one resets the count', () => {
    const cfg = config();
    const fail = (m: number) => tick(T0 + m * MIN, { verdict: 'fail', thresholdFailure: true });
    const interrupted = run(cfg, started(cfg), [
      fail(2),
      fail(3),
      tick(T0 + 4 * MIN, { verdict: 'warn' }),
      fail(5),
      fail(6),
    ]);
    expect(interrupted.state.phase).toBe('canary');
    expect(interrupted.state.consecutiveThresholdFailures).toBe(2);
    const third = run(cfg, interrupted.state, [fail(7)]);
    expect(third.state.phase).toBe('rolled_back');
    expect(third.transitions[0]?.reason).toContain('3 consecutive');
  });

  it('sample ratio mismatch holds (even at the last step) and alerts once', () => {
    const cfg = config({
      steps: [{ percent: 50, minDurationMillis: 0, minCanaryRequests: 0 }, { percent: 100 }],
      warmup: { minDurationMillis: 0, minStableRequests: 0, minCanaryRequests: 0 },
    });
    const r = run(cfg, started(cfg), [
      tick(T0 + MIN, { verdict: 'pass', sampleRatioMismatch: true }),
      tick(T0 + 2 * MIN, { verdict: 'pass', sampleRatioMismatch: true }),
    ]);
    expect(r.state.phase).toBe('canary');
    expect(alerts(r.effects)).toEqual(['sample_ratio_mismatch']);
    expect(reduce(r.state, tick(T0 + 3 * MIN), cfg).state.phase).toBe('promoted');
  });

  it('holds at the last step while the gate says the pass is not yet enough to promote on', () => {
    const cfg = config({
      steps: [{ percent: 50, minDurationMillis: 0, minCanaryRequests: 0 }, { percent: 100 }],
      warmup: { minDurationMillis: 0, minStableRequests: 0, minCanaryRequests: 0 },
    });
    const held = run(cfg, started(cfg), [
      tick(T0 + MIN, { verdict: 'pass', promotionReady: false, reason: 'not yet ready to promote: 182 of 3000' }),
      tick(T0 + 2 * MIN, { verdict: 'pass', promotionReady: false }),
    ]);
    expect(held.state.phase).toBe('canary');
    expect(held.transitions).toEqual([]);
    expect(held.state.reason).toMatch(/^holding at 50%/);
    const promoted = reduce(held.state, tick(T0 + 3 * MIN, { verdict: 'pass', promotionReady: true }), cfg);
    expect(promoted.state.phase).toBe('promoted');
  });

  it('runs the article cadence to promotion', () => {
    const cfg = config();
    const r = run(cfg, started(cfg), [
      tick(T0 + 15 * MIN, { requests: { canary: 1_000 } }),
      tick(T0 + 30 * MIN, { requests: { canary: 1_500 } }),
      tick(T0 + 45 * MIN, { requests: { canary: 2_000 } }),
      tick(T0 + 75 * MIN, { requests: { canary: 2_500 } }),
      tick(T0 + 105 * MIN, { requests: { canary: 3_000 } }),
    ]);
    expect(r.transitions.map((t) => t.to)).toEqual(['canary@20%', 'canary@50%', 'promoted']);
    expect(splits(r.effects)).toEqual([
      [2_000, 2_000],
      [5_000, 5_000],
      [10_000, 0],
    ]);
  });

  it('with requireApproval waits for approve; approve at another time is refused', () => {
    const cfg = config({ requireApproval: true });
    const r = run(cfg, started(cfg), [
      tick(T0 + 15 * MIN, { requests: { canary: 1_000 } }),
      tick(T0 + 45 * MIN, { requests: { canary: 2_000 } }),
    ]);
    const early = reduce(r.state, { type: 'approve', atMillis: T0 + 50 * MIN, actor: 'ana', reason: 'ok' }, cfg);
    expect(early.rejected?.code).toBe('AGENT_CANARY_NOT_AWAITING_APPROVAL');
    const waiting = reduce(r.state, tick(T0 + 105 * MIN, { requests: { canary: 3_000 } }), cfg);
    expect(waiting.state).toMatchObject({ phase: 'canary', awaitingApproval: true });
    expect(waiting.effects.some((e) => e.type === 'notify' && e.notification.kind === 'approval_requested')).toBe(true);
    // Still passing: keeps waiting, never promotes by itself, and max duration does not kill it.
    expect(reduce(waiting.state, tick(T0 + 10 * 60 * MIN, { requests: { canary: 9_000 } }), cfg).state.phase).toBe(
      'canary',
    );
    const approved = reduce(
      waiting.state,
      { type: 'approve', atMillis: T0 + 110 * MIN, actor: 'ana', reason: 'looks good' },
      cfg,
    );
    expect(approved.state.phase).toBe('promoted');
    expect(approved.transition).toMatchObject({ actor: 'ana', trigger: 'approve' });
  });

  it('refuses promote after a rollback with a reason, not a crash', () => {
    const cfg = config();
    const rolled = reduce(
      started(cfg),
      { type: 'rollback', atMillis: T0 + 1, actor: 'bo', reason: 'bad vibes' },
      cfg,
    ).state;
    const result = reduce(rolled, { type: 'promote', atMillis: T0 + 2, actor: 'bo', reason: 'oops' }, cfg);
    expect(result.rejected?.code).toBe('AGENT_CANARY_INVALID_TRANSITION');
    expect(result.rejected?.message).toContain('rolled_back');
    expect(result.state).toBe(rolled);
  });

  it('rolls back when the max duration is exceeded, not counting paused time', () => {
    const cfg = config({ maxDurationMillis: 60 * MIN });
    const paused = reduce(
      started(cfg),
      { type: 'pause', atMillis: T0 + 10 * MIN, actor: 'a', reason: 'lunch' },
      cfg,
    ).state;
    const resumed = reduce(paused, { type: 'resume', atMillis: T0 + 40 * MIN, actor: 'a', reason: 'back' }, cfg).state;
    // 70 min wall clock, 40 min active: hold.
    expect(reduce(resumed, tick(T0 + 70 * MIN, { verdict: 'warn' }), cfg).state.phase).toBe('canary');
    const late = reduce(resumed, tick(T0 + 91 * MIN, { verdict: 'warn' }), cfg);
    expect(late.state.phase).toBe('rolled_back');
    expect(late.state.reason).toContain('max duration');
  });

  it('a pause stops advancing but not rollback protection', () => {
    const cfg = config();
    const paused = reduce(started(cfg), { type: 'pause', atMillis: T0 + MIN, actor: 'a', reason: 'x' }, cfg).state;
    expect(reduce(paused, tick(T0 + 30 * MIN), cfg).state).toMatchObject({ phase: 'paused', stepIndex: 0 });
    expect(reduce(paused, tick(T0 + 2 * MIN, { sequentialFailure: true, verdict: 'fail' }), cfg).state.phase).toBe(
      'rolled_back',
    );
  });

  it('a routing conflict pauses and alerts; resume re-asserts the split over the hand change', () => {
    const cfg = config();
    const conflict = reduce(
      started(cfg),
      { type: 'routingConflict', atMillis: T0 + MIN, observed: { canaryBasisPoints: 9_000, controlBasisPoints: 0 } },
      cfg,
    );
    expect(conflict.state.phase).toBe('paused');
    expect(alerts(conflict.effects)).toEqual(['routing_conflict']);
    const again = reduce(conflict.state, { type: 'routingConflict', atMillis: T0 + 2 * MIN }, cfg);
    expect(alerts(again.effects)).toEqual([]);
    const resumed = reduce(again.state, { type: 'resume', atMillis: T0 + 3 * MIN, actor: 'ops', reason: 'mine' }, cfg);
    expect(resumed.state.alerts).toEqual([]);
    expect(resumed.effects[0]).toMatchObject({ type: 'applySplit', canaryBasisPoints: 500, overrideHandChange: true });
  });

  it('alerts when the canary has no traffic for noDataTimeoutMillis', () => {
    const cfg = config({ noDataTimeoutMillis: 5 * MIN });
    const none = { verdict: 'inconclusive' as const, requests: { canary: 0, control: 0, stable: 0 } };
    const r = run(cfg, started(cfg), [tick(T0 + 4 * MIN, none), tick(T0 + 5 * MIN, none), tick(T0 + 6 * MIN, none)]);
    expect(alerts(r.effects)).toEqual(['no_data']);
  });

  it('records routing acknowledgements of the current split only', () => {
    const cfg = config();
    const s = reduceOnly(initialRolloutState('r1', T0), { type: 'start', atMillis: T0 }, cfg).state;
    const seen = reduce(
      s,
      {
        type: 'routingApplied',
        atMillis: T0 + 5,
        canaryBasisPoints: 500,
        controlBasisPoints: 500,
        seenAtMillis: T0 + 4,
      },
      cfg,
    );
    expect(seen.state.routingSeenAtMillis).toBe(T0 + 4);
    const stale = reduce(
      s,
      { type: 'routingApplied', atMillis: T0 + 5, canaryBasisPoints: 0, controlBasisPoints: 0, seenAtMillis: T0 + 4 },
      cfg,
    );
    expect(stale.state.routingSeenAtMillis).toBeUndefined();
  });

  it('a rollback the flag system does not take stays pending: alert at once, repeats at a bounded rate, resolves with the wait', () => {
    const cfg = config();
    const canary = reduce(started(cfg), tick(T0 + 15 * MIN), cfg).state;
    expect(canary).toMatchObject({ canaryBasisPoints: 2_000, routingSeenAtMillis: T0 + 15 * MIN });
    const decidedAt = T0 + 20 * MIN;
    const rolledBack = reduceOnly(canary, tick(decidedAt, { verdict: 'fail', sequentialFailure: true }), cfg);
    expect(rolledBack.state).toMatchObject({
      phase: 'rolled_back',
      canaryBasisPoints: 0,
      routingPending: { canaryBasisPoints: 0, controlBasisPoints: 0, sinceMillis: decidedAt, failedAttempts: 0 },
    });
    const failed = (atMillis: number, observed?: { canaryBasisPoints: number; controlBasisPoints: number }) =>
      ({
        type: 'routingFailed',
        atMillis,
        canaryBasisPoints: 0,
        controlBasisPoints: 0,
        reason: 'EACCES: permission denied',
        ...(observed ? { observed } : {}),
        alertRepeatMillis: 10 * MIN,
      }) as const;
    const still = { canaryBasisPoints: 2_000, controlBasisPoints: 2_000 };
    const r = run(cfg, rolledBack.state, [
      failed(decidedAt + 1, still),
      failed(decidedAt + 2 * MIN, still),
      failed(decidedAt + 9 * MIN),
      failed(decidedAt + 10 * MIN + 1, still),
      failed(decidedAt + 12 * MIN, still),
    ]);
    const notes = r.effects.flatMap((e) => (e.type === 'notify' ? [e.notification] : []));
    // The first failure and one repeat 10 minutes later: never more often than alertRepeatMillis.
    expect(notes.map((n) => [n.kind, n.severity, n.alert])).toEqual([
      ['alert', 'error', 'routing_pending'],
      ['alert', 'error', 'routing_pending'],
    ]);
    expect(notes[0]?.title).toContain('Rollback not applied');
    expect(notes[0]?.reason).toContain('still routes canary 20%, control 20%');
    expect(notes[1]?.title).toContain('still not applied after 10 min');
    expect(r.state.alerts).toEqual(['routing_pending']);
    expect(r.state.routingPending).toMatchObject({
      failedAttempts: 5,
      sinceMillis: decidedAt,
      firstFailedAtMillis: decidedAt + 1,
      lastError: 'EACCES: permission denied',
      observed: { ...still, atMillis: decidedAt + 12 * MIN },
    });
    // A failure report of another split (an older write) changes nothing.
    expect(reduceOnly(r.state, { ...failed(decidedAt + 13 * MIN), canaryBasisPoints: 500 }, cfg).state).toBe(r.state);

    const landedAt = decidedAt + 14 * MIN;
    const landed = reduceOnly(
      r.state,
      {
        type: 'routingApplied',
        atMillis: landedAt,
        canaryBasisPoints: 0,
        controlBasisPoints: 0,
        seenAtMillis: landedAt,
      },
      cfg,
    );
    expect(landed.state.routingPending).toBeUndefined();
    expect(landed.state.alerts).toEqual([]);
    expect(landed.state.routingSeenAtMillis).toBe(landedAt);
    const cleared = landed.effects.flatMap((e) => (e.type === 'notify' ? [e.notification] : []));
    expect(cleared).toEqual([
      expect.objectContaining({
        kind: 'alert_cleared',
        alert: 'routing_pending',
        routingPendingMillis: 14 * MIN,
        title: 'Rollback applied: users were routed to the canary for 14 min after the decision',
      }),
    ]);
  });

  it('holds while the current split is pending: never widens or promotes past an unacknowledged write', () => {
    const cfg = config({ steps: [{ percent: 5, minDurationMillis: MIN, minCanaryRequests: 0 }, { percent: 100 }] });
    const pending = reduceOnly(initialRolloutState('r1', T0), { type: 'start', atMillis: T0 }, cfg).state;
    expect(pending.routingPending).toMatchObject({ canaryBasisPoints: 500 });
    const held = reduceOnly(pending, tick(T0 + 5 * MIN), cfg);
    expect(held.state).toMatchObject({ phase: 'canary', stepIndex: 0 });
    expect(splits(held.effects)).toEqual([]);
    // Rollback protection stays on while pending.
    expect(reduceOnly(pending, tick(T0 + 5 * MIN, { sequentialFailure: true }), cfg).state.phase).toBe('rolled_back');
    const acknowledged = reduceOnly(
      held.state,
      {
        type: 'routingApplied',
        atMillis: T0 + 6 * MIN,
        canaryBasisPoints: 500,
        controlBasisPoints: 500,
        seenAtMillis: T0 + 6 * MIN,
      },
      cfg,
    ).state;
    expect(reduceOnly(acknowledged, tick(T0 + 7 * MIN), cfg).state.phase).toBe('promoted');
  });

  it('rollback on a rolled-back or aborted rollout re-asserts canary 0 without a transition; promoted refuses', () => {
    const cfg = config();
    const rolledBack = reduce(
      started(cfg),
      { type: 'rollback', atMillis: T0 + MIN, actor: 'ana', reason: 'bad' },
      cfg,
    ).state;
    expect(rolledBack.routingPending).toBeUndefined();
    for (const ended of [
      rolledBack,
      reduce(started(cfg), { type: 'abort', atMillis: T0 + MIN, actor: 'ana', reason: 'stop' }, cfg).state,
    ]) {
      const again = reduceOnly(
        ended,
        { type: 'rollback', atMillis: T0 + 5 * MIN, actor: 'bo', reason: 'flag shows 20%' },
        cfg,
      );
      expect(again.rejected).toBeUndefined();
      expect(again.transition).toBeUndefined();
      expect(again.state).toMatchObject({
        phase: ended.phase,
        canaryBasisPoints: 0,
        reason: 'rollback re-asserted by bo: flag shows 20%',
        routingPending: { canaryBasisPoints: 0, sinceMillis: T0 + 5 * MIN },
      });
      expect(splits(again.effects)).toEqual([[0, 0]]);
      expect(again.effects.find((e) => e.type === 'notify')).toMatchObject({
        notification: { kind: 'action', actor: 'bo' },
      });
    }
    const promoted = reduce(
      started(cfg),
      { type: 'promote', atMillis: T0 + MIN, actor: 'ana', reason: 'ok' },
      cfg,
    ).state;
    expect(
      reduceOnly(promoted, { type: 'rollback', atMillis: T0 + 2 * MIN, actor: 'bo', reason: 'x' }, cfg).rejected?.code,
    ).toBe('AGENT_CANARY_INVALID_TRANSITION');
  });

  it('property: never promotes on a tick that is not a clean pass; exposure only grows until it ends', () => {
    const cfg = config({ warmup: { minDurationMillis: 0, minStableRequests: 0, minCanaryRequests: 0 } });
    const gateArb = fc.record({
      verdict: fc.constantFrom('pass', 'warn', 'fail', 'inconclusive' as const),
      sequentialFailure: fc.boolean(),
      thresholdFailure: fc.boolean(),
      sampleRatioMismatch: fc.boolean(),
      canary: fc.integer({ min: 0, max: 300 }),
    });
    const eventArb = fc.oneof(
      { weight: 8, arbitrary: fc.tuple(fc.constant('tick' as const), gateArb) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom('pause', 'resume', 'approve', 'routingConflict' as const), gateArb),
      },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(eventArb, fc.integer({ min: 1, max: 40 * MIN })), { maxLength: 40 }), (script) => {
        let state = started(cfg);
        let at = T0;
        for (const [[type, g], delta] of script) {
          at += delta;
          const event: RolloutEvent =
            type === 'tick'
              ? tick(at, { ...g, requests: { canary: g.canary } })
              : type === 'routingConflict'
                ? { type, atMillis: at }
                : { type, atMillis: at, actor: 'p', reason: 'prop' };
          const before = state;
          const result = reduce(state, event, cfg);
          state = result.state;
          if (state.phase === 'promoted' && before.phase !== 'promoted' && event.type === 'tick') {
            const e = event.gate;
            expect(e.verdict === 'pass' && !e.sampleRatioMismatch && !e.sequentialFailure && !e.thresholdFailure).toBe(
              true,
            );
          }
          const ended = state.phase === 'rolled_back' || state.phase === 'aborted';
          if (!ended && state.phase !== 'promoted')
            expect(state.canaryBasisPoints).toBeGreaterThanOrEqual(before.canaryBasisPoints);
          if (ended) expect(state.canaryBasisPoints).toBe(0);
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
