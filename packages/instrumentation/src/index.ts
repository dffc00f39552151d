export type { ModelParameterValue, ReleaseConfigReader } from '@agent-canary/conventions';
export type { ContentCaptureOptions, ContentKind, MaskFunction } from './content.js';
export { CONTENT_KIND } from './content.js';
export type { Evaluator, EvaluatorInput, EvaluatorSignal } from './evaluators.js';
export {
  cosineSimilarity,
  EVALUATOR_SIGNAL,
  isRefusal,
  lexicalSimilarity,
  refusalDetector,
  runEvaluators,
} from './evaluators.js';
export type { FeedbackOptions } from './feedback.js';
export { recordFeedback } from './feedback.js';
export type { AgentCanaryHandle, LangfuseOptions, OtlpOptions, RegisterConfig, RegisterOptions } from './register.js';
export { ENV_CAPTURE_CONTENT, REGISTER_DEFAULTS, registerAgentCanary, resolveRegisterConfig } from './register.js';
export type {
  PromptLabelLookup,
  ReleaseConfig,
  ReleaseConfigSource,
  ResolvedRelease,
  ResolveReleaseConfigOptions,
} from './release-config.js';
export {
  contextWithResolvedRelease,
  hashPrompt,
  recordPromptUsed,
  resolveReleaseConfig,
  withResolvedRelease,
} from './release-config.js';
export {
  contextWithRelease,
  getActiveRelease,
  releaseAttributes,
  releaseFromBaggage,
  withRelease,
} from './release-context.js';
export type { ResolveReleaseOptions } from './resolve-release.js';
export { DEFAULT_RELEASE, resolveRelease } from './resolve-release.js';
export type {
  AgentTurnOptions,
  ModelCall,
  ModelCallOptions,
  ModelResponse,
  SpanClockOptions,
  ToolCallOptions,
  Turn,
} from './spans.js';
export { traceAgentTurn, traceModelCall, traceToolCall } from './spans.js';
export { ReleaseTaggingSpanProcessor } from './tagging-processor.js';
export type { TracerOptions } from './tracer.js';
export { INSTRUMENTATION_SCOPE_NAME } from './tracer.js';
