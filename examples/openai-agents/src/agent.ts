/**
 * A weather agent written with the OpenAI Agents SDK (`@openai/agents`), with a mock model
 * so it runs offline. The mock model follows its instructions the way a real one would: the
 * stable prompt says to call `get_weather`; the regressed canary prompt tells it to search
 * the web first, so it calls the wrong tool (`web_search`), which fails for weather questions.
 *
 * The SDK has its own tracing (not OpenTelemetry); `OpenAIAgentsInstrumentation` from
 * OpenInference turns it into OpenTelemetry spans (see telemetry.ts). The mock model wraps
 * each call in `withGenerationSpan`, as the SDK's own model adapters do, so model calls get
 * an LLM span with usage.
 */
import {
  CANARY_RELEASE,
  isKnownCity,
  WEATHER_PROMPTS as PROMPTS,
  questionFor,
  STABLE_RELEASE,
} from '@agent-canary/example-rollout';
import {
  Agent,
  type AgentInputItem,
  type Model,
  type ModelRequest,
  type ModelResponse,
  run,
  tool,
  Usage,
  withGenerationSpan,
} from '@openai/agents';
import { z } from 'zod';

// The releases, prompts and questions are the scenario every framework example shares.
export { CANARY_RELEASE, PROMPTS, questionFor, STABLE_RELEASE };

function firstUserText(input: string | AgentInputItem[]): string {
  if (typeof input === 'string') return input;
  for (const item of input) {
    if (!('role' in item) || item.role !== 'user') continue;
    if (typeof item.content === 'string') return item.content;
    for (const part of item.content) if (part.type === 'input_text') return part.text;
  }
  return '';
}

/**
 * A deterministic stand-in for an OpenAI model: first call, a tool call chosen from the
 * instructions; once a tool result is in the input, an answer.
 */
export class MockWeatherModel implements Model {
  private calls = 0;

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const question = firstUserText(request.input);
    const sawToolResult =
      Array.isArray(request.input) && request.input.some((item) => item.type === 'function_call_result');
    this.calls += 1;
    return withGenerationSpan(
      async (span) => {
        const response = sawToolResult
          ? answer(question, this.calls)
          : toolCall(question, request.systemInstructions ?? '', this.calls);
        span.spanData.output = response.output;
        span.spanData.usage = { input_tokens: response.usage.inputTokens, output_tokens: response.usage.outputTokens };
        return response;
      },
      { data: { model: 'mock-weather-1', input: [{ role: 'user', content: question }] } },
    );
  }

  // biome-ignore lint/correctness/useYield: the example runs non-streamed only.
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('MockWeatherModel does not stream');
  }
}

function toolCall(question: string, instructions: string, call: number): ModelResponse {
  const wantsSearch = instructions.includes('call web_search');
  const city = /Weather in (.+)\?/.exec(question)?.[1] ?? question;
  return {
    usage: new Usage({ requests: 1, inputTokens: 40, outputTokens: 12, totalTokens: 52 }),
    responseId: `resp-${call}`,
    output: [
      {
        type: 'function_call',
        callId: `call-${call}`,
        name: wantsSearch ? 'web_search' : 'get_weather',
        arguments: JSON.stringify(wantsSearch ? { query: question } : { city }),
        status: 'completed',
      },
    ],
  };
}

function answer(question: string, call: number): ModelResponse {
  return {
    usage: new Usage({ requests: 1, inputTokens: 80, outputTokens: 14, totalTokens: 94 }),
    responseId: `resp-${call}`,
    output: [
      {
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: `Here is the weather you asked about (${question}).` }],
      },
    ],
  };
}

/** The agent's tools. `web_search` is the wrong tool for weather: it fails. */
export const weatherTools = [
  tool({
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      if (!isKnownCity(city)) throw new Error(`unknown city: ${city}`);
      return { city, forecast: 'sunny', celsius: 21 };
    },
  }),
  tool({
    name: 'web_search',
    description: 'Search the web',
    parameters: z.object({ query: z.string() }),
    execute: async ({ query }): Promise<string> => {
      throw new Error(`web_search: no weather data for "${query}"`);
    },
  }),
];

/** Builds the agent of one release. */
export function createWeatherAgent(release: string): Agent {
  return new Agent({
    name: 'weather_agent',
    instructions: PROMPTS[release] ?? PROMPTS[STABLE_RELEASE] ?? '',
    model: new MockWeatherModel(),
    tools: weatherTools,
  });
}

/** Runs one turn of the agent and returns its answer. */
export async function answerQuestion(release: string, question: string): Promise<string> {
  const result = await run(createWeatherAgent(release), question, { maxTurns: 4 });
  return String(result.finalOutput ?? '');
}
