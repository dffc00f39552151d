export type { UnleashRoutingAdapter } from './adapter.js';
export { createUnleashAdapter } from './adapter.js';
export type { UnleashAdapterConfig, UnleashAdapterOptions } from './config.js';
export { resolveUnleashAdapterConfig, UNLEASH_ADAPTER_DEFAULTS, UNLEASH_ENV } from './config.js';
export type { UnleashProviderOptions } from './provider.js';
export { UNLEASH_PROVIDER_DEFAULTS, UNLEASH_PROVIDER_ENV, UNLEASH_PROVIDER_NAME, UnleashProvider } from './provider.js';
export type { UnleashStrategy, UnleashStrategyVariant } from './strategy.js';
export {
  isOwnStrategy,
  ROLLOUT_ID_PARAMETER,
  STRATEGY_TITLE_PREFIX,
  splitFromStrategies,
  strategyForSplit,
  UNLEASH_PROVIDER,
  UNLEASH_WEIGHT_TOTAL,
} from './strategy.js';
