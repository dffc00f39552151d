import type { Verdict } from '@agent-canary/conventions';
import type { GateResult } from '@agent-canary/gate';

/** Phases of a rollout. `promoted`, `rolled_back` and `aborted` are final. */
export const ROLLOUT_PHASE = {
  draft: 'draft',
  canary: 'canary',
  paused: 'paused',
  promoted: 'promoted',
  rolledBack: 'rolled_back',
  aborted: 'aborted',
} as const;
/** One of {@link ROLLOUT_PHASE}. */
export type RolloutPhase = (typeof ROLLOUT_PHASE)[keyof typeof ROLLOUT_PHASE];

/** Returns true for a final phase (no more ticks, no more manual actions). */
export function isFinalPhase(phase: RolloutPhase): boolean {
  return phase === ROLLOUT_PHASE.promoted || phase === ROLLOUT_PHASE.rolledBack || phase === ROLLOUT_PHASE.aborted;
}

/** Conditions the controller alerts on once, until they clear (then the alert re-arms). */
export const ALERT_KIND = {
  /** The sample-ratio test fired: verdicts are frozen, no advance, no promote. */
  sampleRatioMismatch: 'sample_ratio_mismatch',
  /** No canary traffic for `noDataTimeoutMillis`. */
  noData: 'no_data',
  /** The step's minimum time has passed but the gate is still inconclusive. */
  inconclusive: 'inconclusive',
  /** The step's minimum time has passed but the canary has fewer requests than the step needs. */
  insufficientTraffic: 'insufficient_traffic',
  /** An absolute threshold is failing (rollback after N consecutive evaluations). */
  thresholdFailure: 'threshold_failure',
  /** Someone changed the flag by hand; the controller holds instead of overwriting it. */
  routingConflict: 'routing_conflict',
  /**
   * The flag system has not acknowledged the split the controller decided (after a
   * rollback: users are still routed to the canary). Stays raised, final phases included,
   * until the write lands; repeated while it keeps failing.
   */
  routingPending: 'routing_pending',
} as const;
/** One of {@link ALERT_KIND}. */
export type AlertKind = (typeof ALERT_KIND)[keyof typeof ALERT_KIND];

/** Manual actions (each carries who did it and why; all are audited). */
export const MANUAL_ACTION = {
  pause: 'pause',
  resume: 'resume',
  promote: 'promote',
  rollback: 'rollback',
  abort: 'abort',
  approve: 'approve',
} as const;
/** One of {@link MANUAL_ACTION}. */
export type ManualAction = (typeof MANUAL_ACTION)[keyof typeof MANUAL_ACTION];

/** Basis points of a split, without the flag's identity. */
export interface SplitShares {
  readonly canaryBasisPoints: number;
  readonly controlBasisPoints: number;
}

/**
 * A split the controller decided and the flag system has not acknowledged yet. Set with
 * every routing write the reducer asks for, cleared by the acknowledgement.
 */
export interface PendingRouting extends SplitShares {
  /** When the controller decided the split (users keep the previous routing until it lands). */
  readonly sinceMillis: number;
  /** Failed write attempts so far (each may be several requests inside the adapter). */
  readonly failedAttempts: number;
  readonly firstFailedAtMillis?: number;
  readonly lastFailedAtMillis?: number;
  /** Why the last attempt failed, as the adapter said it. */
  readonly lastError?: string;
  /** What the flag system routed when the last attempt failed, if it could be read back. */
  readonly observed?: SplitShares & { readonly atMillis: number };
  /** When the `routing_pending` alert was last sent (first failure, then repeats). */
  readonly alertedAtMillis?: number;
}

/** Everything the reducer knows about one rollout. JSON-serialisable; persisted after every event. */
export interface RolloutState {
  readonly rolloutId: string;
  readonly phase: RolloutPhase;
  /** Index into `config.steps` of the current (or last) canary step. */
  readonly stepIndex: number;
  /** Share the controller wants routed to the canary (basis points of 10 000). */
  readonly canaryBasisPoints: number;
  /** Share the controller wants routed to the control cohort (basis points of 10 000). */
  readonly controlBasisPoints: number;
  /** Waiting for `approve` before promoting (a sub-state of `canary` / `paused`). */
  readonly awaitingApproval: boolean;
  readonly createdAtMillis: number;
  readonly startedAtMillis?: number;
  /** Start of the current step, shifted forward by paused time so only active time counts. */
  readonly stepStartedAtMillis?: number;
  readonly pausedAtMillis?: number;
  /** Paused time so far (excluded from `maxDurationMillis`). */
  readonly pausedTotalMillis: number;
  readonly endedAtMillis?: number;
  readonly consecutiveThresholdFailures: number;
  /** Alerts raised and not yet cleared (deduplication). */
  readonly alerts: readonly AlertKind[];
  readonly lastTrafficAtMillis?: number;
  /**
   * Canary requests the gate reported at the previous tick. The gate's window runs from
   * the rollout start, so new traffic shows as growth of this count.
   */
  readonly lastCanaryRequests: number;
  /** Canary requests the gate reported when the current step began (the step's sample is the growth since). */
  readonly stepBaselineCanaryRequests: number;
  readonly lastVerdict?: Verdict;
  /** When the routing system acknowledged the current split. */
  readonly routingSeenAtMillis?: number;
  /** The current split while the flag system has not acknowledged it (absent once it has). */
  readonly routingPending?: PendingRouting;
  /** Reason of the last transition. */
  readonly reason: string;
  readonly updatedAtMillis: number;
}

