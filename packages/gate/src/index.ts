export {
  countAbove,
  countAtOrBelow,
  countsOnEdges,
  emptyCohortWindow,
  mergeBuckets,
  quantileOf,
  totalCount,
} from './buckets.js';
export { GATE_DEFAULTS, resolveGateConfig, safeResolveGateConfig } from './config.js';
export type { GateContext, GateEvaluation, GateEvaluator, JsonValue } from './evaluator.js';
export { createGate } from './gate.js';
export type {
  AnalysisUnit,
  CheckOptions,
  ConfigurableUnit,
  GateCheckName,
  GateConfig,
  GateEvidence,
  GateMode,
  GateOptions,
  LatencyCheckConfig,
  LatencyCheckOptions,
  RateCheckConfig,
  RateCheckOptions,
  ResolvedCheck,
  ResponseLengthCheckConfig,
  ResponseLengthCheckOptions,
  SampleRatioOptions,
  SimilarityCheckConfig,
  SimilarityCheckOptions,
  ToolMixCheckConfig,
  ToolMixCheckOptions,
  ToxicityCheckConfig,
  ToxicityCheckOptions,
  WarmupOptions,
} from './options.js';
export { ANALYSIS_UNIT, GATE_CHECK, GATE_EVIDENCE, GATE_MODE } from './options.js';
export type { PromotionBasis, PromotionReadiness } from './promotion.js';
export { PROMOTION_BASIS, promotionReadiness } from './promotion.js';
export type { CheckEvidence, CheckMethod, CohortMeasurement, GateResult } from './types.js';
export { CHECK_METHOD } from './types.js';
export type {
  BucketCount,
  BucketCounts,
  CohortWindow,
  CohortWindows,
  MetricQuery,
  MetricReadResult,
  MetricSource,
  ScoreWindow,
  SubjectFirsts,
  ToolCounts,
} from './windows.js';
