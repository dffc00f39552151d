/**
 * The tagging processor labels spans it did not write: a real Vercel AI SDK 6 `generateText`
 * run (mock model, two tools, one throwing) under a release resolved through the real
 * OpenFeature SDK, on the real Node SDK started by `registerAgentCanary`.
 */
import { ATTR_COHORT, ATTR_FLAG_KEY, ATTR_RELEASE_ID, ATTR_ROLLOUT_ID } from '@agent-canary/conventions';
import {
  type AgentCanaryHandle,
  registerAgentCanary,
  resolveRelease,
  withRelease,
} from '@agent-canary/instrumentation';
import { type EvaluationContext, InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { generateText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const DOMAIN = 'instrumentation-ai-sdk-test';
const exporter = new InMemorySpanExporter();
let canary: AgentCanaryHandle;

const usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
});

function weatherModel(): MockLanguageModelV3 {
  let calls = 0;
  return new MockLanguageModelV3({
    modelId: 'mock-model-1',
    doGenerate: async () => {
      calls += 1;
      if (calls === 1) {
        return {
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool-call', toolCallId: 'call-1', toolName: 'get_weather', input: '{"city":"Paris"}' },
            { type: 'tool-call', toolCallId: 'call-2', toolName: 'failing_tool', input: '{"q":"boom"}' },
          ],
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage: usage(20, 15),
          warnings: [],
        };
      }
      return {
        content: [{ type: 'text', text: 'It is sunny in Paris. The other tool failed.' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: usage(40, 12),
        warnings: [],
      };
    },
  });
}

beforeAll(async () => {
  canary = await registerAgentCanary({ spanProcessors: [new SimpleSpanProcessor(exporter)], env: {} });
  await OpenFeature.setProviderAndWait(
    DOMAIN,
    new InMemoryProvider({
      'weather.release': {
        variants: { canary: 'weather-v2', control: 'weather-v1', stable: 'weather-v1' },
        defaultVariant: 'stable',
        disabled: false,
        contextEvaluator: (ctx: EvaluationContext) => (ctx.targetingKey === 'user-canary' ? 'canary' : 'stable'),
      },
    }),
  );
});

afterAll(async () => {
  await OpenFeature.clearProviders();
  await canary.shutdown();
});

describe('Vercel AI SDK spans under a release', () => {
  it('carry the release and cohort on the root, both model calls and both tool calls', async () => {
    const client = OpenFeature.getClient(DOMAIN);
    const assignment = await resolveRelease(client, 'weather.release', 'user-canary');
    expect(assignment.cohort).toBe('canary');

    const result = await withRelease({ ...assignment, rolloutId: 'rollout-1' }, () =>
      generateText({
        model: weatherModel(),
        prompt: 'Weather in Paris?',
        stopWhen: stepCountIs(3),
        experimental_telemetry: { isEnabled: true, functionId: 'weather_agent' },
        tools: {
          get_weather: tool({
            inputSchema: z.object({ city: z.string() }),
            execute: async ({ city }) => ({ city, forecast: 'sunny' }),
          }),
          failing_tool: tool({
            inputSchema: z.object({ q: z.string() }),
            execute: async ({ q }): Promise<string> => {
              throw new Error(`tool exploded: ${q}`);
            },
          }),
        },
      }),
    );
    expect(result.text).toBe('It is sunny in Paris. The other tool failed.');
    await canary.forceFlush();

    const spans = exporter.getFinishedSpans();
    const names = spans.map((span) => span.name).sort();
    expect(names).toEqual([
      'ai.generateText',
      'ai.generateText.doGenerate',
      'ai.generateText.doGenerate',
      'ai.toolCall',
      'ai.toolCall',
    ]);
    for (const span of spans) {
      expect(span.attributes[ATTR_RELEASE_ID], span.name).toBe('weather-v2');
      expect(span.attributes[ATTR_COHORT], span.name).toBe('canary');
      expect(span.attributes[ATTR_FLAG_KEY], span.name).toBe('weather.release');
      expect(span.attributes[ATTR_ROLLOUT_ID], span.name).toBe('rollout-1');
    }
    const toolNames = spans
      .filter((span) => span.name === 'ai.toolCall')
      .map((span) => span.attributes['ai.toolCall.name']);
    expect(toolNames.sort()).toEqual(['failing_tool', 'get_weather']);
    const failed = spans.find((span) => span.attributes['ai.toolCall.name'] === 'failing_tool');
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
  });
});