interface EventBase {
  /** Epoch milliseconds of the event (the reducer's only clock). */
  readonly atMillis: number;
}

/** A manual action event. */
export interface ManualEvent extends EventBase {
  readonly type: ManualAction;
  readonly actor: string;
  readonly reason: string;
}

/** Inputs of the reducer. */
export type RolloutEvent =
  | (EventBase & { readonly type: 'start'; readonly actor?: string })
  | (EventBase & { readonly type: 'tick'; readonly gate: GateResult })
  | ManualEvent
  | (EventBase & {
      readonly type: 'routingApplied';
      readonly canaryBasisPoints: number;
      readonly controlBasisPoints: number;
      readonly seenAtMillis: number;
    })
  | (EventBase & {
      readonly type: 'routingFailed';
      readonly canaryBasisPoints: number;
      readonly controlBasisPoints: number;
      /** Why the write failed (the adapter's message). */
      readonly reason: string;
      /** What a read-back of the flag showed (absent when it could not be read). */
      readonly observed?: SplitShares;
      /** Repeat the `routing_pending` alert when the last one is at least this old. */
      readonly alertRepeatMillis: number;
    })
  | (EventBase & {
      readonly type: 'routingConflict';
      /** Split found in the flag system (absent: the flag is gone). */
      readonly observed?: { readonly canaryBasisPoints: number; readonly controlBasisPoints: number };
      readonly expected?: { readonly canaryBasisPoints: number; readonly controlBasisPoints: number };
    });

/** Severity of a notification. */
export const SEVERITY = { info: 'info', warn: 'warn', error: 'error' } as const;
/** One of {@link SEVERITY}. */
export type Severity = (typeof SEVERITY)[keyof typeof SEVERITY];

/** Kinds of notification. */
export const NOTIFICATION_KIND = {
  transition: 'transition',
  alert: 'alert',
  alertCleared: 'alert_cleared',
  approvalRequested: 'approval_requested',
  /** A manual action that changed no state: a rollback re-asserted on a rollout that already ended. */
  action: 'action',
} as const;
/** One of {@link NOTIFICATION_KIND}. */
export type NotificationKind = (typeof NOTIFICATION_KIND)[keyof typeof NOTIFICATION_KIND];

/** What the reducer asks to notify; the driver adds the rollout's identity. */
export interface NotificationDraft {
  readonly kind: NotificationKind;
  readonly severity: Severity;
  readonly title: string;
  readonly reason: string;
  readonly alert?: AlertKind;
  readonly from?: string;
  readonly to?: string;
  readonly actor?: string;
  readonly verdict?: Verdict;
  /**
   * The gate's checks behind a decision (failing and warning ones; every check on a pass),
   * each with its unit and the units counted per arm, so a reader sees how much evidence,
   * over how many users, decided.
   */
  readonly checks?: readonly NotifiedCheck[];
  /** How long the decided split waited for the flag system (on the `routing_pending` alert and its clearing). */
  readonly routingPendingMillis?: number;
}

/** One gate check in a notification. */
export interface NotifiedCheck {
  readonly check: string;
  readonly method: string;
  readonly verdict: Verdict;
  /** `subject` (users, counted in the cohort they entered), `request` or `tool_call`. */
  readonly unit: string;
  /** Units behind the canary's and control's values. */
  readonly canarySamples?: number;
  readonly controlSamples?: number;
  readonly reason: string;
  readonly observeOnly?: boolean;
}

/** Side effects the driver runs after persisting the new state. All are idempotent. */
export type RolloutEffect =
  | {
      readonly type: 'applySplit';
      readonly canaryBasisPoints: number;
      readonly controlBasisPoints: number;
      readonly reason: string;
      /** Write even if someone changed the flag by hand (an operator's `resume`). */
      readonly overrideHandChange?: boolean;
    }
  | { readonly type: 'notify'; readonly notification: NotificationDraft }
  | { readonly type: 'snapshotPostMortem'; readonly reason: string };

/** One state change, as persisted in the audit log. */
export interface TransitionRecord {
  readonly atMillis: number;
  /** Label of the state before, e.g. `canary@5%`. */
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  /** `controller` for automatic decisions, else the person or system that acted. */
  readonly actor: string;
  /** Event type that caused it. */
  readonly trigger: RolloutEvent['type'];
  /** The gate evaluation behind an automatic decision. */
  readonly evidence?: GateResult;
}
