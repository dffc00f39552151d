/**
 * Releases as Langfuse prompt versions, end to end: the real `@langfuse/client` against a
 * local server implementing the documented endpoints (Langfuse cloud is not reachable
 * here), the split held by the embedded adapter and read through the real OpenFeature
 * SDK and `resolveRelease`.
 */

import { type Notification, RolloutController, RolloutStore } from '@agent-canary/controller';
import { ConfigError, ROUTING_ERROR_CODE, type RoutingSplit, sameSplit } from '@agent-canary/conventions';
import type { GateEvaluation, GateEvaluator } from '@agent-canary/gate';
import { resolveRelease } from '@agent-canary/instrumentation';
import { EmbeddedProvider, EmbeddedRoutingAdapter } from '@agent-canary/routing';
// Relative: the root package.json does not list the provider packages (yet).
import {
  createLangfuseLabelAdapter,
  getReleasePrompt,
  langfuseVerdictNotifier,
  RecentTraces,
  VERDICT_SCORE_NAME,
} from '@agent-canary/routing-langfuse';
import { LangfuseClient } from '@langfuse/client';
import { OpenFeature } from '@openfeature/server-sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type LangfuseContractServer,
  startLangfuseContractServer,
} from '../packages/routing-langfuse/src/testing-fixtures/langfuse-server.js';

const FLAG = 'support-agent.release';
const PROMPT = 'support-agent';
const USERS = Array.from({ length: 300 }, (_, i) => `user-${i}`);

function split(canaryBasisPoints: number, controlBasisPoints: number): RoutingSplit {
  return {
    flagKey: FLAG,
    rolloutId: 'r-1',
    canaryRelease: '2',
    stableRelease: '1',
    canaryBasisPoints,
    controlBasisPoints,
  };
}

