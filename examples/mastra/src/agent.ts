/**
 * A weather agent written with Mastra, on a mock AI SDK model (`MockLanguageModelV3` from
 * `ai/test`) so it runs offline. The mock model follows its instructions the way a real one
 * would: the stable prompt says to call `get_weather`; the regressed canary prompt tells it
 * to search the web first, so it calls the wrong tool (`web_search`), which fails for weather
 * questions.
 *
 * Mastra traces into its own span model; `@mastra/otel-bridge` turns each Mastra span into a
 * live OpenTelemetry span on the global tracer provider, started under the active context,
 * so the release tagger sees the assignment (see telemetry.ts).
 */
import {
  CANARY_RELEASE,
  isKnownCity,
  WEATHER_PROMPTS as PROMPTS,
  questionFor,
  STABLE_RELEASE,
} from '@agent-canary/example-rollout';
import { Mastra } from '@mastra/core';
import { Agent } from '@mastra/core/agent';
import { createTool } from '@mastra/core/tools';
import { Observability } from '@mastra/observability';
import { OtelBridge } from '@mastra/otel-bridge';
import { simulateReadableStream } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';

// The releases, prompts and questions are the scenario every framework example shares.
export { CANARY_RELEASE, PROMPTS, questionFor, STABLE_RELEASE };

type CallOptions = Parameters<MockLanguageModelV3['doStream']>[0];
type StreamPart =
  Awaited<ReturnType<MockLanguageModelV3['doStream']>>['stream'] extends ReadableStream<infer Part> ? Part : never;

const usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
});

function systemText(options: CallOptions): string {
  return options.prompt
    .filter((message) => message.role === 'system')
    .map((message) => message.content)
    .join('\n');
}

function userText(options: CallOptions): string {
  for (const message of options.prompt) {
    if (message.role !== 'user') continue;
    for (const part of message.content) if (part.type === 'text') return part.text;
  }
  return '';
}

type GenerateResult = Awaited<ReturnType<MockLanguageModelV3['doGenerate']>>;

/** One model step: a tool call chosen from the instructions, or, after a tool result, an answer. */
function respond(options: CallOptions, call: number): GenerateResult {
  const question = userText(options);
  if (options.prompt.some((message) => message.role === 'tool')) {
    return {
      content: [{ type: 'text', text: `Here is the weather you asked about (${question}).` }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: usage(80, 14),
      warnings: [],
    };
  }
  // The canary prompt names web_search; the stable one names get_weather.
  const wantsSearch = systemText(options).includes('call web_search');
  const city = /Weather in (.+)\?/.exec(question)?.[1] ?? question;
  return {
    content: [
      {
        type: 'tool-call',
        toolCallId: `call-${call}`,
        toolName: wantsSearch ? 'web_search' : 'get_weather',
        input: JSON.stringify(wantsSearch ? { query: question } : { city }),
      },
    ],
    finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
    usage: usage(40, 12),
    warnings: [],
  };
}

function toStreamParts(result: GenerateResult): StreamPart[] {
  const parts: StreamPart[] = [{ type: 'stream-start', warnings: [] }];
  for (const part of result.content) {
    if (part.type === 'text') {
      parts.push(
        { type: 'text-start', id: 't1' },
        { type: 'text-delta', id: 't1', delta: part.text },
        { type: 'text-end', id: 't1' },
      );
    } else if (part.type === 'tool-call') {
      parts.push(part);
    }
  }
  parts.push({ type: 'finish', finishReason: result.finishReason, usage: result.usage });
  return parts;
}

/**
 * A deterministic stand-in for a chat model, answering both `doGenerate` (what Mastra's
 * `generate` calls) and `doStream` (its `stream`).
 */
export function mockWeatherModel(): MockLanguageModelV3 {
  let calls = 0;
  return new MockLanguageModelV3({
    provider: 'mock',
    modelId: 'mock-weather-1',
    doGenerate: async (options) => respond(options, ++calls),
    doStream: async (options) => ({
      stream: simulateReadableStream({
        chunks: toStreamParts(respond(options, ++calls)),
        initialDelayInMs: null,
        chunkDelayInMs: null,
      }),
    }),
  });
}

/** The agent's tools. `web_search` is the wrong tool for weather: it fails. */
export const weatherTools = {
  get_weather: createTool({
    id: 'get_weather',
    description: 'Current weather of a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      if (!isKnownCity(city)) throw new Error(`unknown city: ${city}`);
      return { city, forecast: 'sunny', celsius: 21 };
    },
  }),
  web_search: createTool({
    id: 'web_search',
    description: 'Search the web',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }): Promise<string> => {
      throw new Error(`web_search: no weather data for "${query}"`);
    },
  }),
};

/**
 * Registers one agent per release in a Mastra instance whose observability goes through the
 * OpenTelemetry bridge (spans on the global tracer provider).
 */
export function createMastra(): Mastra {
  const agents: Record<string, Agent> = {};
  for (const [release, instructions] of Object.entries(PROMPTS)) {
    agents[release] = new Agent({
      id: `weather_agent_${release.replace(/\W/g, '_')}`,
      name: 'weather_agent',
      instructions,
      model: mockWeatherModel(),
      tools: weatherTools,
    });
  }
  return new Mastra({
    agents,
    // Mastra logs to the console by default; a library-style example stays quiet.
    logger: false,
    observability: new Observability({
      configs: { default: { serviceName: 'weather-service', bridge: new OtelBridge() } },
    }),
  });
}

/** Runs one turn of the release's agent and returns its answer. */
export async function answerQuestion(mastra: Mastra, release: string, question: string): Promise<string> {
  const agent = mastra.getAgent(release in PROMPTS ? release : STABLE_RELEASE);
  const result = await agent.generate(question, { maxSteps: 4 });
  return result.text;
}
