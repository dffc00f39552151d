import type { ModelParameterValue, PromptReference, ReleaseConfiguration } from '@agent-canary/conventions';

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

export type { ModelParameterValue, PromptReference, ReleaseConfiguration };

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
