/**
 * The shapes the rollout store reads and writes: rollouts, their audit log, the outbox,
 * and the narrow views of releases, drift alerts and baselines the monitor stores here.
 */
import type { RoutingSplit, Verdict } from '@agent-canary/conventions';
import type { GateResult, JsonValue } from '@agent-canary/gate';
import type { RolloutConfig } from '../rollout/config.js';
import type {
  ManualAction,
  NotificationKind,
  RolloutEffect,
  RolloutState,
  Severity,
  TransitionRecord,
} from '../rollout/state.js';

/**
 * A release as stored: the release registry of `@agent-canary/monitor` gives it its full
 * shape; the store needs only its id and creation time.
 */
export interface StoredReleaseShape {
  readonly id: string;
  readonly createdAtMillis: number;
}

/** A status change of a release as stored (the registry gives `status` its values). */
export interface StoredReleaseEvent<Status extends string = string> {
  readonly status: Status;
  readonly atMillis: number;
  readonly reason: string;
  /** Who registered the change (`controller` for rollout-driven ones). */
  readonly actor: string;
  readonly rolloutId?: string;
}

/** Evidence of a drift alert as stored: the monitor gives it its full shape. */
export interface StoredAlertEvidence {
  readonly release: string;
  readonly firstSeenAtMillis: number;
}

/** A drift alert as stored. */
export interface StoredMonitorAlert<
  Signal extends string = string,
  Evidence extends StoredAlertEvidence = StoredAlertEvidence,
> {
  readonly id: number;
  readonly monitorId: string;
  readonly release: string;
  readonly signal: Signal;
  readonly raisedAtMillis: number;
  readonly clearedAtMillis?: number;
  readonly clearReason?: string;
  readonly evidence: Evidence;
}

/** A frozen behaviour baseline as stored. */
export interface StoredBaselineShape {
  readonly release: string;
  readonly frozenAtMillis: number;
}

/** One rollout as stored. */
export interface RolloutRecord {
  readonly id: string;
  readonly flagKey: string;
  readonly config: RolloutConfig;
  readonly state: RolloutState;
  /** The gate's opaque state from its last evaluation. */
  readonly gateState?: JsonValue;
  /** The last split the flag system acknowledged for this rollout. */
  readonly appliedSplit?: RoutingSplit;
  /** True while a routing write of this rollout waits in the outbox (set by the store when reading). */
  readonly routingWritePending?: boolean;
  readonly createdAtMillis: number;
  readonly updatedAtMillis: number;
}

/** A transition in the audit log. */
export interface StoredTransition extends TransitionRecord {
  readonly rolloutId: string;
  /** 1, 2, 3, ... per rollout. */
  readonly seq: number;
  /** Canary share after the transition, basis points (absent in stores written before schema 3). */
  readonly canaryBasisPoints?: number;
  /** Control share after the transition, basis points (absent like `canaryBasisPoints`). */
  readonly controlBasisPoints?: number;
}

/** One gate evaluation in the verdict history. */
export interface StoredVerdict {
  readonly rolloutId: string;
  readonly seq: number;
  readonly atMillis: number;
  readonly verdict: Verdict;
  readonly reason: string;
  readonly result: GateResult;
}

/** A manual action (accepted or refused) with who and why. */
export interface StoredManualAction {
  readonly rolloutId: string;
  readonly atMillis: number;
  readonly action: ManualAction;
  readonly actor: string;
  readonly reason: string;
  readonly accepted: boolean;
  /** The transition reason when accepted, the refusal message otherwise. */
  readonly outcome: string;
}

/** A notification and what happened to it. */
export interface StoredNotification {
  readonly id: number;
  readonly rolloutId: string;
  readonly atMillis: number;
  readonly kind: NotificationKind;
  readonly severity: Severity;
  readonly title: string;
  readonly notifier: string;
  readonly delivered: boolean;
  readonly attempts: number;
  readonly error?: string;
}

/** What is kept after a rollback to understand it later. */
export interface PostMortem {
  readonly rolloutId: string;
  readonly atMillis: number;
  readonly reason: string;
  readonly config: RolloutConfig;
  readonly state: RolloutState;
  readonly transitions: readonly StoredTransition[];
  readonly verdicts: readonly StoredVerdict[];
  /** `GateEvaluator.snapshot()` at the time of the rollback (absent when the gate has none or it failed). */
  readonly gateSnapshot?: JsonValue;
}

/** A side effect persisted with the state that produced it, removed once it has run. */
export interface PendingEffect {
  readonly id: number;
  readonly rolloutId: string;
  readonly effect: RolloutEffect;
}

/** Everything one reduce step writes, committed in ONE transaction. */
export interface CommitInput {
  readonly rolloutId: string;
  readonly state: RolloutState;
  /** Omit to keep the stored gate state. */
  readonly gateState?: JsonValue;
  readonly transition?: TransitionRecord;
  readonly verdict?: GateResult;
  readonly manualAction?: Omit<StoredManualAction, 'rolloutId'>;
  readonly effects?: readonly RolloutEffect[];
}
