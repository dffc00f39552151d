import {
  ATTR_COHORT,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_LANGFUSE_PROMPT_NAME,
  ATTR_LANGFUSE_PROMPT_VERSION,
  ATTR_PROMPT_HASH,
  ATTR_RELEASE_ID,
  ATTR_RELEASE_MODEL,
  ATTR_RELEASE_PROMPT_HASH,
} from '@agent-canary/conventions';
import { type EvaluationContext, InMemoryProvider, type Logger, OpenFeature } from '@openfeature/server-sdk';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  hashPrompt,
  type ReleaseConfig,
  recordPromptUsed,
  resolveReleaseConfig,
  withResolvedRelease,
} from './release-config.js';
import { ReleaseTaggingSpanProcessor } from './tagging-processor.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  spanProcessors: [new ReleaseTaggingSpanProcessor(), new SimpleSpanProcessor(exporter)],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);
const tracer = trace.getTracer('test');

const DOMAIN = 'instrumentation-release-config-test';
const silent: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

const V1: ReleaseConfig = {
  id: 'v1',
  promptHash: hashPrompt('You are a support agent.'),
  model: 'gpt-4.1-mini',
  parameters: { temperature: 0.2 },
};
const V2: ReleaseConfig = {
  id: 'v2',
  promptHash: hashPrompt('You are a concise support agent.'),
  prompt: { name: 'support', version: 4, label: 'canary' },
  model: 'gpt-4.1',
  parameters: { temperature: 0 },
};

const canaryUsers = (ctx: EvaluationContext) => (ctx.targetingKey === 'alice' ? 'canary' : 'stable');
const flags = {
  'agent.release': {
    variants: { canary: 'v2', stable: 'v1' },
    defaultVariant: 'stable',
    disabled: false,
    contextEvaluator: canaryUsers,
  },
  'agent.release.unknown': {
    variants: { canary: 'v9', stable: 'v1' },
    defaultVariant: 'stable',
    disabled: false,
    contextEvaluator: canaryUsers,
  },
  'agent.release.ab': {
    variants: { canary: 'v2', control: 'v1', stable: 'v1' },
    defaultVariant: 'stable',
    disabled: false,
    contextEvaluator: (ctx: EvaluationContext) => (ctx.targetingKey === 'bob' ? 'control' : canaryUsers(ctx)),
  },
  'agent.config': {
    variants: { canary: { ...V2 }, stable: { ...V1 }, broken: { id: 'v3', promptHash: '' } },
    defaultVariant: 'stable',
    disabled: false,
    contextEvaluator: (ctx: EvaluationContext) => (ctx.targetingKey === 'carol' ? 'broken' : canaryUsers(ctx)),
  },
};

const registry = { getReleaseConfig: (id: string) => ({ v1: V1, v2: V2 })[id] };
const client = OpenFeature.getClient(DOMAIN).setLogger(silent);

beforeAll(async () => {
  await OpenFeature.setProviderAndWait(DOMAIN, new InMemoryProvider(flags));
});
afterAll(async () => {
  await OpenFeature.clearProviders();
});
beforeEach(() => exporter.reset());

/** Resolves inside a request span, then runs a model-call span under the resolved release. */
async function request(
  flagKey: string,
  user: string,
  options: Parameters<typeof resolveReleaseConfig>[3],
  usedModel?: string,
) {
  return tracer.startActiveSpan('invoke_agent', async (span) => {
    const resolved = await resolveReleaseConfig(client, flagKey, user, options);
    await withResolvedRelease(resolved, async () => {
      tracer.startActiveSpan('chat', (chat) => {
        chat.setAttribute(ATTR_GEN_AI_REQUEST_MODEL, usedModel ?? resolved.release.model);
        chat.end();
      });
    });
    span.end();
    const spans = exporter.getFinishedSpans();
    return { resolved, root: spans.find((s) => s.name === 'invoke_agent'), chat: spans.find((s) => s.name === 'chat') };
  });
}

