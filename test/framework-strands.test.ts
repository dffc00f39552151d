/**
 * examples/strands end to end: a real Strands Agents TypeScript agent (mock `Model`) with its
 * native OpenTelemetry GenAI spans, routed by the real OpenFeature SDK through the embedded
 * provider, its spans tagged and aggregated by our processors, and a short rollout of the
 * regressed prompt that the gate rolls back.
 */
import { CANARY_RELEASE, STABLE_RELEASE } from '../examples/strands/src/agent.js';
import { runExample } from '../examples/strands/src/example.js';
import { describeFrameworkExample } from './helpers/framework-example.js';

describeFrameworkExample({
  name: 'examples/strands',
  scope: 'strands-agents',
  stableRelease: STABLE_RELEASE,
  canaryRelease: CANARY_RELEASE,
  isToolSpan: (span) => span.attributes['gen_ai.operation.name'] === 'execute_tool',
  toolNameOf: (span) => String(span.attributes['gen_ai.tool.name']),
  run: (options) => runExample(options),
});
