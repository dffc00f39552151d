export {
  countAbove,
  countAtOrBelow,
  countsOnEdges,
  emptyCohortWindow,
  mergeBuckets,
  quantileOf,
  totalCount,
} from './buckets.js';
export { InMemoryMetricSource } from './in-memory.js';
export type { InProcessSourceOptions } from './in-process.js';
export { cohortWindowFromAggregate, inProcessSource } from './in-process.js';
export type { PrometheusSourceConfig, PrometheusSourceOptions } from './prometheus.js';
export {
  PROMETHEUS_LABEL,
  PROMETHEUS_METRIC,
  PROMETHEUS_SOURCE_DEFAULTS,
  prometheusSource,
  resolvePrometheusSourceConfig,
} from './prometheus.js';
export type {
  BucketCount,
  BucketCounts,
  CohortWindow,
  CohortWindows,
  MetricQuery,
  MetricReadResult,
  MetricSource,
  ScoreWindow,
  ToolCounts,
} from './types.js';
