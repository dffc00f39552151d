import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scheduler } from '@agent-canary/controller';
import { ATTR_COHORT, ATTR_RELEASE_ID, ATTR_ROLLOUT_ID, ConfigError } from '@agent-canary/conventions';
import { traceAgentTurn, traceToolCall, withRelease } from '@agent-canary/instrumentation';
import { EmbeddedRoutingAdapter, readRoutingStateSync } from '@agent-canary/routing';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_CANARY_DEFAULTS, resolveEmbeddedCanaryConfig } from './config.js';
import { createEmbeddedCanary, type EmbeddedCanary } from './embedded-canary.js';

const BASE = { flagKey: 'agent.release', stableRelease: 'v1', canaryRelease: 'v2', env: {} } as const;
const START = Date.UTC(2026, 0, 15, 9, 0, 0);

const dirs: string[] = [];
const open: EmbeddedCanary[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-canary-embedded-'));
  dirs.push(dir);
  return dir;
}
async function create(options: Parameters<typeof createEmbeddedCanary>[0]): Promise<EmbeddedCanary> {
  const canary = await createEmbeddedCanary(options);
  open.push(canary);
  return canary;
}

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CBaggagePropagator());
});
afterEach(async () => {
  for (const canary of open.splice(0)) await canary.close();
});
afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('resolveEmbeddedCanaryConfig', () => {
  it('names the invalid field: rollout fields as they are, gate fields under gate.', () => {
    expect(() => resolveEmbeddedCanaryConfig({ ...BASE, flagKey: '' })).toThrow(ConfigError);
    expect(() => resolveEmbeddedCanaryConfig({ ...BASE, canaryRelease: 'v1' })).toThrowError(
      expect.objectContaining({ path: 'canaryRelease' }),
    );
    expect(() => resolveEmbeddedCanaryConfig({ ...BASE, gate: { alphaTotal: 2 } })).toThrowError(
      expect.objectContaining({ path: 'gate.alphaTotal', received: 2 }),
    );
    expect(() => resolveEmbeddedCanaryConfig({ ...BASE, routingRefreshMillis: -1 })).toThrowError(
      expect.objectContaining({ path: 'routingRefreshMillis' }),
    );
    expect(() => resolveEmbeddedCanaryConfig({ ...BASE, stateDir: ' ' })).toThrowError(
      expect.objectContaining({ path: 'stateDir' }),
    );
    expect(() => resolveEmbeddedCanaryConfig({ ...BASE, steps: [{ percent: 5 }] })).toThrowError(
      expect.objectContaining({ path: expect.stringMatching(/^steps/) }),
    );
  });

  it('puts every file under stateDir, or nothing on disk without it', () => {
    const onDisk = resolveEmbeddedCanaryConfig({ ...BASE, stateDir: '/srv/canary' });
    expect(onDisk).toMatchObject({
      storePath: join('/srv/canary', EMBEDDED_CANARY_DEFAULTS.storeFileName),
      routingPath: join('/srv/canary', EMBEDDED_CANARY_DEFAULTS.routingFileName),
      behaviorSnapshotPath: join('/srv/canary', EMBEDDED_CANARY_DEFAULTS.behaviorFileName),
      domain: 'agent-canary:agent.release',
    });
    expect(onDisk.rollout.steps.map((step) => step.percent)).toEqual([5, 20, 50, 100]);
    expect(onDisk.rolloutOptions).not.toHaveProperty('stateDir');
    const inMemory = resolveEmbeddedCanaryConfig(BASE);
    expect(inMemory).toMatchObject({ storePath: undefined, routingPath: undefined, behaviorSnapshotPath: undefined });
  });
});

