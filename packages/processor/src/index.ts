export type { AdverseSignal, AggregateSnapshot, OutcomeCounts, ScoreSummary } from './aggregate.js';
export { ADVERSE_SIGNAL, ADVERSE_SIGNALS, AGGREGATE_SKETCH_ACCURACY } from './aggregate.js';
export type { BehaviorSpanProcessorConfig, BehaviorSpanProcessorOptions } from './config.js';
export { BEHAVIOR_PROCESSOR_DEFAULTS, resolveBehaviorProcessorConfig } from './config.js';
export type { MetricName } from './metrics.js';
export { DURATION_BOUNDARIES_MILLIS, LENGTH_BOUNDARIES, METRIC, METRIC_ATTR, SCORE_BOUNDARIES } from './metrics.js';
export { normalizeFinishReason, normalizeSpan } from './normalize/index.js';
export type { WindowRange } from './processor.js';
export { BehaviorSpanProcessor } from './processor.js';
export type {
  BehaviorProfile,
  DriftConfig,
  DriftOptions,
  DriftReport,
  DriftSignal,
  DriftSignalName,
} from './profile.js';
export { buildBehaviorProfile, compareProfiles, DRIFT_DEFAULTS, DRIFT_SIGNAL } from './profile.js';
export type { SeriesKey } from './series-key.js';
export type {
  BucketSeriesSnapshot,
  ProcessorSnapshot,
  ProcessorSnapshotV1,
  SeriesSelector,
  SeriesSnapshot,
  SpanCounts,
  SubjectSetSnapshot,
  WindowSnapshot,
} from './snapshot.js';
export { mergeSnapshots, PROCESSOR_SNAPSHOT_VERSION, selectSeries, upgradeSnapshot } from './snapshot.js';
export type { SubjectScopeSnapshot } from './subjects.js';
