/**
 * Continuous behaviour monitoring end to end, in simulated time: the real controller
 * promotes rollout r1 (v2) through the embedded routing; every request is then routed by
 * the real OpenFeature SDK and the embedded provider reading that split, so its spans
 * carry what the promoted flag says — release v2, cohort canary, rollout id r1. The
 * monitor follows the promotion from the store, freezes v2's baseline over users from
 * real spans (resolveRelease -> instrumentation helpers -> tagging processor -> behaviour
 * processor, each user of v2 counted once per subject period although every span carries
 * the rollout's id), and when the tool mix of v2 drifts without any release (search falls
 * from 40% to 20% of users' first tool calls over an hour) a real webhook receives ONE
 * alert with its evidence.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RolloutController, RolloutStore, webhookNotifier } from '@agent-canary/controller';
import type { GateEvaluator } from '@agent-canary/gate';
import {
  ReleaseTaggingSpanProcessor,
  resolveRelease,
  traceAgentTurn,
  traceToolCall,
  withRelease,
} from '@agent-canary/instrumentation';
import {
  createBehaviorMonitor,
  createRelease,
  type DriftNotification,
  MONITOR_PHASE,
  processorBehaviorSource,
  showRelease,
} from '@agent-canary/monitor';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { EmbeddedProvider, EmbeddedRoutingAdapter } from '@agent-canary/routing';
import { createRng, zipfSampler } from '@agent-canary/stats';
import { OpenFeature } from '@openfeature/server-sdk';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);
const FLAG = 'support-agent.release';
const TOOLS = ['search', 'db', 'code', 'email', 'calendar'] as const;

let server: Server;
let url = '';
const received: DriftNotification[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      received.push(JSON.parse(body) as DriftNotification);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await OpenFeature.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const idleGate: GateEvaluator = {
  async evaluate(gateContext) {
    return {
      result: {
        verdict: 'inconclusive',
        sequentialFailure: false,
        thresholdFailure: false,
        sampleRatioMismatch: false,
        requests: { stable: 0, canary: 0, control: 0 },
        subjects: { stable: 0, canary: 0, control: 0 },
        checks: [],
        reason: 'not used in this test',
        evaluatedAtMillis: gateContext.nowMillis,
      },
      state: null,
    };
  },
};

describe('behaviour monitor of the stable release, end to end', () => {
  it('alerts once, through a webhook, when the promoted release (served with its rollout id) drifts', async () => {
    let now = T0;
    const clock = () => now;
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const behavior = new BehaviorSpanProcessor({ now: clock });
    const provider = new BasicTracerProvider({ spanProcessors: [new ReleaseTaggingSpanProcessor(), behavior] });
    trace.setGlobalTracerProvider(provider);

    const store = new RolloutStore();
    createRelease(store, { id: 'v1', promptHash: 'sha256:1111', model: 'gpt-4.1-mini', status: 'stable' }, { clock });
    createRelease(store, { id: 'v2', promptHash: 'sha256:2222', model: 'gpt-4.1' }, { clock });
    // The embedded flag system in this process: the controller writes, the OpenFeature provider reads.
    const routing = new EmbeddedRoutingAdapter({ clock });
    await OpenFeature.setProviderAndWait('monitor-e2e', new EmbeddedProvider({ adapter: routing }));
    const flags = OpenFeature.getClient('monitor-e2e');
    const controller = new RolloutController({ store, routing, gate: idleGate, clock, env: {} });
    await controller.start({ id: 'r1', flagKey: FLAG, canaryRelease: 'v2', stableRelease: 'v1' });
    now += 10 * MINUTE;
    expect((await controller.promote({ actor: 'ana', reason: 'gate passed' })).ok).toBe(true);
    const promotedAt = now;
    expect(showRelease(store, 'v2')?.status).toBe('stable');
    // As the promoted flag routes every user: v2, in r1's canary cohort, with r1's id.
    expect(await resolveRelease(flags, FLAG, 'user-1', { defaultRelease: 'v1' })).toMatchObject({
      release: 'v2',
      cohort: 'canary',
      rolloutId: 'r1',
    });

    const monitor = createBehaviorMonitor({
      store,
      source: processorBehaviorSource(behavior),
      flagKey: FLAG,
      notifiers: [webhookNotifier({ url, retries: 0 })],
      clock,
    });

    // v2 serves everyone as the flag routes it; search's share falls from 40% to 20%
    // between +2 h and +3 h. 30 turns a minute from 20 000 users with Zipf activity.
    const driftStart = promotedAt + 2 * HOUR;
    const searchShare = (at: number) =>
      at <= driftStart ? 0.4 : at >= driftStart + HOUR ? 0.2 : 0.4 - (0.2 * (at - driftStart)) / HOUR;
    const rng = createRng('monitor-e2e');
    const userOf = zipfSampler(20_000, 0.8);
    const serveMinute = async () => {
      const search = searchShare(now);
      const rest = (1 - search) / 0.6;
      const shares = [search, 0.25 * rest, 0.15 * rest, 0.1 * rest, 0.1 * rest];
      for (let turn = 0; turn < 30; turn += 1) {
        const u = rng.next();
        let cumulative = 0;
        const tool =
          TOOLS.find((_, j) => {
            cumulative += shares[j] ?? 0;
            return u < cumulative;
          }) ?? 'calendar';
        // Virtual span times: latency is simulated, not the test machine's.
        let spanTime = now;
        const spanClock = () => spanTime;
        const assignment = await resolveRelease(flags, FLAG, `user-${userOf(rng)}`, { defaultRelease: 'v1' });
        await withRelease(assignment, () =>
          traceAgentTurn({ agentName: 'support', clock: spanClock }, async (agentTurn) => {
            spanTime += Math.round(1500 * Math.exp(0.5 * rng.normal()));
            await traceToolCall({ toolName: tool, clock: spanClock }, () => undefined);
            agentTurn.recordOutput('x'.repeat(Math.round(300 * Math.exp(0.6 * rng.normal()))));
            if (rng.next() < 0.02) agentTurn.recordRefusal();
          }),
        );
      }
    };

    const phases: string[] = [];
    while (now < promotedAt + 7 * HOUR) {
      await serveMinute();
      now += MINUTE;
      if ((now - promotedAt) % (5 * MINUTE) === 0) phases.push((await monitor.tick()).phase);
    }
    expect(phases[0]).toBe(MONITOR_PHASE.collectingBaseline);
    expect(phases.at(-1)).toBe(MONITOR_PHASE.monitoring);
    expect(monitor.status().baseline).toMatchObject({ release: 'v2', reason: 'promoted by rollout r1' });

    expect(received).toHaveLength(1);
    const alert = received[0];
    expect(alert).toMatchObject({ kind: 'alert', severity: 'warn', stableRelease: 'v2', flagKey: FLAG });
    expect(alert?.drift).toMatchObject({ signal: 'tool_mix', subject: 'search', release: 'v2', status: 'alarm' });
    expect(alert?.drift.baselineValue).toBeCloseTo(0.4, 1);
    expect(alert?.drift.currentValue).toBeLessThan(0.27);
    expect(alert?.drift.firstSeenAtMillis).toBeGreaterThan(driftStart);
    expect(alert?.drift.firstSeenAtMillis).toBeLessThan(driftStart + 4 * HOUR);
    // Users, not calls, behind each side.
    expect(alert?.drift).toMatchObject({ unit: 'subject', effect: 'share_change' });
    expect(alert?.drift.users).toBeGreaterThan(200);
    expect(alert?.drift.baselineUsers).toBeGreaterThan(1000);
    expect(alert?.drift.effectBound).toBeGreaterThanOrEqual(alert?.drift.tolerance ?? 1);
    // Nothing else moved: answer length and refusals stay quiet.
    expect(store.monitorAlerts(monitor.config.monitorId).map((a) => a.signal)).toEqual(['tool_mix']);
    // Every span carried the rollout id: the gate's per-rollout counts are whole beside the monitor's.
    const inRollout = behavior.window({ since: promotedAt }).series.filter((series) => series.rolloutId === 'r1');
    expect(inRollout.map((series) => series.cohort)).toEqual(['canary']);
    expect(inRollout[0]?.turns).toBeGreaterThan(5_000);
    await provider.shutdown();
    store.close();
  });
});
