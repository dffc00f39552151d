/**
 * What a release stands for: the prompt and model configuration an agent app must use when
 * routing assigns it. Shared by the release registry (monitor), the read side
 * (instrumentation's `resolveReleaseConfig`) and the Langfuse prompt-label adapter.
 */

/** A scalar model parameter (temperature, top_p, max_tokens, reasoning effort, ...). */
export type ModelParameterValue = string | number | boolean;

/** Where the prompt of a release lives in a prompt-management system (e.g. Langfuse). */
export type PromptReference = {
  readonly name: string;
  readonly version?: number;
  /** Label the app fetches (e.g. Langfuse `production`), when it resolves by label. */
  readonly label?: string;
};

/**
 * The concrete configuration a release stands for: what the agent app must use when it
 * is assigned this release.
 */
export type ReleaseConfiguration = {
  /** Release id: the value the release flag serves. */
  readonly id: string;
  /** Hash of the prompt (template) text, e.g. sha256 hex. */
  readonly promptHash: string;
  readonly prompt?: PromptReference;
  /** Model name as sent to the provider (`gen_ai.request.model`). */
  readonly model: string;
  /** Provider name (`gen_ai.provider.name`), when it matters. */
  readonly provider?: string;
  /** Model parameters: temperature, top_p, max_tokens, ... */
  readonly parameters: Readonly<Record<string, ModelParameterValue>>;
};

/** Reads release configurations by id (the registry's `releaseConfigReader(store)` is one). */
export interface ReleaseConfigReader {
  getReleaseConfig(id: string): ReleaseConfiguration | undefined | Promise<ReleaseConfiguration | undefined>;
}
