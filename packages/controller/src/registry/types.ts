/** Statuses of a release over its life. */
export const RELEASE_STATUS = {
  /** Registered, not serving traffic. */
  draft: 'draft',
  /** Serving a canary slice of a running rollout. */
  canary: 'canary',
  /** Serving everyone who is not in a canary (promoted, or marked stable by hand). */
  stable: 'stable',
  /** Its rollout was rolled back. */
  rolledBack: 'rolled_back',
  /** Was stable until another release was promoted over it. */
  retired: 'retired',
} as const;
/** One of {@link RELEASE_STATUS}. */
export type ReleaseStatus = (typeof RELEASE_STATUS)[keyof typeof RELEASE_STATUS];

/** A scalar model parameter (temperature, top_p, max_tokens, reasoning effort, ...). */
export type ModelParameterValue = string | number | boolean;

/** Where the prompt of a release lives in a prompt-management system (e.g. Langfuse). */
export interface PromptReference {
  readonly name: string;
  readonly version?: number;
  /** Label the app fetches (e.g. Langfuse `production`), when it resolves by label. */
  readonly label?: string;
}

/**
 * The concrete configuration a release stands for: what the agent app must use when it
 * is assigned this release. Same shape as `ReleaseConfig` of `@agent-canary/instrumentation`
 * (declared twice because neither package may import the other).
 */
export interface ReleaseConfiguration {
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
}

/** Options of `createRelease`. */
export interface ReleaseOptions {
  readonly id: string;
  readonly promptHash: string;
  readonly prompt?: PromptReference;
  readonly model: string;
  readonly provider?: string;
  /** @default {} */
  readonly parameters?: Readonly<Record<string, ModelParameterValue>>;
  /** Free text for humans. */
  readonly description?: string;
  /**
   * Initial status. `stable` registers the release that already serves everyone (the
   * first release of an agent); later ones come in as `draft` and move by rollouts.
   * @default 'draft'
   */
  readonly status?: typeof RELEASE_STATUS.draft | typeof RELEASE_STATUS.stable;
}

/** One status change of a release. */
export interface ReleaseStatusChange {
  readonly status: ReleaseStatus;
  readonly atMillis: number;
  readonly reason: string;
  /** Who registered the change (`controller` for rollout-driven ones). */
  readonly actor: string;
  /** The rollout that caused it, for rollout-driven changes. */
  readonly rolloutId?: string;
}

/** A release as stored (configuration plus bookkeeping), without its derived status. */
export interface StoredRelease extends ReleaseConfiguration {
  readonly description?: string;
  readonly createdAtMillis: number;
  readonly createdBy: string;
}

/** A release with its current status and full status history. */
export interface ReleaseRecord extends StoredRelease {
  readonly status: ReleaseStatus;
  /** Oldest first; consecutive repeats of one status are collapsed. */
  readonly statusHistory: readonly ReleaseStatusChange[];
}
