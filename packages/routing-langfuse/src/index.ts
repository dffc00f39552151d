export type { LabelPositions, LangfuseLabelAdapter } from './adapter.js';
export { createLangfuseLabelAdapter, expectedLabels, LANGFUSE_PROVIDER } from './adapter.js';
export type { LangfuseLabelAdapterOptions, LangfuseLabelConfig } from './config.js';
export { LANGFUSE_LABEL_DEFAULTS, LANGFUSE_LABEL_ENV, resolveLangfuseLabelConfig, versionOfRelease } from './config.js';
export type { ReleasePrompt, ReleasePromptOptions } from './prompt.js';
export { getReleasePrompt, labelForCohort } from './prompt.js';
export type { PromptLabelLookupOptions, PromptReleaseLookup, ReleaseIdKind } from './release-config.js';
export {
  createPromptLabelLookup,
  PROMPT_LABEL_LOOKUP_DEFAULTS,
  RELEASE_ID_KIND,
  releaseConfigOfPrompt,
} from './release-config.js';
export type {
  LangfuseVerdictNotifierOptions,
  PostVerdictScoresOptions,
  PostVerdictScoresResult,
  RecentTracesOptions,
  VerdictNotification,
  VerdictNotifier,
  VerdictScore,
} from './scores.js';
export { langfuseVerdictNotifier, postVerdictScores, RecentTraces, VERDICT_SCORE_NAME } from './scores.js';
