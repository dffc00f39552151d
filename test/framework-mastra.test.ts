/**
 * examples/mastra end to end: a real Mastra agent (mock AI SDK model) traced through
 * `@mastra/otel-bridge`, routed by the real OpenFeature SDK through the embedded provider,
 * its spans tagged and aggregated by our processors, and a short rollout of the regressed
 * prompt that the gate rolls back.
 */
import { CANARY_RELEASE, STABLE_RELEASE } from '../examples/mastra/src/agent.js';
import { runExample } from '../examples/mastra/src/example.js';
import { describeFrameworkExample } from './helpers/framework-example.js';

describeFrameworkExample({
  name: 'examples/mastra',
  scope: '@mastra/otel-bridge',
  stableRelease: STABLE_RELEASE,
  canaryRelease: CANARY_RELEASE,
  isToolSpan: (span) => span.attributes['gen_ai.operation.name'] === 'execute_tool',
  toolNameOf: (span) => String(span.attributes['gen_ai.tool.name']),
  run: (options) => runExample(options),
});
