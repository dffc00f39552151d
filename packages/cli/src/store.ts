/**
 * What the CLI needs from the controller's durable store. The commands are written
 * against this small interface; `controller-store.ts` adapts the controller package's
 * store to it, and tests use an in-memory implementation.
 */

import {
  MANUAL_ACTION as CONTROLLER_MANUAL_ACTION,
  type ManualAction as ControllerManualAction,
} from '@agent-canary/controller';
import type { RolloutHistory, RolloutSummary } from '@agent-canary/server';
import type { RolloutDefinition } from './config.js';

// The rollout model is the report's (one definition for the CLI, the report and the dashboard).
export type {
  EvaluationRecord,
  RolloutHistory,
  RolloutOutcome,
  RolloutSummary,
  ToolMix,
  TransitionRecord,
} from '@agent-canary/server';
export { ROLLOUT_OUTCOME } from '@agent-canary/server';

/** Manual actions a person can take on a rollout: the controller's own set. */
export const MANUAL_ACTION = CONTROLLER_MANUAL_ACTION;
/** One of {@link MANUAL_ACTION}. */
export type ManualAction = ControllerManualAction;

/** Who did something and why (kept in the audit log). */
export interface Attribution {
  readonly actor: string;
  readonly reason: string;
}

/** The answer to a manual action: refused actions say why. */
export interface ActionOutcome {
  readonly accepted: boolean;
  readonly reason: string;
  readonly rollout?: RolloutSummary;
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
