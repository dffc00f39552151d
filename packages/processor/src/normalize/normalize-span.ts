import {
  AGENT_SPAN_KIND,
  type AgentSpanFacts,
  type AgentSpanKind,
  ATTR_COHORT,
  ATTR_ERROR_TYPE,
  ATTR_EVAL_PREFIX,
  ATTR_FEEDBACK_KIND,
  ATTR_FLAG_KEY,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_LANGFUSE_OBSERVATION_TYPE,
  ATTR_OUTPUT_LENGTH,
  ATTR_PROMPT_HASH,
  ATTR_REFUSAL,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  ATTR_SIMILARITY,
  ATTR_SUBJECT,
  ATTR_TOPIC,
  ATTR_TOXICITY,
  type Cohort,
  FEEDBACK_KIND,
  FEEDBACK_SPAN_NAME,
  type FeedbackKind,
  FINISH_REASON,
  GEN_AI_OPERATION,
  isCohort,
  SPAN_CONVENTION,
  type SpanConvention,
} from '@agent-canary/conventions';
import { type Attributes, type AttributeValue, diag, type HrTime, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { normalizeFinishReason } from './finish-reason.js';
import { type OutputFacts, outputFactsOfValue, parseJsonPayload } from './output-text.js';
import {
  AI_MODEL_ID,
  AI_OPERATION,
  AI_OPERATION_ID,
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
  EVENT_EXCEPTION,
  EVENT_GEN_AI_CHOICE,
  EVENT_GEN_AI_INFERENCE_DETAILS,
  EXCEPTION_MESSAGE,
  EXCEPTION_TYPE,
  GEN_AI_TOOL_STATUS,
  GEN_AI_USAGE_COMPLETION_TOKENS,
  GEN_AI_USAGE_PROMPT_TOKENS,
  LANGFUSE_METADATA_PREFIX,
  LANGFUSE_OBSERVATION_LEVEL,
  LANGFUSE_OBSERVATION_MODEL_NAME,
  LANGFUSE_OBSERVATION_OUTPUT,
  LANGFUSE_OBSERVATION_STATUS_MESSAGE,
  LANGFUSE_OBSERVATION_USAGE_DETAILS,
  LANGFUSE_TYPE,
  LANGGRAPH_GRAPH_CLASS,
  LANGGRAPH_NODE,
  LC_AGENT_NAME,
  LC_FINISH_REASON,
  LC_MODEL_NAME,
  OI_AGENT_NAME,
  OI_GRAPH_NODE_ID,
  OI_KIND,
  OI_LLM_FINISH_REASON,
  OI_LLM_MODEL_NAME,
  OI_LLM_OUTPUT_MESSAGES,
  OI_LLM_TOKEN_COUNT_COMPLETION,
  OI_LLM_TOKEN_COUNT_PROMPT,
  OI_METADATA,
  OI_OUTPUT_MIME_TYPE,
  OI_OUTPUT_VALUE,
  OI_SPAN_KIND,
  OI_TOOL_CALL_ID,
  OI_TOOL_NAME,
  OPENLLMETRY_OPERATION_WORKFLOW,
  TRACELOOP_ENTITY_NAME,
  TRACELOOP_ENTITY_OUTPUT,
  TRACELOOP_SCOPE_PREFIX,
  TRACELOOP_SPAN_KIND,
  TRACELOOP_WORKFLOW_NAME,
} from './semconv.js';

/** What a span is, and which convention wrote it. */
interface Role {
  readonly kind: AgentSpanKind;
  readonly convention: SpanConvention;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The OpenAI Agents SDK's error class for a refusal: a refusal, not a failure. */
const MODEL_REFUSAL_ERROR = 'ModelRefusalError';
/** Characters of a tool's output inspected for an error text; enough for any prefix. */
const TOOL_OUTPUT_HEAD_CHARS = 512;
const FEEDBACK_KINDS: ReadonlySet<string> = new Set(Object.values(FEEDBACK_KIND));

/**
 * Reads one finished span of any supported convention into {@link AgentSpanFacts}:
 * an agent turn, a model call, a tool call, or our feedback span. Returns `undefined`
 * for spans it does not recognise (HTTP, database, framework plumbing such as graph
 * nodes or agent steps). Runs in a span processor's `onEnd`: it reads attributes and a
 * few events, parses JSON only to measure the answer (payloads up to
 * `MAX_PARSED_PAYLOAD_CHARS`), and never throws — a failure is reported through `diag`
 * and yields `undefined`.
 *
 * Conventions: OpenTelemetry GenAI (`gen_ai.operation.name`: Vercel AI SDK 7, Strands,
 * Mastra, our own instrumentation), Vercel AI SDK `ai.*` (v6 and v7 legacy),
 * OpenInference (`openinference.span.kind`), OpenLLMetry (scope `@traceloop/*`) and
 * Langfuse observations (`langfuse.observation.type`).
 *
 * @example
 * onEnd(span: ReadableSpan): void {
 *   const facts = normalizeSpan(span);
 *   if (facts?.kind === 'tool_call') profile.recordTool(facts.toolName, facts.isError);
 * }
 */
export function normalizeSpan(span: ReadableSpan): AgentSpanFacts | undefined {
  try {
    return readSpan(span);
  } catch (error) {
    diag.debug('agent-canary: span could not be normalised', error);
    return undefined;
  }
}

function readSpan(span: ReadableSpan): AgentSpanFacts | undefined {
  if (typeof span !== 'object' || span === null) return undefined;
  const attributes: Attributes | undefined = span.attributes;
  if (typeof attributes !== 'object' || attributes === null) return undefined;
  const name = typeof span.name === 'string' ? span.name : '';
  const role = classify(span, name, attributes);
  if (role === undefined) return undefined;

  const context = span.spanContext();
  const facts: Mutable<AgentSpanFacts> = {
    kind: role.kind,
    convention: role.convention,
    traceId: context.traceId,
    spanId: context.spanId,
    startTimeMillis: hrTimeToMillis(span.startTime),
    durationMillis: hrTimeToMillis(span.duration),
    isError: false,
  };
  readAssignment(attributes, facts);

  let output: OutputFacts | undefined;
  let rawFinishReason: unknown;
  let toolOutput: unknown;
  switch (role.convention) {
    case SPAN_CONVENTION.vercelAi:
      ({ output, rawFinishReason, toolOutput } = readVercel(role.kind, attributes, facts));
      break;
    case SPAN_CONVENTION.openInference:
      ({ output, rawFinishReason, toolOutput } = readOpenInference(role.kind, name, attributes, facts));
      break;
    case SPAN_CONVENTION.langfuse:
      ({ output, rawFinishReason, toolOutput } = readLangfuse(role.kind, name, attributes, facts));
      break;
    default:
      ({ output, rawFinishReason, toolOutput } = readGenAi(role, span, name, attributes, facts));
  }

  const error = readError(span, attributes, role.kind === AGENT_SPAN_KIND.toolCall ? toolOutput : undefined);
  if (role.kind === AGENT_SPAN_KIND.turn || role.kind === AGENT_SPAN_KIND.modelCall) {
    const finishReason = normalizeFinishReason(rawFinishReason) ?? normalizeFinishReason(output?.finishReason);
    if (finishReason !== undefined) facts.finishReason = finishReason;
    if (output?.length !== undefined) facts.outputLength = output.length;
    if (finishReason === FINISH_REASON.contentFilter || output?.refusal === true || error.refusal) {
      facts.refusal = true;
    }
  }
  // A refusal raised as an exception (OpenAI Agents) is the model's answer, not a failure.
  if (error.isError && !error.refusal) {
    facts.isError = true;
    if (error.errorType !== undefined) facts.errorType = error.errorType;
  }
  readOwnSignals(role.kind, attributes, facts);
  return facts;
}

// --- classification -------------------------------------------------------------

function classify(span: ReadableSpan, name: string, attributes: Attributes): Role | undefined {
  if (name === FEEDBACK_SPAN_NAME) return { kind: AGENT_SPAN_KIND.feedback, convention: SPAN_CONVENTION.genAi };

  const openInferenceKind = attributes[OI_SPAN_KIND];
  if (typeof openInferenceKind === 'string') return classifyOpenInference(span, attributes, openInferenceKind);

  const operationId = attributes[AI_OPERATION_ID];
  if (typeof operationId === 'string') return classifyVercel(operationId);

  const operation = attributes[ATTR_GEN_AI_OPERATION_NAME];
  if (typeof operation === 'string') {
    const role = classifyGenAi(span, name, attributes, operation);
    if (role !== undefined) return role;
  }

  const observationType = attributes[ATTR_LANGFUSE_OBSERVATION_TYPE];
  if (typeof observationType === 'string') return classifyLangfuse(attributes, observationType);
  return undefined;
}

function classifyVercel(operationId: string): Role | undefined {
  const convention = SPAN_CONVENTION.vercelAi;
  switch (operationId) {
    // The top-level call is the turn even under an app span: requiring "no parent" would
    // miss every app that wraps the call in its own request span.
    case AI_OPERATION.generateText:
    case AI_OPERATION.streamText:
    case AI_OPERATION.generateObject:
    case AI_OPERATION.streamObject:
      return { kind: AGENT_SPAN_KIND.turn, convention };
    case AI_OPERATION.generateTextDoGenerate:
    case AI_OPERATION.streamTextDoStream:
    case AI_OPERATION.generateObjectDoGenerate:
    case AI_OPERATION.streamObjectDoStream:
      return { kind: AGENT_SPAN_KIND.modelCall, convention };
    case AI_OPERATION.toolCall:
      return { kind: AGENT_SPAN_KIND.toolCall, convention };
    default:
      return undefined;
  }
}

function isOpenLlmetry(span: ReadableSpan, attributes: Attributes): boolean {
  const scope = span.instrumentationScope?.name;
  return (typeof scope === 'string' && scope.startsWith(TRACELOOP_SCOPE_PREFIX)) || TRACELOOP_SPAN_KIND in attributes;
}

function classifyGenAi(span: ReadableSpan, name: string, attributes: Attributes, operation: string): Role | undefined {
  const convention = isOpenLlmetry(span, attributes) ? SPAN_CONVENTION.openLlmetry : SPAN_CONVENTION.genAi;
  switch (operation) {
    case GEN_AI_OPERATION.invokeAgent:
      return { kind: AGENT_SPAN_KIND.turn, convention };
    case GEN_AI_OPERATION.chat:
    case GEN_AI_OPERATION.textCompletion:
    case GEN_AI_OPERATION.generateContent:
      return { kind: AGENT_SPAN_KIND.modelCall, convention };
    case GEN_AI_OPERATION.executeTool:
      return { kind: AGENT_SPAN_KIND.toolCall, convention };
    case OPENLLMETRY_OPERATION_WORKFLOW:
      // OpenLLMetry names every LangChain runnable a workflow and loses parent links; the
      // compiled LangGraph graph is the agent run (OpenLLMetry itself switches to
      // invoke_agent only when the class name contains "agent").
      return convention === SPAN_CONVENTION.openLlmetry && isOpenLlmetryAgentWorkflow(name, attributes)
        ? { kind: AGENT_SPAN_KIND.turn, convention }
        : undefined;
    default:
      return undefined;
  }
}

function isOpenLlmetryAgentWorkflow(name: string, attributes: Attributes): boolean {
  const entity =
    stringAttribute(attributes, TRACELOOP_ENTITY_NAME) ??
    stringAttribute(attributes, TRACELOOP_WORKFLOW_NAME) ??
    name.replace(/^workflow /, '');
  return entity === LANGGRAPH_GRAPH_CLASS || /agent|executor/i.test(entity);
}

function classifyOpenInference(span: ReadableSpan, attributes: Attributes, kind: string): Role | undefined {
  const convention = SPAN_CONVENTION.openInference;
  switch (kind) {
    case OI_KIND.llm:
      return { kind: AGENT_SPAN_KIND.modelCall, convention };
    case OI_KIND.tool:
      return { kind: AGENT_SPAN_KIND.toolCall, convention };
    case OI_KIND.agent:
      // The OpenAI Agents instrumentation nests one AGENT per agent (with graph.node.id)
      // under its trace-root AGENT; only the top one is the turn.
      return attributes[OI_GRAPH_NODE_ID] === undefined || !hasParent(span)
        ? { kind: AGENT_SPAN_KIND.turn, convention }
        : undefined;
    case OI_KIND.chain:
      return isOpenInferenceChainTurn(span, attributes) ? { kind: AGENT_SPAN_KIND.turn, convention } : undefined;
    default:
      return undefined;
  }
}

/**
 * LangChain/LangGraph agents have no AGENT span: the graph run is a CHAIN. It is the turn
 * when it is the trace root, or when its LangChain metadata marks a graph-level run
 * (`ls_integration` / `lc_agent_name`) that is not a node of an enclosing graph
 * (`langgraph_node` absent) — which keeps it a turn under an app's own request span.
 */
function isOpenInferenceChainTurn(span: ReadableSpan, attributes: Attributes): boolean {
  if (!hasParent(span)) return true;
  const metadata = attributes[OI_METADATA];
  if (typeof metadata !== 'string') return false;
  return (
    !metadata.includes(`"${LANGGRAPH_NODE}"`) &&
    (metadata.includes('"ls_integration"') || metadata.includes(`"${LC_AGENT_NAME}"`))
  );
}

function classifyLangfuse(attributes: Attributes, observationType: string): Role | undefined {
  const convention = SPAN_CONVENTION.langfuse;
  switch (observationType) {
    case LANGFUSE_TYPE.agent:
      return { kind: AGENT_SPAN_KIND.turn, convention };
    case LANGFUSE_TYPE.generation:
      return { kind: AGENT_SPAN_KIND.modelCall, convention };
    case LANGFUSE_TYPE.tool:
      return { kind: AGENT_SPAN_KIND.toolCall, convention };
    case LANGFUSE_TYPE.span:
    case LANGFUSE_TYPE.chain: {
      // The LangChain callback handler types the agent's graph run as a plain span; its
      // metadata is flattened into langfuse.observation.metadata.* attributes.
      const graphRun =
        attributes[LANGFUSE_METADATA_PREFIX + LANGGRAPH_NODE] === undefined &&
        (attributes[`${LANGFUSE_METADATA_PREFIX}ls_integration`] !== undefined ||
          attributes[LANGFUSE_METADATA_PREFIX + LC_AGENT_NAME] !== undefined);
      return graphRun ? { kind: AGENT_SPAN_KIND.turn, convention } : undefined;
    }
    default:
      return undefined;
  }
}

// --- per-convention readers -----------------------------------------------------

interface Read {
  output?: OutputFacts | undefined;
  rawFinishReason?: unknown;
  toolOutput?: unknown;
}

function readVercel(kind: AgentSpanKind, attributes: Attributes, facts: Mutable<AgentSpanFacts>): Read {
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

function readGenAi(
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

function readOpenInference(
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

function readLangfuse(kind: AgentSpanKind, name: string, attributes: Attributes, facts: Mutable<AgentSpanFacts>): Read {
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

// --- signals common to all conventions ------------------------------------------

interface ErrorSignal {
  isError: boolean;
  errorType?: string;
  /** The error is the OpenAI Agents SDK's ModelRefusalError. */
  refusal: boolean;
}

/**
 * The four ways a failure is signalled: status ERROR, `error.type`, an `exception`
 * event, and vendor flags (Strands `gen_ai.tool.status`, Langfuse level ERROR — its
 * LangChain handler leaves the OTel status UNSET); for tools also an error text as the
 * output (what the model was told instead of a result).
 */
function readError(span: ReadableSpan, attributes: Attributes, toolOutput: unknown): ErrorSignal {
  let isError = span.status?.code === SpanStatusCode.ERROR;
  let errorType = stringAttribute(attributes, ATTR_ERROR_TYPE);
  let message = span.status?.message ?? '';
  if (errorType !== undefined) isError = true;
  const events = span.events;
  if (Array.isArray(events)) {
    for (const event of events) {
      if (event?.name !== EVENT_EXCEPTION) continue;
      isError = true;
      errorType ??= stringAttribute(event.attributes, EXCEPTION_TYPE);
      message ||= stringAttribute(event.attributes, EXCEPTION_MESSAGE) ?? '';
      break;
    }
  }
  if (attributes[GEN_AI_TOOL_STATUS] === 'error' || attributes[LANGFUSE_OBSERVATION_LEVEL] === 'ERROR') {
    isError = true;
    message ||= stringAttribute(attributes, LANGFUSE_OBSERVATION_STATUS_MESSAGE) ?? '';
  }
  if (!isError && typeof toolOutput === 'string' && looksLikeToolError(toolOutput)) isError = true;
  const refusal = isError && message.includes(MODEL_REFUSAL_ERROR);
  return errorType === undefined ? { isError, refusal } : { isError, errorType, refusal };
}

function looksLikeToolError(output: string): boolean {
  const head = output.slice(0, TOOL_OUTPUT_HEAD_CHARS).trimStart();
  return (
    /^(Error\b|\{\s*"error"\s*:|\[\{\s*"text"\s*:\s*"Error\b)/.test(head) ||
    // OpenAI Agents' default text sent to the model when a tool throws.
    head.startsWith('An error occurred while running the tool') ||
    // A serialised LangChain ToolMessage with status "error".
    /"status"\s*:\s*"error"/.test(head)
  );
}

function readAssignment(attributes: Attributes, facts: Mutable<AgentSpanFacts>): void {
  setString(facts, 'release', attributes[ATTR_RELEASE_ID]);
  const cohort = attributes[ATTR_COHORT];
  if (isCohort(cohort)) facts.cohort = cohort as Cohort;
  setString(facts, 'rolloutId', attributes[ATTR_ROLLOUT_ID]);
  setString(facts, 'flagKey', attributes[ATTR_FLAG_KEY]);
  setString(facts, 'subject', attributes[ATTR_SUBJECT]);
  setString(facts, 'promptHash', attributes[ATTR_PROMPT_HASH]);
}

/** Our own attributes: written by the app, they override what the framework implied. */
function readOwnSignals(kind: AgentSpanKind, attributes: Attributes, facts: Mutable<AgentSpanFacts>): void {
  const refusal = attributes[ATTR_REFUSAL];
  if (refusal === true || refusal === 'true') facts.refusal = true;
  else if (refusal === false || refusal === 'false') facts.refusal = false;
  const outputLength = numberAttribute(attributes, ATTR_OUTPUT_LENGTH);
  if (outputLength !== undefined) facts.outputLength = outputLength;
  const similarity = numberAttribute(attributes, ATTR_SIMILARITY);
  if (similarity !== undefined) facts.similarity = similarity;
  const toxicity = numberAttribute(attributes, ATTR_TOXICITY);
  if (toxicity !== undefined) facts.toxicity = toxicity;
  setString(facts, 'topic', attributes[ATTR_TOPIC]);
  // Evaluator scores sit on turn (and feedback) spans; scanning keys elsewhere is waste.
  if (kind !== AGENT_SPAN_KIND.turn && kind !== AGENT_SPAN_KIND.feedback) return;
  let scores: Record<string, number> | undefined;
  for (const key in attributes) {
    if (!key.startsWith(ATTR_EVAL_PREFIX)) continue;
    const score = numberAttribute(attributes, key);
    if (score === undefined) continue;
    scores ??= {};
    scores[key.slice(ATTR_EVAL_PREFIX.length)] = score;
  }
  if (scores !== undefined) facts.scores = Object.freeze(scores);
}

// --- small total helpers ----------------------------------------------------------

function hasParent(span: ReadableSpan): boolean {
  return span.parentSpanContext !== undefined;
}

function hrTimeToMillis(time: HrTime | undefined): number {
  if (!Array.isArray(time)) return 0;
  return time[0] * 1e3 + time[1] / 1e6;
}

function stringAttribute(attributes: Attributes | undefined, key: string): string | undefined {
  const value = attributes?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function numberAttribute(attributes: Attributes, key: string): number | undefined {
  return toNumber(attributes[key]);
}

function toNumber(value: AttributeValue | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

function firstNumber(attributes: Attributes, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const value = toNumber(attributes[key]);
    if (value !== undefined) return value;
  }
  return undefined;
}

type StringFact =
  | 'release'
  | 'rolloutId'
  | 'flagKey'
  | 'subject'
  | 'promptHash'
  | 'agentName'
  | 'toolName'
  | 'toolCallId'
  | 'model'
  | 'topic';

function setString(facts: Mutable<AgentSpanFacts>, key: StringFact, value: unknown): void {
  if (typeof value === 'string' && value !== '') facts[key] = value;
}

function setTokens(facts: Mutable<AgentSpanFacts>, input: number | undefined, output: number | undefined): void {
  if (input !== undefined) facts.inputTokens = input;
  if (output !== undefined) facts.outputTokens = output;
}

function nameSuffix(name: string, prefix: string): string | undefined {
  return name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : undefined;
}
