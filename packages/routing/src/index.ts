export type { EmbeddedRoutingAdapterOptions, RoutingStateListener } from './adapter.js';
export { EmbeddedRoutingAdapter } from './adapter.js';
export type { CohortShares } from './bucket.js';
export { BUCKET_COUNT, bucketFor, cohortFor, murmur3 } from './bucket.js';
export type { EmbeddedProviderOptions } from './provider.js';
export { EMBEDDED_PROVIDER_DEFAULTS, EMBEDDED_PROVIDER_NAME, EmbeddedProvider } from './provider.js';
export type { RoutingState } from './state-file.js';
export {
  EMPTY_ROUTING_STATE,
  parseRoutingState,
  ROUTING_STATE_FORMAT,
  readRoutingState,
  readRoutingStateSync,
  writeRoutingState,
  writeRoutingStateSync,
} from './state-file.js';
