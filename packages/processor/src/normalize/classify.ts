/**
 * Classification: what a span is (agent turn, model call, tool call, feedback) and which
 * convention wrote it, from its name, scope and attributes.
 */
import {
  AGENT_SPAN_KIND,
  type AgentSpanKind,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_LANGFUSE_OBSERVATION_TYPE,
  FEEDBACK_SPAN_NAME,
  GEN_AI_OPERATION,
  SPAN_CONVENTION,
  type SpanConvention,
} from '@agent-canary/conventions';
import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  AI_OPERATION,
  AI_OPERATION_ID,
  LANGFUSE_METADATA_PREFIX,
  LANGFUSE_TYPE,
  LANGGRAPH_GRAPH_CLASS,
  LANGGRAPH_NODE,
  LC_AGENT_NAME,
  OI_GRAPH_NODE_ID,
  OI_KIND,
  OI_METADATA,
  OI_SPAN_KIND,
  OPENLLMETRY_OPERATION_WORKFLOW,
  TRACELOOP_ENTITY_NAME,
  TRACELOOP_SCOPE_PREFIX,
  TRACELOOP_SPAN_KIND,
  TRACELOOP_WORKFLOW_NAME,
} from './semconv.js';
import { hasParent, stringAttribute } from './span-reading.js';

/** What a span is, and which convention wrote it. */
export interface Role {
  readonly kind: AgentSpanKind;
  readonly convention: SpanConvention;
}

/** What `span` is and which convention wrote it, or undefined for spans of no interest. */
export function classify(span: ReadableSpan, name: string, attributes: Attributes): Role | undefined {
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
