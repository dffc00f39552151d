export type { SupportAgentOptions, SupportReply } from './agent.js';
export { ModelTimeoutError, RefundNotEligibleError, SupportAgent, ToolTimeoutError } from './agent.js';
export type { DemoDashboardOptions, DemoOptions } from './options.js';
export { DEMO_DEFAULTS } from './options.js';
export type { DemoDecision, DemoOutcome, DemoProgress, DemoResult } from './results.js';
export { DEMO_OUTCOME } from './results.js';
export { DEMO_FLAG_KEY, runDemo, VIRTUAL_EPOCH_MILLIS } from './run-demo.js';
export type { Scenario } from './scenarios.js';
export {
  CANARY_BEHAVIOR,
  EXPECTED_OUTCOME,
  isScenario,
  RELEASE,
  SCENARIO,
  SCENARIOS,
  STABLE_BEHAVIOR,
} from './scenarios.js';
export type {
  Intent,
  OrderFacts,
  ReleaseBehavior,
  SupportRequest,
  Tone,
  ToolName,
  ToolOutcome,
} from './simulated-model.js';
export { drawIntent, INTENT, INTENT_MIX, TONE, TOOL } from './simulated-model.js';
