/**
 * The per-convention readers: what each convention (Vercel AI SDK `ai.*`, OpenTelemetry
 * GenAI, OpenInference, Langfuse) says about a span's agent, model, tool, tokens and answer.
 */
import {
  AGENT_SPAN_KIND,
  type AgentSpanFacts,
  type AgentSpanKind,
  ATTR_FEEDBACK_KIND,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  FEEDBACK_KIND,
  type FeedbackKind,
  SPAN_CONVENTION,
} from '@agent-canary/conventions';
import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Role } from './classify.js';
import { type OutputFacts, outputFactsOfValue, parseJsonPayload } from './output-text.js';
import {
  AI_MODEL_ID,
  AI_RESPONSE_FINISH_REASON,
  AI_RESPONSE_MODEL,
  AI_RESPONSE_OBJECT,
  AI_RESPONSE_TEXT,
  AI_TELEMETRY_FUNCTION_ID,
  AI_TOOL_CALL_ID,
  AI_TOOL_CALL_NAME,
  AI_TOOL_CALL_RESULT,
  AI_USAGE_COMPLETION_TOKENS,
  AI_USAGE_INPUT_TOKENS,
  AI_USAGE_OUTPUT_TOKENS,
  AI_USAGE_PROMPT_TOKENS,
  EVENT_GEN_AI_CHOICE,
  EVENT_GEN_AI_INFERENCE_DETAILS,
  GEN_AI_USAGE_COMPLETION_TOKENS,
  GEN_AI_USAGE_PROMPT_TOKENS,
  LANGFUSE_METADATA_PREFIX,
  LANGFUSE_OBSERVATION_MODEL_NAME,
  LANGFUSE_OBSERVATION_OUTPUT,
  LANGFUSE_OBSERVATION_USAGE_DETAILS,
  LC_AGENT_NAME,
  LC_FINISH_REASON,
  LC_MODEL_NAME,
  OI_AGENT_NAME,
  OI_LLM_FINISH_REASON,
  OI_LLM_MODEL_NAME,
  OI_LLM_OUTPUT_MESSAGES,
  OI_LLM_TOKEN_COUNT_COMPLETION,
  OI_LLM_TOKEN_COUNT_PROMPT,
  OI_METADATA,
  OI_OUTPUT_MIME_TYPE,
  OI_OUTPUT_VALUE,
  OI_TOOL_CALL_ID,
  OI_TOOL_NAME,
  TRACELOOP_ENTITY_NAME,
  TRACELOOP_ENTITY_OUTPUT,
} from './semconv.js';
import {
  firstNumber,
  type Mutable,
  nameSuffix,
  numberAttribute,
  setString,
  setTokens,
  stringAttribute,
} from './span-reading.js';

/** The feedback kinds our feedback span may carry. */
const FEEDBACK_KINDS: ReadonlySet<string> = new Set(Object.values(FEEDBACK_KIND));

/** What a reader found that the common signals need: the answer, the raw finish reason, a tool's output. */
export interface Read {
  output?: OutputFacts | undefined;
  rawFinishReason?: unknown;
  toolOutput?: unknown;
}

/** Reads a Vercel AI SDK `ai.*` span. */
export function readVercel(kind: AgentSpanKind, attributes: Attributes, facts: Mutable<AgentSpanFacts>): Read {
  const functionId = stringAttribute(attributes, AI_TELEMETRY_FUNCTION_ID);
  if (functionId !== undefined) facts.agentName = functionId;
  if (kind === AGENT_SPAN_KIND.toolCall) {
    setString(facts, 'toolName', attributes[AI_TOOL_CALL_NAME]);
    setString(facts, 'toolCallId', attributes[AI_TOOL_CALL_ID]);
    return { toolOutput: attributes[AI_TOOL_CALL_RESULT] };
  }
  setString(
    facts,
    'model',
    attributes[ATTR_GEN_AI_REQUEST_MODEL] ??
      attributes[AI_MODEL_ID] ??
      attributes[ATTR_GEN_AI_RESPONSE_MODEL] ??
      attributes[AI_RESPONSE_MODEL],
  );
  setTokens(
    facts,
    firstNumber(attributes, AI_USAGE_INPUT_TOKENS, AI_USAGE_PROMPT_TOKENS, ATTR_GEN_AI_USAGE_INPUT_TOKENS),
    firstNumber(attributes, AI_USAGE_OUTPUT_TOKENS, AI_USAGE_COMPLETION_TOKENS, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS),
  );
  const text = attributes[AI_RESPONSE_TEXT] ?? attributes[AI_RESPONSE_OBJECT];
  return {
    output: outputFactsOfValue(text, true),
    rawFinishReason: attributes[AI_RESPONSE_FINISH_REASON] ?? attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS],
  };
}

