export type { BehaviorMonitorConfig, BehaviorMonitorOptions } from './config.js';
export { MONITOR_DEFAULTS, resolveMonitorConfig } from './config.js';
export type {
  BehaviorMonitor,
  CreateBehaviorMonitorOptions,
  DriftNotification,
  FreezeBaselineInput,
  FreezeBaselineResult,
  MonitorPhase,
  MonitorStatus,
  MonitorTickResult,
} from './monitor.js';
export { createBehaviorMonitor, MONITOR_PHASE, runMonitor } from './monitor.js';
export { evaluateSignals } from './signals.js';
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
  SignalEvaluation,
  SignalStatus,
} from './types.js';
export { MONITOR_SIGNAL, MONITOR_SIGNALS, SIGNAL_STATUS } from './types.js';
export {
  emptyMonitorWindow,
  mergeMonitorWindows,
  metricBehaviorSource,
  monitorWindowFromAggregate,
  monitorWindowFromCohortWindow,
  processorBehaviorSource,
} from './window.js';
