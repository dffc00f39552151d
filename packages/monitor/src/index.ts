export type { FreezeBaselineInput, FreezeBaselineResult } from './drift/baseline.js';
export type { BehaviorMonitorConfig, BehaviorMonitorOptions } from './drift/config.js';
export { MONITOR_DEFAULTS, resolveMonitorConfig } from './drift/config.js';
export { TAIL_QUANTILES } from './drift/distribution-signals.js';
export type { BehaviorMonitor, CreateBehaviorMonitorOptions } from './drift/monitor.js';
export { createBehaviorMonitor, runMonitor } from './drift/monitor.js';
export type { DriftNotification } from './drift/runtime.js';
export type { BaselineSample } from './drift/signals.js';
export { evaluateSignals } from './drift/signals.js';
export type { MonitorPhase, MonitorStatus, MonitorTickResult } from './drift/status.js';
export { MONITOR_PHASE, readMonitorStatus } from './drift/status.js';
export type {
  BehaviorBaseline,
  BehaviorWindowQuery,
  BehaviorWindowResult,
  BehaviorWindowSource,
  DriftEvidence,
  MonitorAlertRecord,
  MonitorSignal,
  MonitorState,
  MonitorWindow,
  SignalAlertState,
  SignalEffect,
  SignalEvaluation,
  SignalStatus,
  UserEvent,
} from './drift/types.js';
export {
  MONITOR_SIGNAL,
  MONITOR_SIGNALS,
  MONITOR_UNIT,
  SIGNAL_EFFECT,
  SIGNAL_STATUS,
  USER_EVENT,
} from './drift/types.js';
export type { MetricBehaviorSourceOptions } from './drift/window.js';
export {
  emptyMonitorWindow,
  mergeMonitorWindows,
  metricBehaviorSource,
  monitorWindowFromAggregate,
  monitorWindowFromCohortWindow,
  OUTSIDE_ROLLOUTS_PROMETHEUS_SELECTOR,
  processorBehaviorSource,
} from './drift/window.js';
export type { ListReleasesOptions, RegistryWriteOptions } from './registry/registry.js';
export {
  createRelease,
  currentStableRelease,
  listReleases,
  markRelease,
  releaseConfigReader,
  resolveReleaseOptions,
  showRelease,
} from './registry/registry.js';
export type {
  ModelParameterValue,
  PromptReference,
  ReleaseConfiguration,
  ReleaseOptions,
  ReleaseRecord,
  ReleaseStatus,
  ReleaseStatusChange,
  StoredRelease,
} from './registry/types.js';
export { RELEASE_STATUS } from './registry/types.js';
