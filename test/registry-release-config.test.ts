/**
 * Release registry end to end: releases registered in the controller's store, a rollout
 * written through the embedded routing adapter, the app resolving its assignment AND the
 * configuration in one call (embedded OpenFeature provider + the store's registry
 * reader), every span naming the prompt and model its release prescribes, and the
 * behaviour processor flagging the one call that used another model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import {
  ATTR_COHORT,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_PROMPT_HASH,
  ATTR_RELEASE_ID,
  ATTR_RELEASE_MODEL,
  ATTR_RELEASE_PROMPT_HASH,
} from '@agent-canary/conventions';
import type { GateEvaluator } from '@agent-canary/gate';
import {
  hashPrompt,
  type ReleaseConfig,
  type ReleaseConfigReader,
  ReleaseTaggingSpanProcessor,
  resolveReleaseConfig,
  withResolvedRelease,
} from '@agent-canary/instrumentation';
import { createRelease, listReleases, releaseConfigReader } from '@agent-canary/monitor';
import { BehaviorSpanProcessor, selectSeries } from '@agent-canary/processor';
import { EmbeddedProvider, EmbeddedRoutingAdapter } from '@agent-canary/routing';
import { OpenFeature } from '@openfeature/server-sdk';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';

const FLAG = 'support-agent.release';
const PROMPTS = { v1: 'You are a support agent.', v2: 'You are a concise support agent. Cite the docs.' };
const dir = mkdtempSync(join(tmpdir(), 'ac-registry-e2e-'));
afterAll(async () => {
  await OpenFeature.clearProviders();
  rmSync(dir, { recursive: true, force: true });
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

describe('release registry and the one-call resolver', () => {
  it('serves each user the configuration of the release routing assigned, and flags a mismatch', async () => {
    const store = new RolloutStore({ path: join(dir, 'controller.db') });
    createRelease(store, {
      id: 'v1',
      promptHash: hashPrompt(PROMPTS.v1),
      model: 'gpt-4.1-mini',
      parameters: { temperature: 0.2 },
      status: 'stable',
    });
    createRelease(store, {
      id: 'v2',
      promptHash: hashPrompt(PROMPTS.v2),
      prompt: { name: 'support', version: 7 },
      model: 'gpt-4.1',
      parameters: { temperature: 0 },
    });
    const routingPath = join(dir, 'routing.json');
    const controller = new RolloutController({
      store,
      routing: new EmbeddedRoutingAdapter({ path: routingPath }),
      gate: idleGate,
      env: {},
    });
    await controller.start({
      id: 'r1',
      flagKey: FLAG,
      canaryRelease: 'v2',
      stableRelease: 'v1',
      steps: [{ percent: 20 }, { percent: 100 }],
    });
    await OpenFeature.setProviderAndWait('registry-e2e', new EmbeddedProvider({ path: routingPath, watch: false }));
    const client = OpenFeature.getClient('registry-e2e');

    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const exporter = new InMemorySpanExporter();
    const behavior = new BehaviorSpanProcessor();
    const provider = new BasicTracerProvider({
      spanProcessors: [new ReleaseTaggingSpanProcessor(), behavior, new SimpleSpanProcessor(exporter)],
    });
    trace.setGlobalTracerProvider(provider);
    const tracer = trace.getTracer('support-agent');
    // The controller's reader satisfies the app-side interface without either package importing the other.
    const registry: ReleaseConfigReader = releaseConfigReader(store);
    const stable = registry.getReleaseConfig('v1') as ReleaseConfig;

    const served: Record<string, number> = {};
    let injected = false;
    for (let user = 0; user < 300; user += 1) {
      await tracer.startActiveSpan(
        'invoke_agent support',
        { attributes: { [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent' } },
        async (turn) => {
          const resolved = await resolveReleaseConfig(client, FLAG, `user-${user}`, {
            source: { kind: 'registry', registry },
            fallback: stable,
          });
          served[resolved.release.id] = (served[resolved.release.id] ?? 0) + 1;
          await withResolvedRelease(resolved, async () => {
            // The first canary call goes through a code path that hard-codes an old model.
            const buggy = resolved.release.id === 'v2' && !injected;
            injected ||= buggy;
            const model = buggy ? 'gpt-4o' : resolved.release.model;
            tracer.startActiveSpan(
              `chat ${model}`,
              { attributes: { [ATTR_GEN_AI_OPERATION_NAME]: 'chat', [ATTR_GEN_AI_REQUEST_MODEL]: model } },
              (chat) => chat.end(),
            );
          });
          turn.end();
        },
      );
    }
    expect(served['v2']).toBeGreaterThan(20);
    expect(served['v1']).toBeGreaterThan(150);

    const spans = exporter.getFinishedSpans();
    for (const span of spans) {
      const release = span.attributes[ATTR_RELEASE_ID] as 'v1' | 'v2' | undefined;
      if (span.name.startsWith('invoke_agent')) {
        // The request span names the prompt and model actually used.
        expect(release).toBeDefined();
        expect(span.attributes[ATTR_PROMPT_HASH]).toBe(hashPrompt(PROMPTS[release ?? 'v1']));
        expect(span.attributes[ATTR_GEN_AI_REQUEST_MODEL]).toBe(release === 'v2' ? 'gpt-4.1' : 'gpt-4.1-mini');
      } else {
        // Every span under the request names the prompt and model its release prescribes.
        expect(span.attributes[ATTR_RELEASE_PROMPT_HASH]).toBe(hashPrompt(PROMPTS[release ?? 'v1']));
        expect(span.attributes[ATTR_RELEASE_MODEL]).toBe(release === 'v2' ? 'gpt-4.1' : 'gpt-4.1-mini');
        expect(span.attributes[ATTR_COHORT]).toMatch(release === 'v2' ? /^canary$/ : /^(stable|control)$/);
      }
    }
    const window = behavior.window();
    expect(spans.filter((span) => span.attributes[ATTR_GEN_AI_REQUEST_MODEL] === 'gpt-4o')).toHaveLength(1);
    expect(selectSeries(window, { release: 'v2' }).configMismatches).toBe(1);
    expect(selectSeries(window, { release: 'v1' }).configMismatches).toBe(0);

    await controller.promote({ actor: 'ana', reason: 'gate passed' });
    expect(listReleases(store).map((release) => [release.id, release.status])).toEqual([
      ['v2', 'stable'],
      ['v1', 'retired'],
    ]);
    await provider.shutdown();
    store.close();
  });
});
