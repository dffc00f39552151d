/**
 * Attribute keys of the agent-canary vocabulary, in one place.
 *
 * Our own keys live under the `agent_canary.` namespace and are written only where no
 * OpenTelemetry convention exists. GenAI and feature-flag names are copied from the
 * OpenTelemetry semantic conventions (development stability, so not imported from
 * `@opentelemetry/semantic-conventions/incubating`). Every key is documented in
 * docs/attributes.md.
 */

// --- agent-canary: the release assignment, on every span of a request under a rollout ---

/** Id of the release (prompt + model configuration) that served the request. */
export const ATTR_RELEASE_ID = 'agent_canary.release.id';
/** Cohort of the request: `stable`, `canary` or `control`. */
export const ATTR_COHORT = 'agent_canary.cohort';
/** Id of the rollout that assigned the cohort. */
export const ATTR_ROLLOUT_ID = 'agent_canary.rollout.id';
/** Key of the release flag that was evaluated. */
export const ATTR_FLAG_KEY = 'agent_canary.flag.key';
/**
 * Pseudonymous id of the unit of randomisation (a hash of the targeting key, never the
 * raw user id). Lets the processor count distinct users per cohort.
 */
export const ATTR_SUBJECT = 'agent_canary.subject';
/** Hash of the prompt actually used to serve the request. */
export const ATTR_PROMPT_HASH = 'agent_canary.prompt.hash';
/**
 * Hash of the prompt the assigned release prescribes (from its configuration), on every
 * span of the request. Differs from `agent_canary.prompt.hash` only when the app used
 * another prompt than the one it was assigned.
 */
export const ATTR_RELEASE_PROMPT_HASH = 'agent_canary.release.prompt_hash';
/**
 * Model the assigned release prescribes, on every span of the request. The model actually
 * called is `gen_ai.request.model` on the model-call spans; a difference is a mismatch.
 */
export const ATTR_RELEASE_MODEL = 'agent_canary.release.model';

// --- agent-canary: behaviour signals that no convention covers ---

/** `true` when the agent refused the request (set on the turn span). */
export const ATTR_REFUSAL = 'agent_canary.refusal';
/** Similarity of the answer to the control release's answer, 0..1 (turn span). */
export const ATTR_SIMILARITY = 'agent_canary.similarity';
/** Toxicity score of the answer, 0..1 (turn span). */
export const ATTR_TOXICITY = 'agent_canary.toxicity';
/** Prefix of evaluator scores: `agent_canary.eval.<name>` = number (turn span). */
export const ATTR_EVAL_PREFIX = 'agent_canary.eval.';
/** Length of the final answer in characters (turn span); content itself is not captured. */
export const ATTR_OUTPUT_LENGTH = 'agent_canary.output.length';
/** Topic of the request from a pluggable classifier run in the app (turn span). */
export const ATTR_TOPIC = 'agent_canary.topic';
/** Kind of user feedback on a finished turn (feedback span). */
export const ATTR_FEEDBACK_KIND = 'agent_canary.feedback.kind';
/** Name of the span that carries user feedback; it links to the turn it rates. */
export const FEEDBACK_SPAN_NAME = 'agent_canary.feedback';

// --- OpenTelemetry GenAI semantic conventions (copied, development stability) ---

/** Kind of GenAI operation a span records (see {@link GEN_AI_OPERATION}). */
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
/** Model provider, e.g. `openai`, `anthropic`, `aws.bedrock`. */
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
/** Deprecated in favour of `gen_ai.provider.name`; still read from older instrumentations. */
export const ATTR_GEN_AI_SYSTEM = 'gen_ai.system';
/** Human-readable name of the agent (agent-turn spans). */
export const ATTR_GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
/** Unique id of the agent. */
export const ATTR_GEN_AI_AGENT_ID = 'gen_ai.agent.id';
/** Version of the agent. */
export const ATTR_GEN_AI_AGENT_VERSION = 'gen_ai.agent.version';
/** Id of the conversation (session) the operation belongs to. */
export const ATTR_GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id';
/** Model the request asked for. */
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
/** Sampling temperature of the request. */
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature';
/** Model that actually answered (may differ from the requested one). */
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
/** Provider id of the completion. */
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
/** Why the model stopped generating, one reason per choice (string array). */
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
/** Tokens in the model input (prompt). */
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
/** Tokens in the model output (completion). */
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
/** Name of the tool the agent called (tool-call spans). */
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
/** Id of the tool call, as the model issued it. */
export const ATTR_GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id';
/** Type of the tool: `function`, `extension` or `datastore`. */
export const ATTR_GEN_AI_TOOL_TYPE = 'gen_ai.tool.type';
/** Arguments of the tool call (content: captured only when the user opts in). */
export const ATTR_GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
/** Result of the tool call (content: captured only when the user opts in). */
export const ATTR_GEN_AI_TOOL_CALL_RESULT = 'gen_ai.tool.call.result';
/** Messages sent to the model (content: captured only when the user opts in). */
export const ATTR_GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages';
/** Messages the model returned (content: captured only when the user opts in). */
export const ATTR_GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages';
/** System instructions given to the model (content: captured only when the user opts in). */
export const ATTR_GEN_AI_SYSTEM_INSTRUCTIONS = 'gen_ai.system_instructions';
/** Name of the prompt template the request used. */
export const ATTR_GEN_AI_PROMPT_NAME = 'gen_ai.prompt.name';
/** Name of the evaluation metric (on a `gen_ai.evaluation.result` event). */
export const ATTR_GEN_AI_EVALUATION_NAME = 'gen_ai.evaluation.name';
/** Numeric score of the evaluation. */
export const ATTR_GEN_AI_EVALUATION_SCORE_VALUE = 'gen_ai.evaluation.score.value';
/** Label of the evaluation score, e.g. `relevant`. */
export const ATTR_GEN_AI_EVALUATION_SCORE_LABEL = 'gen_ai.evaluation.score.label';
/** Span event carrying one evaluation result. */
export const EVENT_GEN_AI_EVALUATION_RESULT = 'gen_ai.evaluation.result';