describe('createEmbeddedCanary', () => {
  it('wires routing, spans, gate and controller in one process', async () => {
    let now = START;
    const canary = await create({ ...BASE, clock: () => now, domain: 'wiring' });
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [...canary.spanProcessors, new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('test');

    // Before the rollout starts, everyone is served the stable release outside any rollout.
    const before = await canary.resolve('user-1');
    expect(before).toMatchObject({ release: 'v1', cohort: 'stable' });
    expect(before.rolloutId).toBeUndefined();

    const status = await canary.start();
    expect(status).toMatchObject({ phase: 'canary', stepPercent: 5, canaryBasisPoints: 500, controlBasisPoints: 500 });
    const users = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const assignments = await Promise.all(users.map((user) => canary.resolve(user)));
    const canaryShare = assignments.filter((a) => a.cohort === 'canary').length / users.length;
    expect(canaryShare).toBeGreaterThan(0.035);
    expect(canaryShare).toBeLessThan(0.065);
    for (const assignment of assignments) {
      expect(assignment.release).toBe(assignment.cohort === 'canary' ? 'v2' : 'v1');
      expect(assignment.rolloutId).toBe(status.rolloutId);
    }
    // Sticky: the same user gets the same cohort again.
    expect((await canary.resolve('user-7')).cohort).toBe(assignments[7]?.cohort);

    // Spans of a request are tagged and counted by the behaviour processor the gate reads.
    for (const [index, assignment] of assignments.slice(0, 300).entries()) {
      await withRelease(assignment, () =>
        traceAgentTurn({ agentName: 'support', tracer, clock: () => now }, async (turn) => {
          await traceToolCall({ toolName: 'lookup', tracer }, () => index);
          turn.recordOutput('done');
        }),
      );
    }
    const turn = exporter.getFinishedSpans().find((span) => span.name === 'invoke_agent support');
    expect(turn?.attributes).toMatchObject({
      [ATTR_RELEASE_ID]: assignments[0]?.release,
      [ATTR_ROLLOUT_ID]: status.rolloutId,
    });
    expect(turn?.attributes[ATTR_COHORT]).toBe(assignments[0]?.cohort);
    now += 5_000;
    const tick = await canary.tick();
    expect(tick.evaluated).toBe(true);
    const counted = tick.gate?.requests;
    const served = (cohort: string) => assignments.slice(0, 300).filter((a) => a.cohort === cohort).length;
    expect(counted).toEqual({ stable: served('stable'), canary: served('canary'), control: served('control') });
    expect(tick.gate?.reason).toContain('warming up');

    // A manual rollback reaches the very next evaluation: nobody is in the canary any more.
    const rollback = await canary.rollback({ actor: 'ana', reason: 'testing' });
    expect(rollback.ok).toBe(true);
    expect(canary.status().phase).toBe('rolled_back');
    const after = await Promise.all(users.slice(0, 500).map((user) => canary.resolve(user)));
    expect(after.every((a) => a.release === 'v1' && a.cohort === 'stable')).toBe(true);
    await provider.shutdown();
  });

  it('with stateDir, a restarted process resumes the rollout and routes as before', async () => {
    const stateDir = tempDir();
    let now = START;
    const first = await create({ ...BASE, stateDir, clock: () => now, domain: 'restart-a' });
    const started = await first.start();
    const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const cohorts = (await Promise.all(users.map((user) => first.resolve(user)))).map((a) => a.cohort);
    await first.close();
    await first.close();

    now += 60_000;
    const second = await create({ ...BASE, stateDir, clock: () => now, domain: 'restart-b' });
    // Routing is served from the state file before the controller is even restored.
    expect((await Promise.all(users.map((user) => second.resolve(user)))).map((a) => a.cohort)).toEqual(cohorts);
    const resumed = await second.start();
    expect(resumed.rolloutId).toBe(started.rolloutId);
    expect(resumed.startedAtMillis).toBe(START);
    expect(second.store.listRollouts()).toHaveLength(1);
    await second.close();

    // Another canary release on the same flag while that rollout runs: refused, not mixed up.
    const third = await create({ ...BASE, canaryRelease: 'v3', stateDir, clock: () => now, domain: 'restart-c' });
    await expect(third.start()).rejects.toMatchObject({ code: 'AGENT_CANARY_ROLLOUT_ACTIVE' });
  });

  it("with stateDir, serves a split another process wrote (the CLI's manual rollback)", async () => {
    const stateDir = tempDir();
    const canary = await create({ ...BASE, stateDir, routingRefreshMillis: 0, domain: 'cross-process' });
    const status = await canary.start();
    const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const before = await Promise.all(users.map((user) => canary.resolve(user)));
    expect(before.some((a) => a.cohort === 'canary')).toBe(true);
    // What `agent-canary rollout rollback` does from another process: write the file.
    const cli = new EmbeddedRoutingAdapter({ path: join(stateDir, EMBEDDED_CANARY_DEFAULTS.routingFileName) });
    const applied = await cli.apply({
      flagKey: BASE.flagKey,
      rolloutId: status.rolloutId,
      canaryRelease: BASE.canaryRelease,
      stableRelease: BASE.stableRelease,
      canaryBasisPoints: 0,
      controlBasisPoints: 0,
    });
    expect(applied.acknowledged).toBe(true);
    const after = await Promise.all(users.map((user) => canary.resolve(user)));
    expect(after.every((a) => a.cohort === 'stable' && a.release === BASE.stableRelease)).toBe(true);
    await cli.close();
  });

  it('with stateDir, a rollback the routing file did not take is resumed first after a restart and retried by run()', async () => {
    const stateDir = tempDir();
    const routingFile = join(stateDir, EMBEDDED_CANARY_DEFAULTS.routingFileName);
    let now = START;
    const first = await create({ ...BASE, stateDir, clock: () => now, domain: 'pending-a' });
    const started = await first.start();
    // The routing file is replaced by a directory: nothing can be written there any more.
    rmSync(routingFile);
    mkdirSync(routingFile);
    now += 60_000;
    const rolledBack = await first.rollback({ actor: 'ana', reason: 'bad answers' });
    expect(rolledBack).toMatchObject({ ok: true, status: { phase: 'rolled_back', routingPending: true } });
    await first.close();

    const timers: (() => void)[] = [];
    const scheduler: Scheduler = {
      setTimeout: (callback) => timers.push(callback),
      clearTimeout: () => undefined,
    };
    now += 60_000;
    const second = await create({ ...BASE, stateDir, clock: () => now, scheduler, domain: 'pending-b' });
    // Not a new rollout over the one whose rollback has not landed: that one, still pending.
    const resumed = await second.start();
    expect(resumed).toMatchObject({ rolloutId: started.rolloutId, phase: 'rolled_back', routingPending: true });
    second.run();
    rmSync(routingFile, { recursive: true });
    timers.shift()?.();
    await second.controller.idle();
    expect(second.status()).toMatchObject({ routingPending: false, alerts: [] });
    expect(readRoutingStateSync(routingFile)?.flags[BASE.flagKey]).toMatchObject({ canaryBasisPoints: 0 });
    // Landed: the next start() starts the configured rollout again.
    second.stop();
    expect((await second.start()).rolloutId).not.toBe(started.rolloutId);
  });

  it('run() ticks on the scheduler it is given until stopped', async () => {
    const pending: (() => void)[] = [];
    const scheduler: Scheduler = {
      setTimeout: (callback) => {
        pending.push(callback);
        return pending.length;
      },
      clearTimeout: () => undefined,
    };
    let now = START;
    const canary = await create({ ...BASE, clock: () => now, scheduler, domain: 'run' });
    await canary.start();
    canary.run();
    expect(pending).toHaveLength(1);
    now += 5_000;
    pending.shift()?.();
    await canary.controller.idle();
    expect(canary.store.verdicts(canary.status().rolloutId)).toHaveLength(1);
    canary.stop();
  });
});