/** Reads an OpenTelemetry GenAI span (also OpenLLMetry's). */
export function readGenAi(
  role: Role,
  span: ReadableSpan,
  name: string,
  attributes: Attributes,
  facts: Mutable<AgentSpanFacts>,
): Read {
  setString(facts, 'agentName', attributes[ATTR_GEN_AI_AGENT_NAME]);
  if (role.kind === AGENT_SPAN_KIND.feedback) {
    const feedbackKind = attributes[ATTR_FEEDBACK_KIND];
    if (typeof feedbackKind === 'string' && FEEDBACK_KINDS.has(feedbackKind)) {
      facts.feedbackKind = feedbackKind as FeedbackKind;
    }
    return {};
  }
  if (role.kind === AGENT_SPAN_KIND.toolCall) {
    // OpenLLMetry loses the tool name: its entity name is the tool's class.
    const toolName =
      stringAttribute(attributes, ATTR_GEN_AI_TOOL_NAME) ??
      stringAttribute(attributes, TRACELOOP_ENTITY_NAME) ??
      nameSuffix(name, 'execute_tool ');
    if (toolName !== undefined) facts.toolName = toolName;
    setString(facts, 'toolCallId', attributes[ATTR_GEN_AI_TOOL_CALL_ID]);
    return { toolOutput: attributes[ATTR_GEN_AI_TOOL_CALL_RESULT] };
  }
  setString(facts, 'model', attributes[ATTR_GEN_AI_REQUEST_MODEL] ?? attributes[ATTR_GEN_AI_RESPONSE_MODEL]);
  setTokens(
    facts,
    firstNumber(attributes, ATTR_GEN_AI_USAGE_INPUT_TOKENS, GEN_AI_USAGE_PROMPT_TOKENS),
    firstNumber(attributes, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, GEN_AI_USAGE_COMPLETION_TOKENS),
  );
  let rawFinishReason: unknown = attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS];
  let output = outputFactsOfValue(attributes[ATTR_GEN_AI_OUTPUT_MESSAGES]);
  if (output === undefined && role.convention === SPAN_CONVENTION.openLlmetry) {
    output = outputFactsOfValue(attributes[TRACELOOP_ENTITY_OUTPUT]);
  }
  if (output === undefined || rawFinishReason === undefined) {
    // Strands puts the answer and its finish reason in events, not attributes.
    const fromEvents = readAnswerEvents(span);
    output ??= fromEvents.output;
    rawFinishReason ??= fromEvents.rawFinishReason;
  }
  return { output, rawFinishReason };
}

function readAnswerEvents(span: ReadableSpan): Read {
  const events = span.events;
  if (!Array.isArray(events)) return {};
  // The answer is the last such event: Strands writes its choice after the inputs.
  for (let index = events.length - 1; index >= 0; index--) {
    const event = events[index];
    const attributes = event?.attributes;
    if (attributes === undefined) continue;
    if (event?.name === EVENT_GEN_AI_INFERENCE_DETAILS) {
      const output = outputFactsOfValue(attributes[ATTR_GEN_AI_OUTPUT_MESSAGES]);
      if (output !== undefined) return { output };
    } else if (event?.name === EVENT_GEN_AI_CHOICE) {
      return { output: outputFactsOfValue(attributes.message), rawFinishReason: attributes.finish_reason };
    }
  }
  return {};
}

