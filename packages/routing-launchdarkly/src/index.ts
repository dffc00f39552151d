export type { SemanticPatchBody } from './adapter.js';
export { createLaunchDarklyAdapter, LaunchDarklyRoutingAdapter, SEMANTIC_PATCH_CONTENT_TYPE } from './adapter.js';
export type { FetchFunction, LaunchDarklyAdapterConfig, LaunchDarklyAdapterOptions } from './config.js';
export { LAUNCHDARKLY_ADAPTER_DEFAULTS, LAUNCHDARKLY_ADAPTER_ENV, resolveLaunchDarklyAdapterConfig } from './config.js';
export type {
  InstructionSettings,
  LaunchDarklyRestEnvironment,
  LaunchDarklyRestFlag,
  LaunchDarklyVariation,
  ReleaseVariations,
  ReleaseVariationValue,
  SemanticPatchInstruction,
} from './flag-model.js';
export {
  instructionsFor,
  LAUNCHDARKLY_PROVIDER,
  LAUNCHDARKLY_TOTAL_WEIGHT,
  parseReleaseVariationValue,
  releaseVariationsOf,
  releaseVariationValue,
  splitFromRestFlag,
} from './flag-model.js';
export type { LaunchDarklyReleaseProviderOptions } from './read-side.js';
export {
  FLAG_METADATA_VARIATION_INDEX,
  LAUNCHDARKLY_RELEASE_PROVIDER_NAME,
  LaunchDarklyReleaseProvider,
  launchDarklyAssignment,
  releaseResolution,
} from './read-side.js';