/** Values of `gen_ai.operation.name` that we write or read. */
export const GEN_AI_OPERATION = {
  invokeAgent: 'invoke_agent',
  createAgent: 'create_agent',
  chat: 'chat',
  textCompletion: 'text_completion',
  generateContent: 'generate_content',
  executeTool: 'execute_tool',
} as const;
/** A value of {@link GEN_AI_OPERATION}. */
export type GenAiOperation = (typeof GEN_AI_OPERATION)[keyof typeof GEN_AI_OPERATION];

/** Stable OpenTelemetry attribute: the class of error that ended an operation. */
export const ATTR_ERROR_TYPE = 'error.type';
/** Stable OpenTelemetry attribute. */
export const ATTR_USER_ID = 'user.id';
/** Stable OpenTelemetry attribute: the session the request belongs to. */
export const ATTR_SESSION_ID = 'session.id';

// --- OpenTelemetry feature-flag semantic conventions (copied, development stability) ---

/** Key of the evaluated flag. */
export const ATTR_FEATURE_FLAG_KEY = 'feature_flag.key';
/** Variant the evaluation returned (for a release flag: the cohort). */
export const ATTR_FEATURE_FLAG_RESULT_VARIANT = 'feature_flag.result.variant';
/** Value the evaluation returned (for a release flag: the release id). */
export const ATTR_FEATURE_FLAG_RESULT_VALUE = 'feature_flag.result.value';
/** Why the provider returned this value, e.g. `SPLIT`, `DEFAULT`, `ERROR`. */
export const ATTR_FEATURE_FLAG_RESULT_REASON = 'feature_flag.result.reason';
/** Name of the flag provider that answered. */
export const ATTR_FEATURE_FLAG_PROVIDER_NAME = 'feature_flag.provider.name';
/** Id of the evaluation context (our targeting key, hashed). */
export const ATTR_FEATURE_FLAG_CONTEXT_ID = 'feature_flag.context.id';
/** Id of the flag set the flag belongs to. */
export const ATTR_FEATURE_FLAG_SET_ID = 'feature_flag.set.id';
/** Version of the flag definition that answered. */
export const ATTR_FEATURE_FLAG_VERSION = 'feature_flag.version';
/** Message of a failed evaluation. */
export const ATTR_FEATURE_FLAG_ERROR_MESSAGE = 'feature_flag.error.message';
/** Span event emitted on every flag evaluation. */
export const EVENT_FEATURE_FLAG_EVALUATION = 'feature_flag.evaluation';

// --- Langfuse: attributes its UI reads, so traces split by release ---

/** Langfuse trace release: our release id, so Langfuse can split traces by release. */
export const ATTR_LANGFUSE_RELEASE = 'langfuse.release';
/** Langfuse `version` of a trace or observation (Langfuse filters and compares by it). */
export const ATTR_LANGFUSE_VERSION = 'langfuse.version';
/** Langfuse environment of the trace. */
export const ATTR_LANGFUSE_ENVIRONMENT = 'langfuse.environment';
/** Name of the Langfuse prompt an observation used (links it to the prompt). */
export const ATTR_LANGFUSE_PROMPT_NAME = 'langfuse.observation.prompt.name';
/** Version of the Langfuse prompt an observation used. */
export const ATTR_LANGFUSE_PROMPT_VERSION = 'langfuse.observation.prompt.version';
/** Prefix of trace metadata keys: `langfuse.trace.metadata.<key>`. */
export const ATTR_LANGFUSE_TRACE_METADATA_PREFIX = 'langfuse.trace.metadata.';
/** Langfuse observation type, e.g. `generation`, `agent`, `tool`. */
export const ATTR_LANGFUSE_OBSERVATION_TYPE = 'langfuse.observation.type';

// --- W3C baggage entries that carry the assignment across processes ---

/** Baggage entry carrying the release id (same key as the attribute). */
export const BAGGAGE_RELEASE_ID = ATTR_RELEASE_ID;
/** Baggage entry carrying the cohort (same key as the attribute). */
export const BAGGAGE_COHORT = ATTR_COHORT;
/** Baggage entry carrying the rollout id (same key as the attribute). */
export const BAGGAGE_ROLLOUT_ID = ATTR_ROLLOUT_ID;
/** Baggage entry carrying the release flag key (same key as the attribute). */
export const BAGGAGE_FLAG_KEY = ATTR_FLAG_KEY;
/** Baggage entry carrying the pseudonymous subject (same key as the attribute). */
export const BAGGAGE_SUBJECT = ATTR_SUBJECT;

// --- Release flag contract (what a routing provider returns) ---

/** Flag-metadata key naming the cohort when the variant name is not a cohort. */
export const FLAG_METADATA_COHORT = 'cohort';
/** Flag-metadata key carrying the rollout id. */
export const FLAG_METADATA_ROLLOUT_ID = 'rolloutId';
/** Flag-metadata key carrying the release id when the flag value is not the release id. */
export const FLAG_METADATA_RELEASE = 'release';
