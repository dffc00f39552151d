/**
 * examples/openai-agents end to end: a real OpenAI Agents SDK agent (mock `Model`), traced
 * through OpenInference's `OpenAIAgentsInstrumentation`, routed by the real OpenFeature SDK
 * through the embedded provider, its spans tagged and aggregated by our processors, and a
 * short rollout of the regressed prompt that the gate rolls back.
 */
import { CANARY_RELEASE, STABLE_RELEASE } from '../examples/openai-agents/src/agent.js';
import { runExample } from '../examples/openai-agents/src/example.js';
import { describeFrameworkExample } from './helpers/framework-example.js';

describeFrameworkExample({
  name: 'examples/openai-agents',
  scope: '@arizeai/openinference-instrumentation-openai-agents',
  stableRelease: STABLE_RELEASE,
  canaryRelease: CANARY_RELEASE,
  isToolSpan: (span) => span.attributes['openinference.span.kind'] === 'TOOL',
  toolNameOf: (span) => String(span.attributes['tool.name']),
  run: (options) => runExample(options),
});
