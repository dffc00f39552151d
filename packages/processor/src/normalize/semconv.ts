/**
 * Attribute names of the foreign conventions the normaliser reads. They are unstable or
 * vendor-specific, so they are copied here (as opentelemetry-js-contrib does) rather than
 * imported from their instrumentation packages, which this package must not depend on.
 * Observed in real captured spans: see test/fixtures/spans and research/span-shapes.md.
 */

// --- OpenTelemetry GenAI (development) names not in @agent-canary/conventions ---

/** Deprecated spelling of input tokens, still written by Strands next to the new one. */
export const GEN_AI_USAGE_PROMPT_TOKENS = 'gen_ai.usage.prompt_tokens';
/** Deprecated spelling of output tokens, still written by Strands next to the new one. */
export const GEN_AI_USAGE_COMPLETION_TOKENS = 'gen_ai.usage.completion_tokens';
/** Strands: `success` | `error` on `execute_tool` spans. */
export const GEN_AI_TOOL_STATUS = 'gen_ai.tool.status';
/** Strands default mode: the model's answer, as an event with `message` and `finish_reason`. */
export const EVENT_GEN_AI_CHOICE = 'gen_ai.choice';
/** Strands latest mode: an event carrying `gen_ai.output.messages`. */
export const EVENT_GEN_AI_INFERENCE_DETAILS = 'gen_ai.client.inference.operation.details';
/** The exception event of the OpenTelemetry specification. */
export const EVENT_EXCEPTION = 'exception';
export const EXCEPTION_TYPE = 'exception.type';
export const EXCEPTION_MESSAGE = 'exception.message';
/** `gen_ai.operation.name` values that only OpenLLMetry writes. */
export const OPENLLMETRY_OPERATION_WORKFLOW = 'workflow';

// --- Vercel AI SDK 6 / 7-legacy (`ai.*`) ---

export const AI_OPERATION_ID = 'ai.operationId';
export const AI_TELEMETRY_FUNCTION_ID = 'ai.telemetry.functionId';
export const AI_MODEL_ID = 'ai.model.id';
export const AI_RESPONSE_MODEL = 'ai.response.model';
export const AI_RESPONSE_TEXT = 'ai.response.text';
export const AI_RESPONSE_OBJECT = 'ai.response.object';
export const AI_RESPONSE_FINISH_REASON = 'ai.response.finishReason';
export const AI_USAGE_INPUT_TOKENS = 'ai.usage.inputTokens';
export const AI_USAGE_OUTPUT_TOKENS = 'ai.usage.outputTokens';
/** AI SDK 4/5 spellings, read as a fallback. */
export const AI_USAGE_PROMPT_TOKENS = 'ai.usage.promptTokens';
export const AI_USAGE_COMPLETION_TOKENS = 'ai.usage.completionTokens';
export const AI_TOOL_CALL_NAME = 'ai.toolCall.name';
export const AI_TOOL_CALL_ID = 'ai.toolCall.id';
export const AI_TOOL_CALL_RESULT = 'ai.toolCall.result';

/** `ai.operationId` values: top-level calls (the turn), provider calls, tool calls. */
export const AI_OPERATION = {
  generateText: 'ai.generateText',
  streamText: 'ai.streamText',
  generateObject: 'ai.generateObject',
  streamObject: 'ai.streamObject',
  generateTextDoGenerate: 'ai.generateText.doGenerate',
  streamTextDoStream: 'ai.streamText.doStream',
  generateObjectDoGenerate: 'ai.generateObject.doGenerate',
  streamObjectDoStream: 'ai.streamObject.doStream',
  toolCall: 'ai.toolCall',
} as const;

// --- OpenInference ---

export const OI_SPAN_KIND = 'openinference.span.kind';
export const OI_INPUT_VALUE = 'input.value';
export const OI_OUTPUT_VALUE = 'output.value';
export const OI_OUTPUT_MIME_TYPE = 'output.mime_type';
export const OI_METADATA = 'metadata';
export const OI_LLM_MODEL_NAME = 'llm.model_name';
export const OI_LLM_TOKEN_COUNT_PROMPT = 'llm.token_count.prompt';
export const OI_LLM_TOKEN_COUNT_COMPLETION = 'llm.token_count.completion';
export const OI_LLM_FINISH_REASON = 'llm.finish_reason';
/** Prefix of flattened output messages: `llm.output_messages.<i>.message.content`. */
export const OI_LLM_OUTPUT_MESSAGES = 'llm.output_messages.';
export const OI_TOOL_NAME = 'tool.name';
export const OI_TOOL_CALL_ID = 'tool_call.id';
export const OI_AGENT_NAME = 'agent.name';
/** Set by the OpenAI Agents instrumentation on each per-agent span under its trace root. */
export const OI_GRAPH_NODE_ID = 'graph.node.id';

/** Values of `openinference.span.kind` that the normaliser reads. */
export const OI_KIND = {
  agent: 'AGENT',
  chain: 'CHAIN',
  llm: 'LLM',
  tool: 'TOOL',
} as const;

// --- OpenLLMetry (Traceloop) ---

export const TRACELOOP_SPAN_KIND = 'traceloop.span.kind';
export const TRACELOOP_ENTITY_NAME = 'traceloop.entity.name';
export const TRACELOOP_ENTITY_OUTPUT = 'traceloop.entity.output';
export const TRACELOOP_WORKFLOW_NAME = 'traceloop.workflow.name';
/** Instrumentation-scope prefix of every OpenLLMetry JS instrumentation. */
export const TRACELOOP_SCOPE_PREFIX = '@traceloop/';
/** LangGraph's compiled graph class: the agent run when OpenLLMetry names a workflow. */
export const LANGGRAPH_GRAPH_CLASS = 'CompiledStateGraph';

// --- Langfuse ---

export const LANGFUSE_OBSERVATION_LEVEL = 'langfuse.observation.level';
export const LANGFUSE_OBSERVATION_STATUS_MESSAGE = 'langfuse.observation.status_message';
export const LANGFUSE_OBSERVATION_OUTPUT = 'langfuse.observation.output';
export const LANGFUSE_OBSERVATION_MODEL_NAME = 'langfuse.observation.model.name';
export const LANGFUSE_OBSERVATION_USAGE_DETAILS = 'langfuse.observation.usage_details';
export const LANGFUSE_METADATA_PREFIX = 'langfuse.observation.metadata.';
export const LANGFUSE_IS_APP_ROOT = 'langfuse.internal.is_app_root';

/** Values of `langfuse.observation.type` that the normaliser reads. */
export const LANGFUSE_TYPE = {
  agent: 'agent',
  chain: 'chain',
  span: 'span',
  generation: 'generation',
  tool: 'tool',
} as const;

// --- LangChain metadata keys (OpenInference `metadata` JSON, Langfuse metadata attributes) ---

export const LC_AGENT_NAME = 'lc_agent_name';
export const LANGGRAPH_NODE = 'langgraph_node';
export const LC_FINISH_REASON = 'finish_reason';
export const LC_MODEL_NAME = 'ls_model_name';
