/**
 * A weather agent written twice, with LangGraph.js (`createReactAgent`) and with deepagents
 * (`createDeepAgent`, itself a LangGraph graph), on a mock chat model so it runs offline.
 * The mock model follows its instructions the way a real one would: the stable prompt says
 * to call `get_weather`; the regressed canary prompt tells it to search the web first, so it
 * calls the wrong tool (`web_search`), which fails for weather questions.
 *
 * LangChain has no OpenTelemetry of its own: OpenInference's LangChain instrumentation hooks
 * its callback manager (see telemetry.ts) and emits CHAIN / LLM / TOOL spans.
 */
import {
  CANARY_RELEASE,
  isKnownCity,
  WEATHER_PROMPTS as PROMPTS,
  questionFor,
  STABLE_RELEASE,
} from '@agent-canary/example-rollout';
import { type BaseChatModelParams, SimpleChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage, HumanMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { tool } from '@langchain/core/tools';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { createDeepAgent } from 'deepagents';
import { toolErrorMiddleware } from 'langchain';
import { z } from 'zod';

/** The two ways of writing the agent this example covers. */
export const AGENT_FLAVOR = { langgraph: 'langgraph', deepagents: 'deepagents' } as const;
export type AgentFlavor = (typeof AGENT_FLAVOR)[keyof typeof AGENT_FLAVOR];

// The releases, prompts and questions are the scenario every framework example shares.
export { CANARY_RELEASE, PROMPTS, questionFor, STABLE_RELEASE };

function textOf(message: BaseMessage): string {
  return typeof message.content === 'string'
    ? message.content
    : message.content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join('');
}

/**
 * A deterministic stand-in for a chat model that reports like ChatOpenAI (model name,
 * token usage, finish reason, OpenAI-style tool calls): first call, a tool call chosen from
 * the system prompt; once a tool result is in the conversation, an answer.
 */
export class MockWeatherChatModel extends SimpleChatModel {
  constructor(fields: BaseChatModelParams = {}) {
    super(fields);
  }

  _llmType(): string {
    return 'mock-weather';
  }

  override invocationParams(): Record<string, unknown> {
    return { model: 'mock-weather-1' };
  }

  // Tool schemas are not needed to decide: the mock reads its instructions instead.
  override bindTools(): this {
    return this;
  }

  // SimpleChatModel requires it; _generate below is what runs.
  async _call(): Promise<string> {
    return '';
  }

  override async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const system = messages
      .filter((message) => message.getType() === 'system')
      .map(textOf)
      .join('\n');
    const question = textOf(messages.find((message) => message.getType() === 'human') ?? new HumanMessage(''));
    const sawToolResult = messages.some((message) => message.getType() === 'tool');
    const message = sawToolResult ? answer(question) : toolCall(question, system);
    return {
      generations: [{ text: textOf(message), message }],
      llmOutput: { tokenUsage: message.usage_metadata },
    };
  }
}

let callCounter = 0;

function toolCall(question: string, system: string): AIMessage {
  // The canary prompt names web_search; the stable one names get_weather.
  const wantsSearch = system.includes('call web_search');
  const city = /Weather in (.+)\?/.exec(question)?.[1] ?? question;
  const id = `call-${++callCounter}`;
  const name = wantsSearch ? 'web_search' : 'get_weather';
  const args = wantsSearch ? { query: question } : { city };
  return new AIMessage({
    content: '',
    tool_calls: [{ id, name, args, type: 'tool_call' }],
    additional_kwargs: {
      tool_calls: [{ id, type: 'function', function: { name, arguments: JSON.stringify(args) } }],
    },
    usage_metadata: { input_tokens: 40, output_tokens: 12, total_tokens: 52 },
    response_metadata: { finish_reason: 'tool_calls', model_name: 'mock-weather-1' },
  });
}

function answer(question: string): AIMessage {
  return new AIMessage({
    content: `Here is the weather you asked about (${question}).`,
    usage_metadata: { input_tokens: 80, output_tokens: 14, total_tokens: 94 },
    response_metadata: { finish_reason: 'stop', model_name: 'mock-weather-1' },
  });
}

/** The agent's tools. `web_search` is the wrong tool for weather: it fails. */
export const weatherTools = [
  tool(
    async ({ city }: { city: string }) => {
      if (!isKnownCity(city)) throw new Error(`unknown city: ${city}`);
      return JSON.stringify({ city, forecast: 'sunny', celsius: 21 });
    },
    { name: 'get_weather', description: 'Current weather of a city', schema: z.object({ city: z.string() }) },
  ),
  tool(
    async ({ query }: { query: string }): Promise<string> => {
      throw new Error(`web_search: no weather data for "${query}"`);
    },
    { name: 'web_search', description: 'Search the web', schema: z.object({ query: z.string() }) },
  ),
];

/** Builds the agent of one release in the chosen flavour. */
export function createWeatherAgent(flavor: AgentFlavor, release: string) {
  const prompt = PROMPTS[release] ?? PROMPTS[STABLE_RELEASE] ?? '';
  if (flavor === AGENT_FLAVOR.deepagents) {
    return createDeepAgent({
      name: 'weather_agent',
      model: new MockWeatherChatModel(),
      systemPrompt: prompt,
      tools: weatherTools,
      // createAgent-based graphs propagate tool errors; this turns them into error ToolMessages.
      middleware: [toolErrorMiddleware({ onError: (error) => `Error: ${(error as Error).message}` })],
    });
  }
  // ToolNode catches tool errors by default and hands them to the model.
  return createReactAgent({ name: 'weather_agent', llm: new MockWeatherChatModel(), tools: weatherTools, prompt });
}

/** Runs one turn of the agent and returns its answer. */
export async function answerQuestion(flavor: AgentFlavor, release: string, question: string): Promise<string> {
  const agent = createWeatherAgent(flavor, release);
  const state = await agent.invoke({ messages: [new HumanMessage(question)] }, { recursionLimit: 12 });
  const last = state.messages.at(-1);
  return last === undefined ? '' : textOf(last);
}
