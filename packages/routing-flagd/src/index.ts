export { createFlagdAdapter, FLAGD_SCHEMA_URL, FlagdRoutingAdapter } from './adapter.js';
export type { FlagdAdapterConfig, FlagdAdapterOptions } from './config.js';
export { FLAGD_ADAPTER_DEFAULTS, FLAGD_ADAPTER_ENV, resolveFlagdAdapterConfig } from './config.js';
export type { FlagdFlag } from './flag-definition.js';
export {
  FLAGD_MANAGED_BY,
  FLAGD_MANAGED_BY_METADATA,
  FLAGD_PROVIDER,
  FLAGD_TOTAL_WEIGHT,
  FLAGD_VERSION_METADATA,
  flagdFlagFor,
  splitFromFlagdFlag,
} from './flag-definition.js';
