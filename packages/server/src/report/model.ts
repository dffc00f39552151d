/**
 * What the report and the dashboard read about a rollout: its current state as one
 * summary, and its persisted history (transitions, gate evaluations, tool mix). Built from
 * the controller's store by `store-view.ts`; the CLI's commands use the same shapes.
 */

import type { RolloutRoutingStatus, RolloutStep } from '@agent-canary/controller';
import type { Cohort } from '@agent-canary/conventions';
import type { GateResult } from '@agent-canary/gate';

/** How a finished rollout ended. */
export const ROLLOUT_OUTCOME = {
  promoted: 'promoted',
  rolledBack: 'rolled_back',
  aborted: 'aborted',
} as const;
/** One of {@link ROLLOUT_OUTCOME}. */
export type RolloutOutcome = (typeof ROLLOUT_OUTCOME)[keyof typeof ROLLOUT_OUTCOME];

/** The current state of one rollout. */
export interface RolloutSummary {
  readonly id: string;
  readonly flagKey: string;
  readonly canaryRelease: string;
  readonly stableRelease: string;
  /** State of the controller's state machine (`draft`, `canary`, `paused`, `stable`, `rolled_back`, ...). */
  readonly state: string;
  /** Current step, 0-based. */
  readonly stepIndex: number;
  readonly stepCount: number;
  /** Canary share of traffic in percent. */
  readonly canaryPercent: number;
  /** Set once the rollout has ended. */
  readonly outcome?: RolloutOutcome;
  readonly startedAtMillis?: number;
  readonly updatedAtMillis: number;
  /** The latest gate evaluation. */
  readonly lastResult?: GateResult;
  /**
   * True while the flag system has not acknowledged the controller's latest split: after a
   * rollback, users are still routed to the canary ("rolled back — routing pending"). The
   * process running the controller retries it with back-off and alerts until it lands.
   */
  readonly routingPending?: boolean;
  /** While `routingPending`: what the flag system still routes, since when, and why the write fails. */
  readonly routing?: RolloutRoutingStatus;
}

/** One persisted state transition. */
export interface TransitionRecord {
  readonly atMillis: number;
  readonly from: string;
  readonly to: string;
  /** What caused it: `start`, `advance`, `gate_fail`, `pause`, `promote`, ... */
  readonly cause: string;
  /** Person or component that caused it (`controller` for automatic ones). */
  readonly actor: string;
  readonly reason: string;
  /** Shares after the transition, in percent. */
  readonly canaryPercent: number;
  readonly controlPercent: number;
  /** The gate evaluation behind an automatic transition. */
  readonly result?: GateResult;
}

/** One gate evaluation, with the shares it was made under. */
export interface EvaluationRecord {
  readonly atMillis: number;
  readonly canaryPercent: number;
  readonly controlPercent: number;
  readonly result: GateResult;
}

/** Share of tool calls per tool, per cohort (fractions summing to 1 per cohort). */
export interface ToolMix {
  readonly tools: readonly string[];
  readonly share: Readonly<Partial<Record<Cohort, readonly number[]>>>;
}

/** Everything persisted about one rollout, oldest first. */
export interface RolloutHistory {
  /** The configured steps (with the controller's defaults applied). */
  readonly steps: readonly RolloutStep[];
  readonly transitions: readonly TransitionRecord[];
  readonly evaluations: readonly EvaluationRecord[];
  /** Tool mix per cohort from the latest behaviour snapshot, when one was kept. */
  readonly toolMix?: ToolMix;
}

/** Where the report reads one rollout from (the controller's store, or a test double). */
export interface ReportSource {
  get(rolloutId: string): Promise<RolloutSummary | undefined>;
  history(rolloutId: string): Promise<RolloutHistory | undefined>;
}
