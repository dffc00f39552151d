/**
 * examples/langgraph end to end (LangGraph `createReactAgent`): a real LangGraph.js agent on a
 * mock chat model, traced through OpenInference's `LangChainInstrumentation`, routed by the
 * real OpenFeature SDK through the embedded provider, its spans tagged and aggregated by our
 * processors, and a short rollout of the regressed prompt that the gate rolls back.
 */
import { CANARY_RELEASE, STABLE_RELEASE } from '../examples/langgraph/src/agent.js';
import { runExample } from '../examples/langgraph/src/example.js';
import { describeFrameworkExample } from './helpers/framework-example.js';

describeFrameworkExample({
  name: 'examples/langgraph (LangGraph)',
  scope: '@arizeai/openinference-instrumentation-langchain',
  stableRelease: STABLE_RELEASE,
  canaryRelease: CANARY_RELEASE,
  isToolSpan: (span) => span.attributes['openinference.span.kind'] === 'TOOL',
  toolNameOf: (span) => String(span.attributes['tool.name']),
  run: (options) => runExample({ ...options, flavor: 'langgraph' }),
});
