import {
  ATTR_ERROR_TYPE,
  ATTR_EVAL_PREFIX,
  ATTR_GEN_AI_AGENT_ID,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_EVALUATION_NAME,
  ATTR_GEN_AI_EVALUATION_SCORE_VALUE,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_TOOL_TYPE,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_OUTPUT_LENGTH,
  ATTR_REFUSAL,
  ATTR_SIMILARITY,
  ATTR_TOPIC,
  ATTR_TOXICITY,
  EVENT_GEN_AI_EVALUATION_RESULT,
  GEN_AI_OPERATION,
} from '@agent-canary/conventions';
import { type Attributes, diag, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { CONTENT_KIND, type ContentCaptureOptions, captureText, stringifyForCapture } from './content.js';
import { resolveTracer, type TracerOptions } from './tracer.js';

/** Where span helpers read their start and end times; for simulations and replays. */
export interface SpanClockOptions {
  /**
   * Epoch-milliseconds clock read when the span starts and when it ends, for simulations
   * and replays that run in virtual time (a simulated model advances it by its latency).
   * The value must be a real epoch time (ms since 1970), not a relative one.
   * @default the SDK's clock (wall time)
   */
  readonly clock?: () => number;
}

/** Options of `traceAgentTurn`. */
export interface AgentTurnOptions extends TracerOptions, SpanClockOptions, ContentCaptureOptions {
  /** Name of the agent; the span is named `invoke_agent {agentName}`. */
  readonly agentName: string;
  /** Stable id of the agent (`gen_ai.agent.id`). @default not set */
  readonly agentId?: string;
  /** Conversation / session id (`gen_ai.conversation.id`). @default not set */
  readonly conversationId?: string;
  /** The user's input; recorded only when content capture is on. @default not set */
  readonly prompt?: string;
}

/** Handle on the span of one agent turn, passed to the function run by `traceAgentTurn`. */
export interface Turn {
  /** The turn's span (for ids, links or extra attributes). */
  readonly span: Span;
  /** Records the final answer: its length always, its text only when capture is on. */
  recordOutput(text: string): void;
  /** Marks the turn as a refusal (or not). @default refused = true */
  recordRefusal(refused?: boolean): void;
  /** Records an evaluator score as `agent_canary.eval.<name>` (and a `gen_ai.evaluation.result` event). */
  recordScore(name: string, value: number): void;
  /** Similarity of the answer to the control release's answer, 0..1. */
  recordSimilarity(value: number): void;
  /** Toxicity of the answer, 0..1. */
  recordToxicity(value: number): void;
  /** Topic label from the app's classifier. */
  recordTopic(topic: string): void;
}

/** Options of `traceModelCall`. */
export interface ModelCallOptions extends TracerOptions, SpanClockOptions, ContentCaptureOptions {
  /** Requested model; the span is named `chat {model}`. */
  readonly model: string;
  /** Provider (`gen_ai.provider.name`, e.g. `openai`). @default not set */
  readonly provider?: string;
  /** Sampling temperature. @default not set */
  readonly temperature?: number;
  /** Prompt text; recorded only when content capture is on. @default not set */
  readonly prompt?: string;
}

/** What a model returned, recorded with `ModelCall.recordResponse`. Every field is optional. */
export interface ModelResponse {
  readonly model?: string;
  readonly id?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** Finish reasons as the provider reports them (`stop`, `length`, `tool_calls`, ...). */
  readonly finishReasons?: readonly string[];
  /** Output text; only its capture is gated (length is not recorded on model calls). */
  readonly outputText?: string;
}

/** Handle on the span of one model call. */
export interface ModelCall {
  readonly span: Span;
  recordResponse(response: ModelResponse): void;
}

/** Options of `traceToolCall`. */
export interface ToolCallOptions extends TracerOptions, SpanClockOptions, ContentCaptureOptions {
  /** Name of the tool; the span is named `execute_tool {toolName}`. */
  readonly toolName: string;
  /** Id of the tool call given by the model. @default not set */
  readonly callId?: string;
  /** `gen_ai.tool.type`: `function`, `extension` or `datastore`. @default 'function' */
  readonly toolType?: string;
  /** Tool arguments; recorded (as JSON) only when content capture is on. @default not set */
  readonly arguments?: unknown;
}

/**
 * Runs one agent turn in an `invoke_agent {agentName}` span (kind INTERNAL). If `fn`
 * throws, the span records `error.type`, status ERROR and the exception, and the error is
 * rethrown.
 *
 * @example
 * const answer = await traceAgentTurn({ agentName: 'support' }, async (turn) => {
 *   const text = await answer(question);
 *   turn.recordOutput(text);
 *   return text;
 * });
 */
export function traceAgentTurn<T>(options: AgentTurnOptions, fn: (turn: Turn) => T | Promise<T>): Promise<T> {
  const attributes: Attributes = {
    [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION.invokeAgent,
    [ATTR_GEN_AI_AGENT_NAME]: options.agentName,
  };
  if (options.agentId !== undefined) attributes[ATTR_GEN_AI_AGENT_ID] = options.agentId;
  if (options.conversationId !== undefined) attributes[ATTR_GEN_AI_CONVERSATION_ID] = options.conversationId;
  const prompt = options.prompt === undefined ? undefined : captureText(options, options.prompt, CONTENT_KIND.prompt);
  if (prompt !== undefined) attributes[ATTR_GEN_AI_INPUT_MESSAGES] = messagesJson('user', prompt);
  return runInSpan(
    options,
    `${GEN_AI_OPERATION.invokeAgent} ${options.agentName}`,
    SpanKind.INTERNAL,
    attributes,
    (span) => fn(createTurn(span, options)),
  );
}

/**
 * Runs one model call in a `chat {model}` span (kind CLIENT); `fn` records usage, response
 * model and finish reasons through the `ModelCall` handle.
 *
 * @example
 * const reply = await traceModelCall({ model: 'gpt-4o', provider: 'openai' }, async (call) => {
 *   const r = await openai.chat.completions.create(request);
 *   call.recordResponse({ model: r.model, inputTokens: r.usage?.prompt_tokens, outputTokens: r.usage?.completion_tokens,
 *     finishReasons: r.choices.map((c) => c.finish_reason) });
 *   return r;
 * });
 */
export function traceModelCall<T>(options: ModelCallOptions, fn: (call: ModelCall) => T | Promise<T>): Promise<T> {
  const attributes: Attributes = {
    [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION.chat,
    [ATTR_GEN_AI_REQUEST_MODEL]: options.model,
  };
  if (options.provider !== undefined) attributes[ATTR_GEN_AI_PROVIDER_NAME] = options.provider;
  if (options.temperature !== undefined) attributes[ATTR_GEN_AI_REQUEST_TEMPERATURE] = options.temperature;
  const prompt = options.prompt === undefined ? undefined : captureText(options, options.prompt, CONTENT_KIND.prompt);
  if (prompt !== undefined) attributes[ATTR_GEN_AI_INPUT_MESSAGES] = messagesJson('user', prompt);
  return runInSpan(options, `${GEN_AI_OPERATION.chat} ${options.model}`, SpanKind.CLIENT, attributes, (span) =>
    fn({
      span,
      recordResponse: (response) => guard('recordResponse', () => recordModelResponse(span, options, response)),
    }),
  );
}

/**
 * Runs one tool call in an `execute_tool {toolName}` span (kind INTERNAL). On throw: the
 * span gets `error.type` (the error's class name), status ERROR and the exception, and the
 * error is rethrown to the caller.
 *
 * @example
 * const weather = await traceToolCall({ toolName: 'get_weather', callId }, () => getWeather(city));
 */
export function traceToolCall<T>(options: ToolCallOptions, fn: (span: Span) => T | Promise<T>): Promise<T> {
  const attributes: Attributes = {
    [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION.executeTool,
    [ATTR_GEN_AI_TOOL_NAME]: options.toolName,
    [ATTR_GEN_AI_TOOL_TYPE]: options.toolType ?? 'function',
  };
  if (options.callId !== undefined) attributes[ATTR_GEN_AI_TOOL_CALL_ID] = options.callId;
  if (options.arguments !== undefined) {
    const json = stringifyForCapture(options.arguments);
    const text = json === undefined ? undefined : captureText(options, json, CONTENT_KIND.toolArguments);
    if (text !== undefined) attributes[ATTR_GEN_AI_TOOL_CALL_ARGUMENTS] = text;
  }
  return runInSpan(
    options,
    `${GEN_AI_OPERATION.executeTool} ${options.toolName}`,
    SpanKind.INTERNAL,
    attributes,
    async (span) => {
      const result = await fn(span);
      if (result !== undefined) {
        const json = stringifyForCapture(result);
        const text = json === undefined ? undefined : captureText(options, json, CONTENT_KIND.toolResult);
        if (text !== undefined) span.setAttribute(ATTR_GEN_AI_TOOL_CALL_RESULT, text);
      }
      return result;
    },
  );
}

/** Records a failure on `span` the way the GenAI conventions expect. */
export function recordSpanError(span: Span, error: unknown): void {
  const errorType =
    error instanceof Error
      ? error.constructor.name || error.name || 'Error'
      : typeof error === 'string'
        ? 'Error'
        : '_OTHER';
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : undefined;
  span.setStatus(message === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message });
  if (error instanceof Error || typeof error === 'string') span.recordException(error);
}

function runInSpan<T>(
  options: TracerOptions & SpanClockOptions,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: (span: Span) => T | Promise<T>,
): Promise<T> {
  const clock = options.clock;
  const startTime = clock === undefined ? undefined : readClock(clock);
  const spanOptions = startTime === undefined ? { kind, attributes } : { kind, attributes, startTime };
  return resolveTracer(options).startActiveSpan(name, spanOptions, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      guard('recordSpanError', () => recordSpanError(span, error));
      throw error;
    } finally {
      span.end(clock === undefined ? undefined : readClock(clock));
    }
  });
}

/** Reads an injected clock; a throwing or non-finite one falls back to the SDK's time (undefined). */
export function readClock(clock: () => number): number | undefined {
  try {
    const value = clock();
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    diag.warn(`agent-canary: span clock returned ${String(value)}; using the SDK's clock`);
  } catch (error) {
    diag.warn("agent-canary: span clock threw; using the SDK's clock", error);
  }
  return undefined;
}

function createTurn(span: Span, options: ContentCaptureOptions): Turn {
  return {
    span,
    recordOutput: (text) =>
      guard('recordOutput', () => {
        span.setAttribute(ATTR_OUTPUT_LENGTH, text.length);
        const captured = captureText(options, text, CONTENT_KIND.output);
        if (captured !== undefined) span.setAttribute(ATTR_GEN_AI_OUTPUT_MESSAGES, messagesJson('assistant', captured));
      }),
    recordRefusal: (refused = true) => guard('recordRefusal', () => span.setAttribute(ATTR_REFUSAL, refused)),
    recordScore: (name, value) => guard('recordScore', () => recordScore(span, name, value)),
    recordSimilarity: (value) => guard('recordSimilarity', () => recordUnitScore(span, ATTR_SIMILARITY, value)),
    recordToxicity: (value) => guard('recordToxicity', () => recordUnitScore(span, ATTR_TOXICITY, value)),
    recordTopic: (topic) => guard('recordTopic', () => span.setAttribute(ATTR_TOPIC, topic)),
  };
}

/** Puts a score on a turn span; invalid names or values are reported, not thrown. */
export function recordScore(span: Span, name: string, value: number): boolean {
  if (typeof name !== 'string' || name === '') {
    diag.warn('agent-canary: score name must be a non-empty string');
    return false;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    diag.warn(`agent-canary: score ${name} is not a finite number: ${String(value)}`);
    return false;
  }
  span.setAttribute(`${ATTR_EVAL_PREFIX}${name}`, value);
  span.addEvent(EVENT_GEN_AI_EVALUATION_RESULT, {
    [ATTR_GEN_AI_EVALUATION_NAME]: name,
    [ATTR_GEN_AI_EVALUATION_SCORE_VALUE]: value,
  });
  return true;
}

/** Puts a 0..1 signal on a span, clamping out-of-range values (with a warning). */
export function recordUnitScore(span: Span, key: string, value: number): boolean {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    diag.warn(`agent-canary: ${key} is not a finite number: ${String(value)}`);
    return false;
  }
  if (value < 0 || value > 1) diag.warn(`agent-canary: ${key} ${value} is outside 0..1; clamped`);
  span.setAttribute(key, Math.min(1, Math.max(0, value)));
  return true;
}

function recordModelResponse(span: Span, options: ContentCaptureOptions, response: ModelResponse): void {
  const attributes: Attributes = {};
  if (response.model !== undefined) attributes[ATTR_GEN_AI_RESPONSE_MODEL] = response.model;
  if (response.id !== undefined) attributes[ATTR_GEN_AI_RESPONSE_ID] = response.id;
  if (isCount(response.inputTokens)) attributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS] = response.inputTokens;
  if (isCount(response.outputTokens)) attributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] = response.outputTokens;
  if (response.finishReasons !== undefined)
    attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [...response.finishReasons];
  if (response.outputText !== undefined) {
    const captured = captureText(options, response.outputText, CONTENT_KIND.output);
    if (captured !== undefined) attributes[ATTR_GEN_AI_OUTPUT_MESSAGES] = messagesJson('assistant', captured);
  }
  span.setAttributes(attributes);
}

function isCount(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** GenAI semconv message list with one text part. */
function messagesJson(role: 'user' | 'assistant', text: string): string {
  return JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }]);
}

/** Telemetry calls made from the agent's code never throw into it. */
function guard(what: string, fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    diag.error(`agent-canary: ${what} failed`, error);
  }
}
