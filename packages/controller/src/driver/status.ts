/**
 * What the controller reports: the status of a rollout (the one the controller, the API
 * and reports show, derived from a stored rollout alone) and the results of its calls.
 */
import type { GateResult } from '@agent-canary/gate';
import type { ControllerError } from '../errors.js';
import type { RolloutConfig } from '../rollout/config.js';
import type { AlertKind, RolloutPhase, SplitShares } from '../rollout/state.js';
import type { RolloutRecord } from '../store/records.js';

/** Where the flag system stands with the controller's split (part of {@link RolloutStatus}). */
export interface RolloutRoutingStatus {
  /**
   * True while the flag system has not acknowledged the split the controller decided: after
   * a rollback, users are still routed to the canary ("rolled back — routing pending").
   */
  readonly pending: boolean;
  /**
   * What the flag system routes, as far as the controller knows: read back after the last
   * failed write (`read_back`), else the last split it acknowledged (`acknowledged`).
   * Absent when nothing is known (no split acknowledged yet and no read-back).
   */
  readonly routed?: SplitShares & { readonly source: 'acknowledged' | 'read_back'; readonly atMillis?: number };
  /** When the pending split was decided. */
  readonly pendingSinceMillis?: number;
  /** Failed write attempts of the pending split. */
  readonly failedAttempts: number;
  readonly lastFailedAtMillis?: number;
  /** The adapter's message of the last failure. */
  readonly lastError?: string;
}

/** What `status()` reports. */
export interface RolloutStatus {
  readonly rolloutId: string;
  readonly flagKey: string;
  readonly canaryRelease: string;
  readonly stableRelease: string;
  readonly phase: RolloutPhase;
  /** True while the flag system has not acknowledged the controller's split (see `routing`). */
  readonly routingPending: boolean;
  readonly stepIndex: number;
  /** Canary percentage of the current step. */
  readonly stepPercent: number;
  /** Canary share the controller decided (what the flag system routes is in `routing`). */
  readonly canaryBasisPoints: number;
  /** Control share the controller decided. */
  readonly controlBasisPoints: number;
  readonly awaitingApproval: boolean;
  readonly alerts: readonly AlertKind[];
  readonly reason: string;
  readonly lastVerdict?: GateResult['verdict'];
  /** When the flag system acknowledged the current split. */
  readonly routingSeenAtMillis?: number;
  readonly routing: RolloutRoutingStatus;
  readonly startedAtMillis?: number;
  readonly updatedAtMillis: number;
  readonly config: RolloutConfig;
}

/** A manual action's who and why (stored in the audit log). */
export interface ActionInput {
  readonly actor: string;
  readonly reason: string;
}

/** Result of a manual action: refused actions are results, not exceptions. */
export type ActionResult =
  | { readonly ok: true; readonly status: RolloutStatus }
  | { readonly ok: false; readonly error: ControllerError; readonly status: RolloutStatus };

/** Result of one tick. */
export interface TickResult {
  /** False when nothing was evaluated (final phase, or the gate failed). */
  readonly evaluated: boolean;
  readonly status: RolloutStatus;
  readonly gate?: GateResult;
}

/**
 * The {@link RolloutStatus} of a stored rollout: the same shape {@link RolloutController.status}
 * returns, for rollouts this process does not drive (an API listing history, a report).
 *
 * @example
 * const record = store.getRollout('r-42');
 * const status = record === undefined ? undefined : rolloutStatusOf(record);
 */
export function rolloutStatusOf(record: RolloutRecord): RolloutStatus {
  const state = record.state;
  const routing = routingStatusOf(record);
  return {
    rolloutId: record.id,
    flagKey: record.flagKey,
    canaryRelease: record.config.canaryRelease,
    stableRelease: record.config.stableRelease,
    phase: state.phase,
    routingPending: routing.pending,
    stepIndex: state.stepIndex,
    stepPercent: record.config.steps[state.stepIndex]?.percent ?? 0,
    canaryBasisPoints: state.canaryBasisPoints,
    controlBasisPoints: state.controlBasisPoints,
    awaitingApproval: state.awaitingApproval,
    alerts: state.alerts,
    reason: state.reason,
    ...(state.lastVerdict === undefined ? {} : { lastVerdict: state.lastVerdict }),
    ...(state.routingSeenAtMillis === undefined ? {} : { routingSeenAtMillis: state.routingSeenAtMillis }),
    routing,
    ...(state.startedAtMillis === undefined ? {} : { startedAtMillis: state.startedAtMillis }),
    updatedAtMillis: state.updatedAtMillis,
    config: record.config,
  };
}

function routingStatusOf(record: RolloutRecord): RolloutRoutingStatus {
  const pending = record.state.routingPending;
  const routed = routedSharesOf(record);
  return {
    // A write still in the outbox counts too (stores written before the state kept `routingPending`).
    pending: pending !== undefined || record.routingWritePending === true,
    ...(routed === undefined ? {} : { routed }),
    ...(pending === undefined ? {} : { pendingSinceMillis: pending.sinceMillis }),
    failedAttempts: pending?.failedAttempts ?? 0,
    ...(pending?.lastFailedAtMillis === undefined ? {} : { lastFailedAtMillis: pending.lastFailedAtMillis }),
    ...(pending?.lastError === undefined ? {} : { lastError: pending.lastError }),
  };
}

/** What the flag system routes, as far as the stored rollout tells (read back, else acknowledged). */
export function routedSharesOf(record: RolloutRecord): RolloutRoutingStatus['routed'] {
  const observed = record.state.routingPending?.observed;
  if (observed !== undefined) {
    return {
      canaryBasisPoints: observed.canaryBasisPoints,
      controlBasisPoints: observed.controlBasisPoints,
      source: 'read_back',
      atMillis: observed.atMillis,
    };
  }
  const applied = record.appliedSplit;
  if (applied === undefined) return undefined;
  return {
    canaryBasisPoints: applied.canaryBasisPoints,
    controlBasisPoints: applied.controlBasisPoints,
    source: 'acknowledged',
  };
}
