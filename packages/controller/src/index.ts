export { RolloutController } from './driver/controller.js';
export type { RolloutControllerOptions, RoutingRetryOptions, Scheduler } from './driver/options.js';
export { CONTROLLER_DEFAULTS } from './driver/options.js';
export type { ActionInput, ActionResult, RolloutRoutingStatus, RolloutStatus, TickResult } from './driver/status.js';
export { rolloutStatusOf } from './driver/status.js';
export type { ControllerErrorCode } from './errors.js';
export { CONTROLLER_ERROR_CODE, ControllerError } from './errors.js';
export type {
  Notification,
  NotificationLogger,
  Notifier,
  NotifyResult,
  WebhookNotifierOptions,
} from './notify/notifier.js';
export { deliverAndRecord, logNotifier, WEBHOOK_DEFAULTS, webhookNotifier } from './notify/notifier.js';
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
export { initialRolloutState, reduce } from './rollout/reducer.js';
export type {
  AlertKind,
  ManualAction,
  ManualEvent,
  NotificationDraft,
  NotificationKind,
  NotifiedCheck,
  PendingRouting,
  RolloutEffect,
  RolloutEvent,
  RolloutPhase,
  RolloutState,
  Severity,
  SplitShares,
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
export type { ReduceResult } from './rollout/transition.js';
export { CONTROLLER_ACTOR, stateLabel } from './rollout/transition.js';
export type { InProcessSourceOptions, PrometheusSourceConfig, PrometheusSourceOptions } from './sources/index.js';
export {
  cohortWindowFromAggregate,
  inProcessSource,
  PROMETHEUS_LABEL,
  PROMETHEUS_METRIC,
  PROMETHEUS_SOURCE_DEFAULTS,
  prometheusSource,
  resolvePrometheusSourceConfig,
} from './sources/index.js';
export type {
  CommitInput,
  PendingEffect,
  PostMortem,
  RolloutRecord,
  StoredAlertEvidence,
  StoredBaselineShape,
  StoredManualAction,
  StoredMonitorAlert,
  StoredNotification,
  StoredReleaseEvent,
  StoredReleaseShape,
  StoredTransition,
  StoredVerdict,
} from './store/records.js';
export { STORE_SCHEMA_VERSION } from './store/schema.js';
export type { RolloutStoreOptions } from './store/store.js';
export { RolloutStore } from './store/store.js';