/** Reads an OpenInference span. */
export function readOpenInference(
  kind: AgentSpanKind,
  name: string,
  attributes: Attributes,
  facts: Mutable<AgentSpanFacts>,
): Read {
  const outputValue = attributes[OI_OUTPUT_VALUE];
  const plainText = attributes[OI_OUTPUT_MIME_TYPE] === 'text/plain';
  if (kind === AGENT_SPAN_KIND.toolCall) {
    facts.toolName = stringAttribute(attributes, OI_TOOL_NAME) ?? name;
    setString(facts, 'toolCallId', attributes[OI_TOOL_CALL_ID]);
    return { toolOutput: outputValue };
  }
  if (kind === AGENT_SPAN_KIND.turn) {
    facts.agentName = stringAttribute(attributes, OI_AGENT_NAME) ?? metadataAgentName(attributes) ?? name;
    return { output: outputFactsOfValue(outputValue, plainText) };
  }
  setString(facts, 'model', attributes[OI_LLM_MODEL_NAME]);
  setTokens(
    facts,
    numberAttribute(attributes, OI_LLM_TOKEN_COUNT_PROMPT),
    numberAttribute(attributes, OI_LLM_TOKEN_COUNT_COMPLETION),
  );
  let output = flattenedOutputMessages(attributes) ?? outputFactsOfValue(outputValue, plainText);
  // Chat Completions refusals (`content: null, refusal: "..."`) survive only in output.value.
  if (typeof outputValue === 'string' && /"refusal"\s*:\s*"[^"]|"type"\s*:\s*"refusal"/.test(outputValue)) {
    output = { ...output, refusal: true };
  }
  return { output, rawFinishReason: attributes[OI_LLM_FINISH_REASON] };
}

/** Text of `llm.output_messages.<i>.message.content` or `...contents.<j>.message_content.*`. */
function flattenedOutputMessages(attributes: Attributes): OutputFacts | undefined {
  let length = 0;
  let seen = false;
  let refusal = false;
  for (let message = 0; ; message++) {
    const prefix = `${OI_LLM_OUTPUT_MESSAGES}${message}.message.`;
    const content = attributes[`${prefix}content`];
    const role = attributes[`${prefix}role`];
    if (typeof content === 'string') {
      length += content.length;
      seen = true;
    }
    let part = 0;
    for (; ; part++) {
      const partPrefix = `${prefix}contents.${part}.message_content.`;
      const type = attributes[`${partPrefix}type`];
      const text = attributes[`${partPrefix}text`];
      if (type === undefined && text === undefined) break;
      if (type === 'refusal') refusal = true;
      if (typeof text === 'string') {
        length += text.length;
        seen = true;
      }
    }
    if (content === undefined && role === undefined && part === 0) break;
  }
  if (!seen && !refusal) return undefined;
  return refusal ? { length, refusal } : { length };
}

function metadataAgentName(attributes: Attributes): string | undefined {
  const metadata = attributes[OI_METADATA];
  if (typeof metadata !== 'string' || !metadata.includes(LC_AGENT_NAME)) return undefined;
  const parsed = parseJsonPayload(metadata);
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const agentName = (parsed as Record<string, unknown>)[LC_AGENT_NAME];
  return typeof agentName === 'string' ? agentName : undefined;
}

/** Reads a Langfuse observation. */
export function readLangfuse(
  kind: AgentSpanKind,
  name: string,
  attributes: Attributes,
  facts: Mutable<AgentSpanFacts>,
): Read {
  const output = attributes[LANGFUSE_OBSERVATION_OUTPUT];
  if (kind === AGENT_SPAN_KIND.toolCall) {
    facts.toolName = name;
    return { toolOutput: output };
  }
  if (kind === AGENT_SPAN_KIND.turn) {
    facts.agentName = stringAttribute(attributes, LANGFUSE_METADATA_PREFIX + LC_AGENT_NAME) ?? name;
    return { output: outputFactsOfValue(output) };
  }
  // LangChain's requested model (ls_model_name) first, as the other conventions report it;
  // the handler's model.name is the provider's response model.
  setString(
    facts,
    'model',
    attributes[LANGFUSE_METADATA_PREFIX + LC_MODEL_NAME] ?? attributes[LANGFUSE_OBSERVATION_MODEL_NAME],
  );
  const usage = attributes[LANGFUSE_OBSERVATION_USAGE_DETAILS];
  if (typeof usage === 'string') {
    const parsed = parseJsonPayload(usage);
    if (typeof parsed === 'object' && parsed !== null) {
      const details = parsed as Attributes;
      setTokens(
        facts,
        firstNumber(details, 'input', 'input_tokens', 'prompt_tokens', 'promptTokens'),
        firstNumber(details, 'output', 'output_tokens', 'completion_tokens', 'completionTokens'),
      );
    }
  }
  return {
    output: outputFactsOfValue(output),
    rawFinishReason: attributes[LANGFUSE_METADATA_PREFIX + LC_FINISH_REASON],
  };
}
