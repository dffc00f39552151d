export type {
  ActionInput,
  ActionResult,
  RolloutControllerOptions,
  RolloutStatus,
  Scheduler,
  TickResult,
} from './driver/controller.js';
export { RolloutController } from './driver/controller.js';
export type { ControllerErrorCode } from './errors.js';
export { CONTROLLER_ERROR_CODE, ControllerError } from './errors.js';
export type {
  AnalysisUnit,
  CheckEvidence,
  CheckMethod,
  CheckOptions,
  CohortMeasurement,
  ConfigurableUnit,
  GateCheckName,
  GateConfig,
  GateContext,
  GateEvaluation,
  GateEvaluator,
  GateMode,
  GateOptions,
  GateResult,
  JsonValue,
  LatencyCheckConfig,
  LatencyCheckOptions,
  PromotionBasis,
  PromotionReadiness,
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
} from './gate/index.js';
export {
  ANALYSIS_UNIT,
  CHECK_METHOD,
  createGate,
  GATE_CHECK,
  GATE_DEFAULTS,
  GATE_MODE,
  PROMOTION_BASIS,
  promotionReadiness,
  resolveGateConfig,
  safeResolveGateConfig,
} from './gate/index.js';
export type {
  Notification,
  NotificationLogger,
  Notifier,
  NotifyResult,
  WebhookNotifierOptions,
} from './notify/notifier.js';
export { logNotifier, WEBHOOK_DEFAULTS, webhookNotifier } from './notify/notifier.js';
export type {
  RolloutConfig,
  RolloutOptions,
  RolloutStep,
  RolloutStepOptions,
  RolloutWarmupConfig,
  RolloutWarmupOptions,
} from './rollout/config.js';
export {
  ROLLOUT_DEFAULTS,
  ROLLOUT_ENV,
  resolveRolloutConfig,
  safeResolveRolloutConfig,
  splitForPercent,
} from './rollout/config.js';
export type { ReduceResult } from './rollout/reducer.js';
export { CONTROLLER_ACTOR, initialRolloutState, reduce, stateLabel } from './rollout/reducer.js';
export type {
  AlertKind,
  ManualAction,
  ManualEvent,
  NotificationDraft,
  NotificationKind,
  RolloutEffect,
  RolloutEvent,
  RolloutPhase,
  RolloutState,
  Severity,
  TransitionRecord,
} from './rollout/state.js';
export {
  ALERT_KIND,
  isFinalPhase,
  MANUAL_ACTION,
  NOTIFICATION_KIND,
  ROLLOUT_PHASE,
  SEVERITY,
} from './rollout/state.js';
export type { ApplyResult, RetryOptions, RetryResult, RoutingAdapter, RoutingSplit } from './routing/adapter.js';
export { InMemoryRoutingAdapter, RETRY_DEFAULTS, sameSplit, withRetry } from './routing/adapter.js';
export type { RoutingErrorCode, RoutingErrorOptions } from './routing/errors.js';
export { ROUTING_ERROR_CODE, RoutingError } from './routing/errors.js';
export type {
  BucketCount,
  BucketCounts,
  CohortWindow,
  CohortWindows,
  InProcessSourceOptions,
  MetricQuery,
  MetricReadResult,
  MetricSource,
  PrometheusSourceConfig,
  PrometheusSourceOptions,
  ScoreWindow,
  ToolCounts,
} from './sources/index.js';
export {
  cohortWindowFromAggregate,
  countAbove,
  countAtOrBelow,
  countsOnEdges,
  emptyCohortWindow,
  InMemoryMetricSource,
  inProcessSource,
  mergeBuckets,
  PROMETHEUS_LABEL,
  PROMETHEUS_METRIC,
  PROMETHEUS_SOURCE_DEFAULTS,
  prometheusSource,
  quantileOf,
  resolvePrometheusSourceConfig,
  totalCount,
} from './sources/index.js';
export type {
  CommitInput,
  PendingEffect,
  PostMortem,
  RolloutRecord,
  RolloutStoreOptions,
  StoredManualAction,
  StoredNotification,
  StoredTransition,
  StoredVerdict,
} from './store/store.js';
export { RolloutStore, STORE_SCHEMA_VERSION } from './store/store.js';
