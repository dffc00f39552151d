/**
 * A weather agent written with the Strands Agents TypeScript SDK, with a mock model so it
 * runs offline. The mock model follows its instructions the way a real one would: the stable
 * prompt says to call `get_weather`; the regressed canary prompt tells it to search the web
 * first, so it calls the wrong tool (`web_search`), which fails for weather questions.
 *
 * Strands emits OpenTelemetry GenAI spans natively (`invoke_agent`, `execute_agent_loop_cycle`,
 * `chat`, `execute_tool`) on the global tracer provider: nothing to instrument.
 */
import {
  CANARY_RELEASE,
  isKnownCity,
  WEATHER_PROMPTS as PROMPTS,
  questionFor,
  STABLE_RELEASE,
} from '@agent-canary/example-rollout';
import { Agent, type Message, Model, type ModelStreamEvent, type StreamOptions, tool } from '@strands-agents/sdk';
import { z } from 'zod';

// The releases, prompts and questions are the scenario every framework example shares.
export { CANARY_RELEASE, PROMPTS, questionFor, STABLE_RELEASE };

interface MockModelConfig {
  modelId?: string;
}

/**
 * A deterministic stand-in for a Strands model provider: it streams a tool call chosen from
 * the system prompt, then, once a tool result is in the conversation, an answer.
 */
export class MockWeatherModel extends Model<MockModelConfig> {
  private config: MockModelConfig = { modelId: 'mock-weather-1' };
  private calls = 0;

  updateConfig(modelConfig: MockModelConfig): void {
    this.config = { ...this.config, ...modelConfig };
  }

  getConfig(): MockModelConfig {
    return this.config;
  }

  async *stream(messages: Message[], options?: StreamOptions): AsyncIterable<ModelStreamEvent> {
    this.calls += 1;
    const system = typeof options?.systemPrompt === 'string' ? options.systemPrompt : '';
    const question = firstUserText(messages);
    const sawToolResult = messages.some((message) => message.content.some((block) => block.type === 'toolResultBlock'));
    yield { type: 'modelMessageStartEvent', role: 'assistant' };
    if (sawToolResult) {
      yield { type: 'modelContentBlockStartEvent' };
      yield {
        type: 'modelContentBlockDeltaEvent',
        delta: { type: 'textDelta', text: `Here is the weather you asked about (${question}).` },
      };
      yield { type: 'modelContentBlockStopEvent' };
      yield { type: 'modelMessageStopEvent', stopReason: 'endTurn' };
      yield { type: 'modelMetadataEvent', usage: { inputTokens: 80, outputTokens: 14, totalTokens: 94 } };
      return;
    }
    // The canary prompt names web_search; the stable one names get_weather.
    const wantsSearch = system.includes('call web_search');
    const city = /Weather in (.+)\?/.exec(question)?.[1] ?? question;
    yield {
      type: 'modelContentBlockStartEvent',
      start: {
        type: 'toolUseStart',
        name: wantsSearch ? 'web_search' : 'get_weather',
        toolUseId: `call-${this.calls}`,
      },
    };
    yield {
      type: 'modelContentBlockDeltaEvent',
      delta: { type: 'toolUseInputDelta', input: JSON.stringify(wantsSearch ? { query: question } : { city }) },
    };
    yield { type: 'modelContentBlockStopEvent' };
    yield { type: 'modelMessageStopEvent', stopReason: 'toolUse' };
    yield { type: 'modelMetadataEvent', usage: { inputTokens: 40, outputTokens: 12, totalTokens: 52 } };
  }
}

function firstUserText(messages: readonly Message[]): string {
  for (const message of messages) {
    if (message.role !== 'user') continue;
    for (const block of message.content) if (block.type === 'textBlock') return block.text;
  }
  return '';
}

/** The agent's tools. `web_search` is the wrong tool for weather: it fails. */
export const weatherTools = [
  tool({
    name: 'get_weather',
    description: 'Current weather of a city',
    inputSchema: z.object({ city: z.string() }),
    callback: ({ city }) => {
      if (!isKnownCity(city)) throw new Error(`unknown city: ${city}`);
      return { city, forecast: 'sunny', celsius: 21 };
    },
  }),
  tool({
    name: 'web_search',
    description: 'Search the web',
    inputSchema: z.object({ query: z.string() }),
    callback: ({ query }): string => {
      throw new Error(`web_search: no weather data for "${query}"`);
    },
  }),
];

/** Builds the agent of one release. */
export function createWeatherAgent(release: string): Agent {
  return new Agent({
    name: 'weather_agent',
    model: new MockWeatherModel(),
    systemPrompt: PROMPTS[release] ?? PROMPTS[STABLE_RELEASE] ?? '',
    tools: weatherTools,
    // The default printer writes the streamed answer to stdout.
    printer: false,
  });
}

/** Runs one turn of the agent and returns its answer. */
export async function answerQuestion(release: string, question: string): Promise<string> {
  const result = await createWeatherAgent(release).invoke(question);
  return result.toString();
}