describe('routing through Langfuse prompt labels (contract-tested)', () => {
  let server: LangfuseContractServer;
  let langfuse: LangfuseClient;
  let inner: EmbeddedRoutingAdapter;

  beforeAll(async () => {
    server = await startLangfuseContractServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    langfuse = new LangfuseClient({
      publicKey: server.publicKey,
      secretKey: server.secretKey,
      baseUrl: server.baseUrl,
    });
    inner = new EmbeddedRoutingAdapter();
  });
  afterEach(async () => {
    await OpenFeature.close();
  });

  const adapter = (promptName = PROMPT, client = langfuse) =>
    createLangfuseLabelAdapter({ client, promptName, inner, retry: { maxAttempts: 4, initialDelayMillis: 1 } });

  it('rolls out by label, serves each cohort its version, detects a hand move, promotes and rolls back', async () => {
    server.addVersion(PROMPT, 'You are helpful. (v1)', ['production']);
    server.addVersion(PROMPT, 'You are helpful and brief. (v2)');
    server.addVersion(PROMPT, 'Experimental. (v3)');
    const routing = adapter();

    expect(await routing.apply(split(1_000, 1_000))).toMatchObject({ acknowledged: true });
    expect(server.labels(PROMPT)).toMatchObject({ canary: 2, production: 1 });
    expect(await routing.read(FLAG)).toMatchObject(split(1_000, 1_000));
    const patches = server.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toEqual([
      expect.objectContaining({
        path: `/api/public/v2/prompts/${PROMPT}/versions/2`,
        authorized: true,
        contentType: expect.stringContaining('application/json'),
        body: { newLabels: ['canary'] },
      }),
    ]);
    // Idempotent: a second apply moves nothing.
    await routing.apply(split(1_000, 1_000));
    expect(server.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);

    await OpenFeature.setProviderAndWait('langfuse-e2e', new EmbeddedProvider({ adapter: inner }));
    const client = OpenFeature.getClient('langfuse-e2e');
    const serve = async () =>
      Promise.all(
        USERS.map(async (user) => {
          const assignment = await resolveRelease(client, FLAG, user, { recordEvaluation: false });
          const served = await getReleasePrompt(langfuse, PROMPT, assignment, { cacheTtlSeconds: 0 });
          return { assignment, served };
        }),
      );
    const before = await serve();
    const canary = before.filter((r) => r.assignment.cohort === 'canary');
    expect(canary.length).toBeGreaterThan(20);
    for (const { assignment, served } of before) {
      expect(served.label).toBe(assignment.cohort === 'canary' ? 'canary' : 'production');
      expect(served.version).toBe(assignment.cohort === 'canary' ? 2 : 1);
      expect(served.matchesAssignment).toBe(true);
    }

    // An operator points the canary label at v3 by hand: read shows it, sameSplit fails.
    const hand = await fetch(`${server.baseUrl}/api/public/v2/prompts/${PROMPT}/versions/3`, {
      method: 'PATCH',
      headers: {
        authorization: `Basic ${Buffer.from(`${server.publicKey}:${server.secretKey}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ newLabels: ['canary'] }),
    });
    expect(hand.status).toBe(200);
    const seen = await routing.read(FLAG);
    expect(seen).toMatchObject({ canaryRelease: '3', stableRelease: '1' });
    expect(sameSplit(seen, split(1_000, 1_000))).toBe(false);

    // Rollback: split to zero, canary label back onto the production version.
    const rollback = await routing.apply(split(0, 0));
    expect(rollback).toMatchObject({ acknowledged: true });
    expect(server.labels(PROMPT)).toMatchObject({ canary: 1, production: 1 });
    expect(await routing.read(FLAG)).toMatchObject(split(0, 0));
    const after = await serve();
    expect(after.every(({ assignment, served }) => assignment.cohort === 'stable' && served.version === 1)).toBe(true);
    // Even a request still routed to the canary cohort (a replica that has not seen the split yet) reads v1 now.
    expect(
      (await getReleasePrompt(langfuse, PROMPT, { cohort: 'canary', release: '2' }, { cacheTtlSeconds: 0 })).version,
    ).toBe(1);

    // Promotion: production moves to the canary version.
    expect(await routing.apply(split(10_000, 0))).toMatchObject({ acknowledged: true });
    expect(server.labels(PROMPT)).toMatchObject({ canary: 2, production: 2 });
    expect(await routing.read(FLAG)).toMatchObject(split(10_000, 0));
  });

  it('drives a RolloutController: a hand-moved label makes it hold and alert instead of overwriting', async () => {
    server.addVersion('driven', 'v1', ['production']);
    server.addVersion('driven', 'v2');
    server.addVersion('driven', 'v3');
    let now = 1_700_000_000_000;
    const passing: GateEvaluator = {
      async evaluate(context): Promise<GateEvaluation> {
        const result = {
          verdict: 'pass' as const,
          sequentialFailure: false,
          thresholdFailure: false,
          sampleRatioMismatch: false,
          requests: { stable: 5_000, canary: 1_000, control: 1_000 },
          subjects: { stable: 500, canary: 100, control: 100 },
          checks: [],
          reason: 'scripted pass',
          evaluatedAtMillis: context.nowMillis,
        };
        return { result, state: null };
      },
    };
    const store = new RolloutStore();
    const controller = new RolloutController({
      store,
      routing: adapter('driven'),
      gate: passing,
      clock: () => now,
      env: {},
    });
    await controller.start({
      id: 'r-driven',
      flagKey: 'driven.release',
      canaryRelease: '2',
      stableRelease: '1',
      steps: [{ percent: 5, minDurationMillis: 60_000, minCanaryRequests: 10 }, { percent: 50 }, { percent: 100 }],
    });
    expect(server.labels('driven')).toMatchObject({ canary: 2, production: 1 });
    server.addVersion('driven', 'hotfix by hand', ['canary']);
    now += 120_000;
    await controller.tick();
    expect(controller.status()).toMatchObject({ phase: 'paused', alerts: ['routing_conflict'] });
    // Not overwritten: the hand-placed label stays, production untouched.
    expect(server.labels('driven')).toMatchObject({ canary: 4, production: 1 });
    store.close();
  });

  it('names what is wrong: bad keys, missing prompt, a release that is no version; retries an outage', async () => {
    server.addVersion('other', 'x', ['production']);
    server.addVersion('other', 'y');
    const badKeys = new LangfuseClient({ publicKey: server.publicKey, secretKey: 'wrong', baseUrl: server.baseUrl });
    await expect(adapter('other', badKeys).apply({ ...split(500, 500) })).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.unauthorized,
    });
    await expect(adapter('missing').apply(split(500, 500))).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagNotFound,
      message: expect.stringContaining('"missing"'),
    });
    await expect(adapter('other').apply({ ...split(500, 500), canaryRelease: 'gpt-5' })).rejects.toBeInstanceOf(
      ConfigError,
    );

    server.failNext(2, 503);
    const result = await adapter('other').apply(split(500, 500));
    expect(result.acknowledged).toBe(true);
    expect(result.attempts).toBeGreaterThan(2);
    expect(server.labels('other')).toMatchObject({ canary: 2, production: 1 });
  });

  it('posts gate verdicts as categorical scores on the rollout’s recent traces', async () => {
    const recent = new RecentTraces({ capacityPerCohort: 3 });
    for (let i = 0; i < 5; i++) recent.record(`trace-canary-${i}`, { cohort: 'canary', rolloutId: 'r-1' });
    recent.record('trace-control-0', { cohort: 'control', rolloutId: 'r-1' });
    recent.record('trace-stable-0', { cohort: 'stable', rolloutId: 'r-1' });
    recent.record('trace-other-rollout', { cohort: 'canary', rolloutId: 'r-0' });
    const notifier = langfuseVerdictNotifier({ client: langfuse, traceIds: (n) => recent.traceIds(n.rolloutId) });
    const notification: Notification = {
      kind: 'transition',
      severity: 'error',
      title: 'rolled back',
      reason: 'error rate 4.1% vs control 1.0% (sequential test crossed)',
      verdict: 'fail',
      rolloutId: 'r-1',
      flagKey: FLAG,
      canaryRelease: '2',
      stableRelease: '1',
      canaryBasisPoints: 0,
      controlBasisPoints: 0,
      atMillis: 0,
    };
    const before = server.scores.length;
    expect(await notifier.notify(notification)).toMatchObject({ delivered: true, attempts: 4 });
    const posted = server.scores.slice(before);
    expect(posted.map((s) => s['traceId']).sort()).toEqual([
      'trace-canary-2',
      'trace-canary-3',
      'trace-canary-4',
      'trace-control-0',
    ]);
    for (const score of posted) {
      expect(score).toMatchObject({
        name: VERDICT_SCORE_NAME,
        value: 'fail',
        dataType: 'CATEGORICAL',
        comment: expect.stringContaining('error rate 4.1%'),
        metadata: expect.objectContaining({ rolloutId: 'r-1', canaryRelease: '2' }),
      });
    }
    expect(server.requests.filter((r) => r.path === '/api/public/scores').every((r) => r.authorized)).toBe(true);
    // A manual transition carries no verdict: nothing is posted.
    const { verdict: _verdict, ...manual } = notification;
    expect(await notifier.notify(manual)).toMatchObject({ delivered: true, attempts: 0 });
    expect(server.scores.length).toBe(before + 4);
  });
});
