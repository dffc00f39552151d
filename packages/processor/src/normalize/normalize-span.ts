/**
 * One span of any supported convention to `AgentSpanFacts`: classified (`classify.ts`),
 * read by its convention's reader (`convention-readers.ts`), then the signals all
 * conventions share (`signals.ts`).
 */
import { AGENT_SPAN_KIND, type AgentSpanFacts, FINISH_REASON, SPAN_CONVENTION } from '@agent-canary/conventions';
import { type Attributes, diag } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { classify } from './classify.js';
import { readGenAi, readLangfuse, readOpenInference, readVercel } from './convention-readers.js';
import { normalizeFinishReason } from './finish-reason.js';
import type { OutputFacts } from './output-text.js';
import { readAssignment, readError, readOwnSignals } from './signals.js';
import { hrTimeToMillis, type Mutable } from './span-reading.js';

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
