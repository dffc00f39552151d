export { createFlagdAdapter, FLAGD_SCHEMA_URL, FlagdRoutingAdapter } from './adapter.js';
export type { FlagdAdapterConfig, FlagdAdapterOptions } from './config.js';
export { FLAGD_ADAPTER_DEFAULTS, resolveFlagdAdapterConfig } from './config.js';
export { FLAGD_ADAPTER_ENV } from './env.js';
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
export type { FlagdSyncServerConfig, FlagdSyncServerOptions } from './sync-config.js';
export { FLAGD_SYNC_DEFAULTS, FLAGD_SYNC_ENV, resolveFlagdSyncServerConfig } from './sync-config.js';
export { FLAG_SYNC_METHOD, FLAG_SYNC_SERVICE } from './sync-proto.js';
export type { FlagdSyncStatus } from './sync-server.js';
export { FlagdSyncServer, startFlagdSyncServer } from './sync-server.js';
export { FLAG_SYNC_SERVICE_DEFINITION } from './sync-service.js';
