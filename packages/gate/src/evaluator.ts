import type { GateResult } from './types.js';

/** JSON-serialisable value (gate state is persisted by the controller between ticks). */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** What the controller tells the gate at each evaluation. */
export interface GateContext {
  readonly rolloutId: string;
  readonly flagKey: string;
  readonly canaryRelease: string;
  readonly stableRelease: string;
  /** Epoch milliseconds when the rollout started (the canary first received traffic). */
  readonly startedAtMillis: number;
  readonly nowMillis: number;
  /** Current canary share in basis points (0..10000). */
  readonly canaryBasisPoints: number;
  /** Current control share in basis points (0..10000). */
  readonly controlBasisPoints: number;
  /** The state returned by the previous evaluation of this rollout (absent on the first). */
  readonly state?: JsonValue;
}

/** One evaluation: the verdict with its evidence, and the gate's state to persist. */
export interface GateEvaluation {
  readonly result: GateResult;
  /** Opaque, JSON-serialisable; the controller stores it and passes it back next time. */
  readonly state: JsonValue;
}

/** The quality gate as the controller sees it. */
export interface GateEvaluator {
  evaluate(context: GateContext): Promise<GateEvaluation>;
  /** Metric snapshots of every cohort, kept in the post-mortem after a rollback. */
  snapshot?(context: GateContext): Promise<JsonValue>;
}
