import { readdirSync, readFileSync } from 'node:fs';
import {
  AGENT_SPAN_KIND,
  type AgentSpanFacts,
  ATTR_COHORT,
  ATTR_EVAL_PREFIX,
  ATTR_FEEDBACK_KIND,
  ATTR_FLAG_KEY,
  ATTR_OUTPUT_LENGTH,
  ATTR_PROMPT_HASH,
  ATTR_REFUSAL,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  ATTR_SIMILARITY,
  ATTR_SUBJECT,
  ATTR_TOPIC,
  ATTR_TOXICITY,
  FEEDBACK_KIND,
  FEEDBACK_SPAN_NAME,
  FINISH_REASON,
  type FinishReason,
  SPAN_CONVENTION,
  type SpanConvention,
} from '@agent-canary/conventions';
import { type Attributes, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { normalizeSpan } from './index.js';
import { MAX_PARSED_PAYLOAD_CHARS } from './output-text.js';
import { FIXTURE_SPANS_DIR, fixtureRunNames, loadFixtureSpans } from './testing.js';

// --- what every fixture run must yield ---------------------------------------------

interface ModelCall {
  inputTokens: number;
  outputTokens: number;
  finishReason?: FinishReason;
  outputLength: number;
  refusal?: boolean;
}

interface Expectation {
  convention: SpanConvention;
  turn: Partial<AgentSpanFacts>;
  modelCalls: ModelCall[];
  tools: Array<{ toolName: string; isError: boolean }>;
}

const ANSWER = 'It is sunny in Paris. The other tool failed.'.length;
const FIRST_TEXT = 'Let me check.'.length;
const REFUSAL_TEXT = "I'm sorry, but I can't help with that.".length;

/** The weather script: two model calls, two tools (one throws). */
function script(
  convention: SpanConvention,
  turn: Partial<AgentSpanFacts>,
  options: { finishReasons?: boolean; toolName?: (name: string) => string } = {},
): Expectation {
  const withFinish = options.finishReasons ?? true;
  const tool = options.toolName ?? ((name: string) => name);
  return {
    convention,
    turn: { outputLength: ANSWER, ...turn },
    modelCalls: [
      {
        inputTokens: 20,
        outputTokens: 15,
        outputLength: FIRST_TEXT,
        ...(withFinish ? { finishReason: FINISH_REASON.toolCalls } : {}),
      },
      {
        inputTokens: 40,
        outputTokens: 12,
        outputLength: ANSWER,
        ...(withFinish ? { finishReason: FINISH_REASON.stop } : {}),
      },
    ],
    tools: [
      { toolName: tool('failing_tool'), isError: true },
      { toolName: tool('get_weather'), isError: false },
    ],
  };
}

/** The refusal script: one model call ending with a content filter. */
function refusal(convention: SpanConvention, turn: Partial<AgentSpanFacts>): Expectation {
  return {
    convention,
    turn: { outputLength: REFUSAL_TEXT, refusal: true, finishReason: FINISH_REASON.contentFilter, ...turn },
    modelCalls: [
      {
        inputTokens: 10,
        outputTokens: 9,
        outputLength: REFUSAL_TEXT,
        finishReason: FINISH_REASON.contentFilter,
        refusal: true,
      },
    ],
    tools: [],
  };
}

const vercelTurn = { agentName: 'weather-agent', model: 'mock-model-1', inputTokens: 60, outputTokens: 27 };
const vercelRefusalTurn = { agentName: 'weather-agent', inputTokens: 10, outputTokens: 9 };
const strandsTurn = { agentName: 'weather_agent', model: 'mock-model-1', inputTokens: 60, outputTokens: 27 };
const strandsRefusalTurn = { agentName: 'weather_agent', inputTokens: 10, outputTokens: 9 };
const stop = { finishReason: FINISH_REASON.stop };
const openLlmetryTool = () => 'DynamicStructuredTool';
const { vercelAi, genAi, openInference, openLlmetry, langfuse } = SPAN_CONVENTION;

const EXPECTED: Record<string, Record<string, Expectation>> = {
  'vercel-ai-sdk-v6.json': {
    generateText: script(vercelAi, { ...vercelTurn, ...stop }),
    streamText: script(vercelAi, { ...vercelTurn, ...stop }),
    toolLoopAgent: script(vercelAi, { ...vercelTurn, ...stop }),
    refusal: refusal(vercelAi, vercelRefusalTurn),
  },
  'vercel-ai-sdk-v7-legacy.json': {
    generateText: script(vercelAi, { ...vercelTurn, ...stop }),
    streamText: script(vercelAi, { ...vercelTurn, ...stop }),
    toolLoopAgent: script(vercelAi, { ...vercelTurn, ...stop }),
    refusal: refusal(vercelAi, vercelRefusalTurn),
  },
  'vercel-ai-sdk-v7-otel.json': {
    generateText: script(genAi, { ...vercelTurn, ...stop }),
    streamText: script(genAi, { ...vercelTurn, ...stop }),
    toolLoopAgent: script(genAi, { ...vercelTurn, ...stop }),
    refusal: refusal(genAi, vercelRefusalTurn),
  },
  'strands-agents.json': {
    default: script(genAi, { ...strandsTurn, ...stop }),
    defaultRefusal: refusal(genAi, strandsRefusalTurn),
    latestExperimental: script(genAi, { ...strandsTurn, ...stop }),
    latestExperimentalRefusal: refusal(genAi, strandsRefusalTurn),
    latestSpanAttributesOnly: script(genAi, { ...strandsTurn, ...stop }),
  },
  'langchain-openinference.json': {
    createAgent: script(openInference, { agentName: 'weather_agent', ...stop }),
    createReactAgent: script(openInference, { agentName: 'weather_agent', ...stop }),
    deepagents: script(openInference, { agentName: 'weather_agent', ...stop }),
    refusal: refusal(openInference, { agentName: 'LangGraph' }),
  },
  'langchain-openllmetry.json': {
    createAgent: script(openLlmetry, stop, { toolName: openLlmetryTool }),
    createAgentWithOuterSpan: script(openLlmetry, stop, { toolName: openLlmetryTool }),
    createReactAgent: script(openLlmetry, stop, { toolName: openLlmetryTool }),
    deepagents: script(openLlmetry, stop, { toolName: openLlmetryTool }),
    refusal: refusal(openLlmetry, {}),
  },
  'langfuse.json': {
    manualObservations: script(langfuse, { agentName: 'weather_agent' }),
    // The LangChain handler records no finish reason anywhere.
    langchainCallbackHandler: script(langfuse, { agentName: 'weather_agent' }, { finishReasons: false }),
  },
};

function factsOf(file: string, run: string): Array<{ span: ReadableSpan; facts: AgentSpanFacts | undefined }> {
  return loadFixtureSpans(file, { run }).map((span) => ({ span, facts: normalizeSpan(span) }));
}

function ofKind(facts: Array<AgentSpanFacts | undefined>, kind: string): AgentSpanFacts[] {
  return facts.filter((fact): fact is AgentSpanFacts => fact?.kind === kind);
}

describe('normalizeSpan on captured framework spans', () => {
  it('has an expectation for every run of every OpenTelemetry fixture', () => {
    const files = readdirSync(FIXTURE_SPANS_DIR).filter((file) => file.endsWith('.json') && !file.includes('native'));
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const file of files)
      expect(fixtureRunNames(file).sort(), file).toEqual(Object.keys(EXPECTED[file] ?? {}).sort());
  });

  for (const [file, runs] of Object.entries(EXPECTED)) {
    for (const [run, expected] of Object.entries(runs)) {
      it(`${file} ${run}: one turn, ${expected.modelCalls.length} model calls, ${expected.tools.length} tool calls`, () => {
        const all = factsOf(file, run);
        const facts = all.map((entry) => entry.facts);
        const turns = ofKind(facts, AGENT_SPAN_KIND.turn);
        const modelCalls = ofKind(facts, AGENT_SPAN_KIND.modelCall);
        const tools = ofKind(facts, AGENT_SPAN_KIND.toolCall);

        expect(turns).toHaveLength(1);
        expect(turns[0]).toMatchObject({ ...expected.turn, convention: expected.convention, isError: false });
        if (expected.turn.refusal !== true) expect(turns[0]?.refusal).toBeUndefined();

        expect(
          modelCalls.map(({ inputTokens, outputTokens, finishReason, outputLength, refusal }) => ({
            inputTokens,
            outputTokens,
            outputLength,
            ...(finishReason === undefined ? {} : { finishReason }),
            ...(refusal === undefined ? {} : { refusal }),
          })),
        ).toEqual(expected.modelCalls);
        for (const call of modelCalls) {
          expect(call.convention).toBe(expected.convention);
          expect(call.model).toMatch(/^mock-model-1/);
          expect(call.isError).toBe(false);
        }

        const byName = tools
          .map(({ toolName, isError }) => ({ toolName: toolName ?? '', isError }))
          .sort((a, b) => Number(b.isError) - Number(a.isError) || a.toolName.localeCompare(b.toolName));
        expect(byName).toEqual(expected.tools);

        // Ids and times are the span's own.
        for (const { span, facts: fact } of all) {
          if (fact === undefined) continue;
          expect(fact.traceId).toBe(span.spanContext().traceId);
          expect(fact.spanId).toBe(span.spanContext().spanId);
          expect(fact.durationMillis).toBe(span.duration[0] * 1e3 + span.duration[1] / 1e6);
          expect(fact.durationMillis).toBeGreaterThan(0);
          expect(fact.startTimeMillis).toBe(span.startTime[0] * 1e3 + span.startTime[1] / 1e6);
        }
      });
    }
  }

  it('leaves framework plumbing unrecognised (graph nodes, agent steps, loop cycles, app spans)', () => {
    const names = (file: string, run: string) =>
      factsOf(file, run)
        .filter((entry) => entry.facts === undefined)
        .map((entry) => entry.span.name);
    expect(new Set(names('vercel-ai-sdk-v7-otel.json', 'generateText'))).toEqual(new Set(['step 1', 'step 2']));
    expect(new Set(names('strands-agents.json', 'default'))).toEqual(new Set(['execute_agent_loop_cycle']));
    expect(names('langchain-openllmetry.json', 'createAgentWithOuterSpan')).toContain('app.request');
    expect(new Set(names('langchain-openinference.json', 'createAgent'))).toEqual(
      new Set(['__start__', 'model_request', 'RunnableLambda', 'tools']),
    );
    expect(names('vercel-ai-sdk-v6.json', 'generateText')).toEqual([]);
  });

  it('reports the error type where the span carries one', () => {
    const failing = (file: string, run: string) =>
      ofKind(
        factsOf(file, run).map((entry) => entry.facts),
        AGENT_SPAN_KIND.toolCall,
      ).find((fact) => fact.isError);
    expect(failing('vercel-ai-sdk-v6.json', 'generateText')).toMatchObject({
      errorType: 'Error',
      toolCallId: 'call_2',
    });
    expect(failing('strands-agents.json', 'default')).toMatchObject({ errorType: 'Error', toolName: 'failing_tool' });
    // The Langfuse LangChain handler signals the failure only with level ERROR.
    const handlerFailure = failing('langfuse.json', 'langchainCallbackHandler');
    expect(handlerFailure).toMatchObject({ toolName: 'failing_tool', isError: true });
    expect(handlerFailure?.errorType).toBeUndefined();
  });

  it('reads the requested model, not the provider response model, where both exist', () => {
    const model = (file: string, run: string) =>
      ofKind(
        factsOf(file, run).map((entry) => entry.facts),
        AGENT_SPAN_KIND.modelCall,
      )[0]?.model;
    expect(model('vercel-ai-sdk-v6.json', 'generateText')).toBe('mock-model-1');
    expect(model('vercel-ai-sdk-v7-otel.json', 'generateText')).toBe('mock-model-1');
    expect(model('langfuse.json', 'langchainCallbackHandler')).toBe('mock-model-1');
  });
});

