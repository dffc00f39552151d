/**
 * A weather agent written with the Vercel AI SDK 6 (`ToolLoopAgent`), with a mock model so it
 * runs offline. The mock model follows its instructions the way a real one would: the stable
 * prompt says to call `get_weather`; the regressed canary prompt tells it to search the web
 * first, so it calls the wrong tool (`web_search`), which fails for weather questions.
 *
 * Telemetry is the AI SDK's own (`experimental_telemetry`): `ai.generateText` (the turn),
 * `ai.generateText.doGenerate` (model calls) and `ai.toolCall` (tool calls) spans, on the
 * global tracer provider.
 */
import {
  CANARY_RELEASE,
  isKnownCity,
  questionFor,
  STABLE_RELEASE,
  WEATHER_PROMPTS,
} from '@agent-canary/example-rollout';
import { stepCountIs, ToolLoopAgent, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';

/** A harmless rewording of the stable prompt: a canary that deserves promotion. */
export const REWORDED_RELEASE = 'weather@v1.1';

/** System prompt of each release (a release = prompt + model configuration): the shared two, and the rewording. */
export const PROMPTS: Readonly<Record<string, string>> = Object.freeze({
  ...WEATHER_PROMPTS,
  [REWORDED_RELEASE]: 'You are a friendly weather bot. When asked about the weather, call get_weather with the city.',
});

// The releases and questions are the scenario every framework example shares.
export { CANARY_RELEASE, questionFor, STABLE_RELEASE };

type CallOptions = Parameters<MockLanguageModelV3['doGenerate']>[0];
type GenerateResult = Awaited<ReturnType<MockLanguageModelV3['doGenerate']>>;

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

/**
 * A deterministic stand-in for a chat model: first step, a tool call chosen from the
 * instructions; second step, an answer from the tool result.
 */
export function mockWeatherModel(): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    provider: 'mock',
    modelId: 'mock-weather-1',
    doGenerate: async (options): Promise<GenerateResult> => {
      const question = userText(options);
      const sawToolResult = options.prompt.some((message) => message.role === 'tool');
      if (!sawToolResult) {
        const wantsSearch = systemText(options).includes('call web_search');
        const city = /Weather in (.+)\?/.exec(question)?.[1] ?? question;
        return {
          content: [
            wantsSearch
              ? {
                  type: 'tool-call',
                  toolCallId: 'call-1',
                  toolName: 'web_search',
                  input: JSON.stringify({ query: question }),
                }
              : { type: 'tool-call', toolCallId: 'call-1', toolName: 'get_weather', input: JSON.stringify({ city }) },
          ],
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage: usage(40, 12),
          warnings: [],
        };
      }
      return {
        content: [{ type: 'text', text: `Here is the weather you asked about (${question}).` }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: usage(80, 14),
        warnings: [],
      };
    },
  });
}

/** The agent's tools. `web_search` is the wrong tool for weather: it fails. */
export const weatherTools = {
  get_weather: tool({
    description: 'Current weather of a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      if (!isKnownCity(city)) throw new Error(`unknown city: ${city}`);
      return { city, forecast: 'sunny', celsius: 21 };
    },
  }),
  web_search: tool({
    description: 'Search the web',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }): Promise<string> => {
      throw new Error(`web_search: no weather data for "${query}"`);
    },
  }),
};

/** Builds the agent of one release, with the AI SDK's telemetry on. */
export function createWeatherAgent(release: string) {
  return new ToolLoopAgent({
    model: mockWeatherModel(),
    instructions: PROMPTS[release] ?? PROMPTS[STABLE_RELEASE],
    tools: weatherTools,
    stopWhen: stepCountIs(4),
    // The AI SDK's own spans; the tagging processor adds release and cohort to each of them.
    experimental_telemetry: { isEnabled: true, functionId: 'weather_agent', metadata: { release } },
  });
}
