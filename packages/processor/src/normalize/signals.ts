/**
 * The signals every convention shares: errors (and refusals raised as errors), the canary
 * assignment, and our own attributes, which override what a framework implied.
 */
import {
  AGENT_SPAN_KIND,
  type AgentSpanFacts,
  type AgentSpanKind,
  ATTR_COHORT,
  ATTR_ERROR_TYPE,
  ATTR_EVAL_PREFIX,
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
  type Cohort,
  isCohort,
} from '@agent-canary/conventions';
import { type Attributes, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  EVENT_EXCEPTION,
  EXCEPTION_MESSAGE,
  EXCEPTION_TYPE,
  GEN_AI_TOOL_STATUS,
  LANGFUSE_OBSERVATION_LEVEL,
  LANGFUSE_OBSERVATION_STATUS_MESSAGE,
} from './semconv.js';
import { type Mutable, numberAttribute, setString, stringAttribute } from './span-reading.js';

/** The OpenAI Agents SDK's error class for a refusal: a refusal, not a failure. */
const MODEL_REFUSAL_ERROR = 'ModelRefusalError';
/** Characters of a tool's output inspected for an error text; enough for any prefix. */
const TOOL_OUTPUT_HEAD_CHARS = 512;

/** What a span says about failure. */
export interface ErrorSignal {
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
export function readError(span: ReadableSpan, attributes: Attributes, toolOutput: unknown): ErrorSignal {
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

/** The canary assignment: release, cohort, rollout, flag and subject. */
export function readAssignment(attributes: Attributes, facts: Mutable<AgentSpanFacts>): void {
  setString(facts, 'release', attributes[ATTR_RELEASE_ID]);
  const cohort = attributes[ATTR_COHORT];
  if (isCohort(cohort)) facts.cohort = cohort as Cohort;
  setString(facts, 'rolloutId', attributes[ATTR_ROLLOUT_ID]);
  setString(facts, 'flagKey', attributes[ATTR_FLAG_KEY]);
  setString(facts, 'subject', attributes[ATTR_SUBJECT]);
  setString(facts, 'promptHash', attributes[ATTR_PROMPT_HASH]);
}

/** Our own attributes: written by the app, they override what the framework implied. */
export function readOwnSignals(kind: AgentSpanKind, attributes: Attributes, facts: Mutable<AgentSpanFacts>): void {
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