describe('the OpenAI Agents native fixture', () => {
  const file = 'openai-agents-native.json';

  it('is not OpenTelemetry: the replay helper refuses it', () => {
    expect(() => loadFixtureSpans(file, { run: 'responses' })).toThrow(/not an OpenTelemetry span/);
  });

  it('is not misread: its raw tracing objects normalise to nothing', () => {
    const fixture = JSON.parse(readFileSync(`${FIXTURE_SPANS_DIR}/${file}`, 'utf8')) as {
      runs: Record<string, { spans: Array<Record<string, unknown>> }>;
    };
    let count = 0;
    for (const run of Object.values(fixture.runs)) {
      for (const raw of run.spans) {
        count++;
        // Handed over as if it were a span (what a careless bridge would do).
        expect(normalizeSpan(raw as unknown as ReadableSpan)).toBeUndefined();
        // Also as an OTel span named after its type with its span_data as attributes.
        const data = raw.span_data as Record<string, unknown>;
        const attributes: Attributes = {};
        for (const [key, value] of Object.entries(data)) {
          attributes[key] = typeof value === 'string' || typeof value === 'number' ? value : JSON.stringify(value);
        }
        expect(normalizeSpan(makeSpan({ name: String(raw.type), scope: 'openai-agents', attributes }))).toBeUndefined();
      }
    }
    expect(count).toBe(24);
  });
});