describe('resolveReleaseConfig', () => {
  it('resolves the assigned release to its registry configuration and stamps it on the spans', async () => {
    const { resolved, root, chat } = await request('agent.release', 'alice', {
      source: { kind: 'registry', registry },
      fallback: V1,
    });
    expect(resolved.assignment).toMatchObject({ release: 'v2', cohort: 'canary' });
    expect(resolved.release).toEqual(V2);
    expect(resolved.fallbackReason).toBeUndefined();
    expect(root?.attributes).toMatchObject({
      [ATTR_RELEASE_ID]: 'v2',
      [ATTR_COHORT]: 'canary',
      [ATTR_PROMPT_HASH]: V2.promptHash,
      [ATTR_GEN_AI_REQUEST_MODEL]: 'gpt-4.1',
      [ATTR_LANGFUSE_PROMPT_NAME]: 'support',
      [ATTR_LANGFUSE_PROMPT_VERSION]: 4,
    });
    expect(chat?.attributes).toMatchObject({
      [ATTR_RELEASE_ID]: 'v2',
      [ATTR_COHORT]: 'canary',
      [ATTR_RELEASE_PROMPT_HASH]: V2.promptHash,
      [ATTR_RELEASE_MODEL]: 'gpt-4.1',
      [ATTR_GEN_AI_REQUEST_MODEL]: 'gpt-4.1',
    });
  });

  it('keeps what the framework reports as the model actually called beside the prescribed one', async () => {
    const { chat } = await request(
      'agent.release',
      'alice',
      { source: { kind: 'registry', registry }, fallback: V1 },
      'gpt-4o',
    );
    expect(chat?.attributes[ATTR_RELEASE_MODEL]).toBe('gpt-4.1');
    expect(chat?.attributes[ATTR_GEN_AI_REQUEST_MODEL]).toBe('gpt-4o');
  });

  it('serves and labels the fallback when the registry does not know the assigned release', async () => {
    const { resolved, chat } = await request('agent.release.unknown', 'alice', {
      source: { kind: 'registry', registry },
      fallback: V1,
    });
    expect(resolved.assignment).toMatchObject({ release: 'v1', cohort: 'stable' });
    expect(resolved.release).toEqual(V1);
    expect(resolved.fallbackReason).toMatch(/v9 not found/);
    expect(chat?.attributes).toMatchObject({ [ATTR_RELEASE_ID]: 'v1', [ATTR_RELEASE_MODEL]: 'gpt-4.1-mini' });
  });

  it('keeps the control cohort when the stable release itself falls back to the built-in configuration', async () => {
    const onlyCanary = { getReleaseConfig: (id: string) => (id === 'v2' ? V2 : undefined) };
    const { resolved } = await request('agent.release.ab', 'bob', {
      source: { kind: 'registry', registry: onlyCanary },
      fallback: V1,
    });
    expect(resolved.assignment).toMatchObject({ release: 'v1', cohort: 'control' });
    expect(resolved.release).toEqual(V1);
    expect(resolved.fallbackReason).toMatch(/v1 not found/);
  });

  it('reads the configuration from an object flag whose variants carry it', async () => {
    const alice = await request('agent.config', 'alice', { source: { kind: 'flag-value' }, fallback: V1 });
    expect(alice.resolved).toMatchObject({ assignment: { release: 'v2', cohort: 'canary' }, release: V2 });
    const bob = await request('agent.config', 'bob', { source: { kind: 'flag-value' }, fallback: V1 });
    expect(bob.resolved).toMatchObject({ assignment: { release: 'v1', cohort: 'stable' }, release: V1 });
    const carol = await request('agent.config', 'carol', { source: { kind: 'flag-value' }, fallback: V1 });
    expect(carol.resolved.release).toEqual(V1);
    expect(carol.resolved.fallbackReason).toMatch(/no promptHash/);
  });

  it('uses a prompt-label lookup, and falls back when it rejects', async () => {
    const labels = { kind: 'prompt-label' as const, lookup: async (id: string) => (id === 'v2' ? V2 : undefined) };
    expect((await request('agent.release', 'alice', { source: labels, fallback: V1 })).resolved.release).toEqual(V2);
    const failing = {
      kind: 'prompt-label' as const,
      lookup: async (): Promise<ReleaseConfig | undefined> => {
        throw new Error('langfuse down');
      },
    };
    const { resolved } = await request('agent.release', 'alice', { source: failing, fallback: V1 });
    expect(resolved).toMatchObject({ assignment: { release: 'v1', cohort: 'stable' }, release: V1 });
  });

  it('hashes prompts stably and records the prompt actually used', () => {
    expect(hashPrompt('a')).toBe(hashPrompt('a'));
    expect(hashPrompt('a')).not.toBe(hashPrompt('b'));
    expect(hashPrompt('a')).toMatch(/^sha256:[0-9a-f]{16}$/);
    tracer.startActiveSpan('chat', (span) => {
      recordPromptUsed('You are a support agent.');
      span.end();
    });
    expect(exporter.getFinishedSpans()[0]?.attributes[ATTR_PROMPT_HASH]).toBe(V1.promptHash);
  });
});
