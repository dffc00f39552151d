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