// --- hand-built spans through the real SDK ----------------------------------------------

interface SpanSpec {
  name: string;
  scope?: string;
  kind?: SpanKind;
  attributes?: Attributes;
  parent?: boolean;
  status?: { code: SpanStatusCode; message?: string };
  events?: Array<{ name: string; attributes?: Attributes }>;
}

function makeSpan(spec: SpanSpec): ReadableSpan {
  const ended: ReadableSpan[] = [];
  const collector: SpanProcessor = {
    onStart() {},
    onEnd(span) {
      ended.push(span);
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const provider = new BasicTracerProvider({ spanProcessors: [collector] });
  const tracer = provider.getTracer(spec.scope ?? 'test');
  const parent = spec.parent ? tracer.startSpan('app.request') : undefined;
  const context = parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, parent);
  const span = tracer.startSpan(
    spec.name,
    { kind: spec.kind ?? SpanKind.INTERNAL, attributes: spec.attributes ?? {}, startTime: 1_000 },
    context,
  );
  for (const event of spec.events ?? []) span.addEvent(event.name, event.attributes ?? {});
  if (spec.status !== undefined) span.setStatus(spec.status);
  span.end(1_250);
  parent?.end(1_300);
  const result = ended[0];
  if (result === undefined) throw new Error('span did not end');
  return result;
}

const ASSIGNMENT: Attributes = {
  [ATTR_RELEASE_ID]: 'prompt-v2',
  [ATTR_COHORT]: 'canary',
  [ATTR_ROLLOUT_ID]: 'rollout-7',
  [ATTR_FLAG_KEY]: 'agent-release',
  [ATTR_SUBJECT]: '0123456789abcdef',
  [ATTR_PROMPT_HASH]: 'ph-42',
};

describe('normalizeSpan on hand-built spans', () => {
  it('returns undefined for spans of no agent convention, even when tagged with a release', () => {
    const http = makeSpan({
      name: 'GET /weather',
      kind: SpanKind.SERVER,
      scope: '@opentelemetry/instrumentation-http',
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, ...ASSIGNMENT },
    });
    expect(normalizeSpan(http)).toBeUndefined();
    expect(
      normalizeSpan(makeSpan({ name: 'SELECT users', attributes: { 'db.system': 'postgresql' } })),
    ).toBeUndefined();
    // An embedding call or an unknown operation is not a turn, model call or tool call.
    expect(normalizeSpan(makeSpan({ name: 'embed', attributes: { 'gen_ai.operation.name': 'embeddings' } }))).toBe(
      undefined,
    );
    expect(normalizeSpan(makeSpan({ name: 'ai.embed', attributes: { 'ai.operationId': 'ai.embed' } }))).toBeUndefined();
  });

  it('reads the release assignment and the prompt hash from any recognised span', () => {
    const facts = normalizeSpan(
      makeSpan({
        name: 'execute_tool get_weather',
        attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_weather', ...ASSIGNMENT },
      }),
    );
    expect(facts).toMatchObject({
      kind: AGENT_SPAN_KIND.toolCall,
      release: 'prompt-v2',
      cohort: 'canary',
      rolloutId: 'rollout-7',
      flagKey: 'agent-release',
      subject: '0123456789abcdef',
      promptHash: 'ph-42',
    });
  });

  it('drops a cohort outside the closed set', () => {
    const facts = normalizeSpan(
      makeSpan({
        name: 'invoke_agent a',
        attributes: { 'gen_ai.operation.name': 'invoke_agent', [ATTR_COHORT]: 'beta' },
      }),
    );
    expect(facts?.kind).toBe(AGENT_SPAN_KIND.turn);
    expect(facts?.cohort).toBeUndefined();
  });

  it('reads our behaviour signals from a turn, and they override what the framework implied', () => {
    const facts = normalizeSpan(
      makeSpan({
        name: 'ai.generateText',
        attributes: {
          'ai.operationId': 'ai.generateText',
          'ai.response.text': 'Sure, here you go.',
          'ai.response.finishReason': 'stop',
          [ATTR_REFUSAL]: true,
          [ATTR_OUTPUT_LENGTH]: 1234,
          [ATTR_SIMILARITY]: 0.82,
          [ATTR_TOXICITY]: 0.01,
          [ATTR_TOPIC]: 'weather',
          [`${ATTR_EVAL_PREFIX}helpfulness`]: 0.9,
          [`${ATTR_EVAL_PREFIX}faithfulness`]: '0.75',
          [`${ATTR_EVAL_PREFIX}label`]: 'not-a-number',
        },
      }),
    );
    expect(facts).toMatchObject({
      kind: AGENT_SPAN_KIND.turn,
      refusal: true,
      outputLength: 1234,
      similarity: 0.82,
      toxicity: 0.01,
      topic: 'weather',
      scores: { helpfulness: 0.9, faithfulness: 0.75 },
      finishReason: FINISH_REASON.stop,
    });
    expect(Object.keys(facts?.scores ?? {})).toHaveLength(2);

    const notRefused = normalizeSpan(
      makeSpan({
        name: 'chat m',
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.response.finish_reasons': ['content_filter'],
          [ATTR_REFUSAL]: false,
        },
      }),
    );
    expect(notRefused?.refusal).toBe(false);
  });

  it('reads our feedback span', () => {
    const facts = normalizeSpan(
      makeSpan({
        name: FEEDBACK_SPAN_NAME,
        attributes: { [ATTR_FEEDBACK_KIND]: FEEDBACK_KIND.thumbsDown, ...ASSIGNMENT },
      }),
    );
    expect(facts).toMatchObject({ kind: AGENT_SPAN_KIND.feedback, feedbackKind: 'thumbs_down', cohort: 'canary' });
    const unknownKind = normalizeSpan(
      makeSpan({ name: FEEDBACK_SPAN_NAME, attributes: { [ATTR_FEEDBACK_KIND]: 'meh' } }),
    );
    expect(unknownKind?.kind).toBe(AGENT_SPAN_KIND.feedback);
    expect(unknownKind?.feedbackKind).toBeUndefined();
  });

  it('reads Mastra-style GenAI spans: finish reasons as a JSON string, error.type on tools', () => {
    const chat = normalizeSpan(
      makeSpan({
        name: 'chat mock-model-1',
        scope: '@mastra/otel-exporter',
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'mock-model-1',
          'gen_ai.usage.input_tokens': 20,
          'gen_ai.usage.output_tokens': 15,
          'gen_ai.response.finish_reasons': '["content-filter"]',
          'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'No.' }] }]),
        },
      }),
    );
    expect(chat).toMatchObject({ finishReason: FINISH_REASON.contentFilter, refusal: true, outputLength: 3 });
    const tool = normalizeSpan(
      makeSpan({
        name: 'execute_tool failing_tool',
        attributes: { 'gen_ai.operation.name': 'execute_tool', 'error.type': 'unknown', 'error.message': 'boom' },
      }),
    );
    // Status left UNSET: error.type alone marks the failure; the name comes from the span name.
    expect(tool).toMatchObject({ isError: true, errorType: 'unknown', toolName: 'failing_tool' });
  });

  it('recognises each tool-error signal on its own', () => {
    const tool = (extra: Partial<SpanSpec>) =>
      normalizeSpan(
        makeSpan({
          name: 'execute_tool t',
          ...extra,
          attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 't', ...extra.attributes },
        }),
      );
    expect(tool({})?.isError).toBe(false);
    expect(tool({ status: { code: SpanStatusCode.ERROR } })).toMatchObject({ isError: true });
    expect(tool({ status: { code: SpanStatusCode.OK } })?.isError).toBe(false);
    expect(tool({ attributes: { 'error.type': 'TimeoutError' } })).toMatchObject({
      isError: true,
      errorType: 'TimeoutError',
    });
    expect(
      tool({
        events: [{ name: 'exception', attributes: { 'exception.type': 'RangeError', 'exception.message': 'x' } }],
      }),
    ).toMatchObject({ isError: true, errorType: 'RangeError' });
    expect(tool({ attributes: { 'gen_ai.tool.status': 'error' } })?.isError).toBe(true);
    expect(tool({ attributes: { 'gen_ai.tool.status': 'success' } })?.isError).toBe(false);
    expect(tool({ attributes: { 'langfuse.observation.level': 'ERROR' } })?.isError).toBe(true);
    expect(tool({ attributes: { 'gen_ai.tool.call.result': 'Error: upstream 503' } })?.isError).toBe(true);
  });

  it('counts a tool whose output is an error text as failed', () => {
    const tool = (output: string) =>
      normalizeSpan(
        makeSpan({
          name: 'failing_tool',
          attributes: { 'openinference.span.kind': 'TOOL', 'tool.name': 'failing_tool', 'output.value': output },
        }),
      );
    expect(tool('An error occurred while running the tool. Please try again.')?.isError).toBe(true);
    expect(tool('Error: tool exploded')?.isError).toBe(true);
    expect(tool('{"error":"tool exploded"}')?.isError).toBe(true);
    expect(tool('{"lc":1,"kwargs":{"status":"error","content":"Error: x"}}')?.isError).toBe(true);
    expect(tool('{"city":"Paris","forecast":"sunny"}')?.isError).toBe(false);
  });

  it('takes only the top OpenInference AGENT as the turn (OpenAI Agents nests one per agent)', () => {
    const root = makeSpan({ name: 'Agent workflow', attributes: { 'openinference.span.kind': 'AGENT' } });
    const nested = makeSpan({
      name: 'weather_agent',
      parent: true,
      attributes: { 'openinference.span.kind': 'AGENT', 'graph.node.id': 'weather_agent' },
    });
    expect(normalizeSpan(root)?.kind).toBe(AGENT_SPAN_KIND.turn);
    expect(normalizeSpan(nested)).toBeUndefined();
  });

  it('keeps a LangGraph run under an app span a turn, but not a node of the graph', () => {
    const graphRun = makeSpan({
      name: 'weather_agent',
      parent: true,
      attributes: { 'openinference.span.kind': 'CHAIN', metadata: '{"ls_integration":"langgraph"}' },
    });
    const node = makeSpan({
      name: 'agent',
      parent: true,
      attributes: {
        'openinference.span.kind': 'CHAIN',
        metadata: '{"ls_integration":"langgraph","langgraph_node":"agent","langgraph_step":1}',
      },
    });
    expect(normalizeSpan(graphRun)).toMatchObject({ kind: AGENT_SPAN_KIND.turn, agentName: 'weather_agent' });
    expect(normalizeSpan(node)).toBeUndefined();
  });

  it('reads an OpenAI Agents refusal (ModelRefusalError) as a refusal, not a failure', () => {
    const facts = normalizeSpan(
      makeSpan({
        name: 'Agent workflow',
        attributes: { 'openinference.span.kind': 'CHAIN' },
        status: {
          code: SpanStatusCode.ERROR,
          message: "Error in agent run: ModelRefusalError: Model refused to produce output: I'm sorry",
        },
      }),
    );
    expect(facts).toMatchObject({ kind: AGENT_SPAN_KIND.turn, refusal: true, isError: false });
  });

  it('finds an OpenAI refusal part where the LLM span shows it', () => {
    const chatCompletion = makeSpan({
      name: 'generation',
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'gpt-mock',
        'llm.finish_reason': 'stop',
        'output.value': JSON.stringify({
          choices: [{ message: { role: 'assistant', content: null, refusal: "I can't help." }, finish_reason: 'stop' }],
        }),
      },
    });
    expect(normalizeSpan(chatCompletion)).toMatchObject({
      refusal: true,
      finishReason: FINISH_REASON.stop,
      outputLength: 13,
    });
    const responses = makeSpan({
      name: 'response',
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.output_messages.0.message.role': 'assistant',
        'llm.output_messages.0.message.contents.0.message_content.type': 'refusal',
        'llm.output_messages.0.message.contents.0.message_content.text': "I can't help.",
      },
    });
    expect(normalizeSpan(responses)).toMatchObject({ refusal: true, outputLength: 13 });
  });

  it('does not parse payloads above the size cap, but still measures plain text', () => {
    const big = 'x'.repeat(MAX_PARSED_PAYLOAD_CHARS + 1);
    const json = normalizeSpan(
      makeSpan({
        name: 'chat m',
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: big }] }]),
        },
      }),
    );
    expect(json?.kind).toBe(AGENT_SPAN_KIND.modelCall);
    expect(json?.outputLength).toBeUndefined();
    const text = normalizeSpan(
      makeSpan({
        name: 'ai.generateText',
        attributes: { 'ai.operationId': 'ai.generateText', 'ai.response.text': big },
      }),
    );
    expect(text?.outputLength).toBe(big.length);
  });

  it('never throws, whatever it is given', () => {
    const hostile = [
      null,
      undefined,
      42,
      'span',
      {},
      { name: 'chat', attributes: null },
      { name: 'chat', attributes: { 'gen_ai.operation.name': 'chat' } },
      {
        name: 'chat',
        attributes: { 'gen_ai.operation.name': 'chat' },
        spanContext: () => {
          throw new Error('broken span');
        },
      },
      {
        name: 'chat',
        get attributes(): Attributes {
          throw new Error('broken attributes');
        },
      },
      {
        name: 'x',
        attributes: { 'openinference.span.kind': 'LLM', 'output.value': '{"choices": [' },
        spanContext: () => ({ traceId: 't', spanId: 's', traceFlags: 1 }),
        events: 'not-an-array',
      },
    ];
    for (const value of hostile) {
      expect(() => normalizeSpan(value as unknown as ReadableSpan)).not.toThrow();
    }
    // A span-like object with a broken payload still yields what it can.
    const partial = normalizeSpan(hostile[hostile.length - 1] as unknown as ReadableSpan);
    expect(partial).toMatchObject({ kind: AGENT_SPAN_KIND.modelCall, durationMillis: 0 });
    expect(partial?.outputLength).toBeUndefined();
  });
});
