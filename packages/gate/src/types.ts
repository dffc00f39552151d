import type { Cohort, Verdict } from '@agent-canary/conventions';

/** How a check judged the canary. */
export const CHECK_METHOD = {
  /** Anytime-valid canary-vs-control test (e-process against 1/alpha). */
  sequential: 'sequential',
  /** Absolute threshold from the article, on the canary's measured value. */
  threshold: 'threshold',
  /** Drift of the canary's behaviour profile from control's (effect size). */
  drift: 'drift',
  /** Sample-ratio-mismatch test on the cohort sizes. */
  sampleRatio: 'sample_ratio',
} as const;
export type CheckMethod = (typeof CHECK_METHOD)[keyof typeof CHECK_METHOD];

/** Measured value of one metric in one cohort over the evaluated window. */
export interface CohortMeasurement {
  readonly cohort: Cohort;
  /** The metric's value (a rate as a fraction 0..1, a latency in ms, ...); absent without data. */
  readonly value?: number;
  /** Observations behind the value (subjects, requests or tool calls: see the check's `unit`). */
  readonly samples: number;
}

/** The evidence behind one check's verdict: what a person reads to understand a decision. */
export interface CheckEvidence {
  /** Check name, e.g. `error_rate`, `latency_p99`, `tool_mix`. */
  readonly check: string;
  readonly method: CheckMethod;
  readonly verdict: Verdict;
  /**
   * Unit of analysis of `samples`: `subject` (one observation per user, counted in the
   * cohort it entered), `request` or `tool_call`.
   */
  readonly unit: string;
  /** An observe-only check (`observe: true`): shown, never acted on. */
  readonly observeOnly?: boolean;
  readonly measurements: readonly CohortMeasurement[];
  /** Threshold checks: the limit the canary's value is compared with. */
  readonly threshold?: { readonly operator: '<' | '>'; readonly value: number };
  /** Sequential checks: the e-value against its rejection boundary 1/alpha. */
  readonly statistic?: { readonly eValue: number; readonly boundary: number; readonly alpha: number };
  /** Effect estimate when one exists (relative risk, quantile ratio, divergence). */
  readonly effect?: { readonly name: string; readonly value: number; readonly lower?: number; readonly upper?: number };
  /** One sentence a person can read. */
  readonly reason: string;
}

/** The gate's answer for one evaluation. */
export interface GateResult {
  readonly verdict: Verdict;
  /** A sequential test crossed its boundary: the controller rolls back at once. */
  readonly sequentialFailure: boolean;
  /** An absolute threshold failed in this evaluation (rollback after N consecutive). */
  readonly thresholdFailure: boolean;
  /** The sample-ratio test fired: verdicts are frozen, never promote. */
  readonly sampleRatioMismatch: boolean;
  /** Requests (turns) per cohort in the evaluated window. */
  readonly requests: Readonly<Record<Cohort, number>>;
  /** Distinct subjects (units of randomisation) per cohort in the window. */
  readonly subjects: Readonly<Record<Cohort, number>>;
  readonly checks: readonly CheckEvidence[];
  /**
   * On a pass: whether the evidence is enough to promote on (statistics.md §4: the tests never
   * "accept", so promotion needs the maximum exposure or tight upper bounds on every critical
   * rate). The controller does not promote while this is `false`. Absent when not computed
   * (decision-only evidence, used by simulations).
   */
  readonly promotionReady?: boolean;
  /** One-sentence summary of why the verdict is what it is. */
  readonly reason: string;
  /** Epoch milliseconds of the evaluation. */
  readonly evaluatedAtMillis: number;
}
