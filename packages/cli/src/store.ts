/**
 * What the CLI needs from the controller's durable store. The commands are written
 * against this small interface; `controller-store.ts` adapts the controller package's
 * store to it, and tests use an in-memory implementation.
 */

import {
  MANUAL_ACTION as CONTROLLER_MANUAL_ACTION,
  type ManualAction as ControllerManualAction,
  type RolloutRoutingStatus,
  type RolloutStep,
} from '@agent-canary/controller';
import type { Cohort } from '@agent-canary/conventions';
import type { GateResult } from '@agent-canary/gate';
import type { RolloutDefinition } from './config.js';

/** How a finished rollout ended. */
export const ROLLOUT_OUTCOME = {
  promoted: 'promoted',
  rolledBack: 'rolled_back',
  aborted: 'aborted',
} as const;
/** One of {@link ROLLOUT_OUTCOME}. */
export type RolloutOutcome = (typeof ROLLOUT_OUTCOME)[keyof typeof ROLLOUT_OUTCOME];

/** Manual actions a person can take on a rollout: the controller's own set. */
export const MANUAL_ACTION = CONTROLLER_MANUAL_ACTION;
/** One of {@link MANUAL_ACTION}. */
export type ManualAction = ControllerManualAction;

/** Who did something and why (kept in the audit log). */
export interface Attribution {
  readonly actor: string;
  readonly reason: string;
}

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

/** The answer to a manual action: refused actions say why. */
export interface ActionOutcome {
  readonly accepted: boolean;
  readonly reason: string;
  readonly rollout?: RolloutSummary;
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

/** The controller store as the CLI uses it. */
export interface CliStore {
  /** Creates a rollout from a validated definition and starts it (first step); `actor` is audited. */
  start(definition: RolloutDefinition, actor: string): Promise<RolloutSummary>;
  get(rolloutId: string): Promise<RolloutSummary | undefined>;
  /** Every rollout, most recently updated first. */
  list(): Promise<readonly RolloutSummary[]>;
  act(rolloutId: string, action: ManualAction, by: Attribution): Promise<ActionOutcome>;
  history(rolloutId: string): Promise<RolloutHistory | undefined>;
  close(): Promise<void>;
}

/** What a command knows when it opens the store. */
export interface OpenStoreContext {
  /** The rollout definition given with `--config`, when there is one (routing, notifications). */
  readonly definition?: RolloutDefinition;
  /** Create the store when it does not exist (`rollout start`); otherwise a missing store is an error. */
  readonly create?: boolean;
}

/** Opens the store at a path (the SQLite file of the controller). */
export type OpenStore = (path: string, context: OpenStoreContext) => Promise<CliStore>;
