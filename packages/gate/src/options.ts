/**
 * The gate's vocabulary and options: modes, units, check names, the options a person
 * writes (`GateOptions`) and the resolved shape the checks read (`GateConfig`). Defaults
 * and validation are in config.ts.
 */

/** How the gate decides: anytime-valid tests (default) or the article's weighted score. */
export const GATE_MODE = {
  /** Canary-vs-control e-processes plus absolute thresholds. */
  sequential: 'sequential',
  /** The article's weighted PASS/WARN/FAIL score of threshold checks (compatibility). */
  weighted: 'weighted',
} as const;
export type GateMode = (typeof GATE_MODE)[keyof typeof GATE_MODE];

/**
 * How much evidence an evaluation computes. Decisions (verdict, failure flags, state)
 * are identical in both modes.
 */
export const GATE_EVIDENCE = {
  /** Every check's reason, effect bounds (bisection) and quantiles: what people read. */
  full: 'full',
  /**
   * Only what the decision needs; a failing check still gets its full evidence, the
   * others a verdict and an empty reason. For simulations and high-frequency ticks.
   */
  decision: 'decision',
} as const;
export type GateEvidence = (typeof GATE_EVIDENCE)[keyof typeof GATE_EVIDENCE];

/** Unit of analysis of a check. */
export const ANALYSIS_UNIT = {
  /**
   * One observation per subject (the unit of randomisation: a user under sticky routing),
   * counted in the cohort it entered: valid however a user's requests are correlated.
   */
  subject: 'subject',
  /** One observation per request (turn). Only for routing that is not sticky. */
  request: 'request',
  /** One observation per tool call (request-unit tool checks). */
  toolCall: 'tool_call',
} as const;
export type AnalysisUnit = (typeof ANALYSIS_UNIT)[keyof typeof ANALYSIS_UNIT];

/** Units a person may choose for a check. */
export type ConfigurableUnit = typeof ANALYSIS_UNIT.subject | typeof ANALYSIS_UNIT.request;

/** Names of the gate's checks, as they appear in evidence. */
export const GATE_CHECK = {
  latencyP99: 'latency_p99',
  errorRate: 'error_rate',
  toolSuccessRate: 'tool_success_rate',
  refusalRate: 'refusal_rate',
  similarity: 'similarity',
  toxicity: 'toxicity',
  thumbsDownRate: 'thumbs_down_rate',
  toolMix: 'tool_mix',
  responseLength: 'response_length',
  sampleRatio: 'sample_ratio',
} as const;
export type GateCheckName = (typeof GATE_CHECK)[keyof typeof GATE_CHECK];

/** Options shared by every check. */
export interface CheckOptions {
  /** @default true */
  readonly enabled?: boolean;
  /**
   * Observe only: the check is computed and shown in status, report and notifications, but
   * never fails the gate (as Argo Rollouts' dry-run metrics). To try a new check on live
   * traffic before it may roll back.
   * @default false
   */
  readonly observe?: boolean;
  /**
   * Relative share of the sequential part of `alphaTotal` for this check's canary-vs-control
   * test. Shares of the enabled checks are normalised (Bonferroni, valid under any
   * dependence). 0 turns the test off and keeps the threshold.
   * @default error 0.25, refusal 0.2, tool mix 0.2, tool success 0.1, latency 0.1, similarity 0.05, response length 0.05, thumbs-down 0.05
   */
  readonly alphaShare?: number;
  /**
   * Unit of analysis. `subject` (one observation per user, counted in the cohort the user
   * entered) is valid under sticky routing; `request` treats requests as independent and
   * is for routing that is not sticky (every request drawn anew) only.
   * @default 'subject'
   */
  readonly unit?: ConfigurableUnit;
  /** Weight in `weighted` mode. @default 2 for error and tool success, 1 for the others */
  readonly weight?: number;
}

/** A rate of adverse events (error, tool failure, refusal, thumbs-down). */
export interface RateCheckOptions extends CheckOptions {
  /**
   * Absolute limit on the canary's rate (fraction 0..1); for tool success a minimum. With
   * `unit: 'subject'` the rate is over each user's first observation (first turn, first
   * tool call, first rating).
   * @default error 0.01, refusal 0.05, tool success 0.95 (a minimum), thumbs-down none
   */
  readonly limit?: number;
  /**
   * Largest relative risk (canary/control) still acceptable: promotion readiness needs the
   * anytime upper bound below it.
   * @default 1.5
   */
  readonly maxRelativeRisk?: number;
}

/** p99 latency. */
export interface LatencyCheckOptions extends CheckOptions {
  /** Limit on the canary's p99 in milliseconds (subject unit: of each user's first turn). @default 3000 */
  readonly maxMillis?: number;
}

/** Similarity of canary answers to control answers (0..1). */
export interface SimilarityCheckOptions extends CheckOptions {
  /** Minimum mean similarity; answers at or below it are the test's adverse events. @default 0.85 */
  readonly min?: number;
  /** @default 1.5 */
  readonly maxRelativeRisk?: number;
}

/** Toxicity score (0..1); threshold only: there is no control comparison to bet on. */
export interface ToxicityCheckOptions extends CheckOptions {
  /** Limit on the canary's mean toxicity. @default 0.1 */
  readonly max?: number;
}

/** Drift of tool use, canary vs control. */
export interface ToolMixCheckOptions extends CheckOptions {
  /**
   * Materiality: the change of a tool's share (of users' first tool calls) that the check
   * tolerates (below it: a doubling). The test's null is "no change larger than this", so a
   * rejection proves a larger one; a point estimate past it without that proof never fails.
   * One point keeps proven-but-trivial drifts of very large populations from rolling back,
   * and costs little evidence on the 5-point shifts the check is there to catch. The share
   * of users who switch tools between their first and second call is tested without a
   * tolerance: any proven rise of switching fails.
   * @default 0.01
   */
  readonly maxShareDrift?: number;
}

/** Drift of the response-length distribution, canary vs control. */
export interface ResponseLengthCheckOptions extends CheckOptions {
  /**
   * Materiality: the KS distance between the canary's and control's length distributions
   * the check tolerates; the test's null is "KS at most this", so a rejection proves more.
   * @default 0.05
   */
  readonly maxKsDistance?: number;
}

/** Warm-up: only the sample-ratio test runs; the stable references freeze at its end. */
export interface WarmupOptions {
  /** Warm-up ends after this time, or earlier once both request minima are met. @default 60000 */
  readonly minMillis?: number;
  /** @default 500 */
  readonly minStableRequests?: number;
  /** @default 50 */
  readonly minCanaryRequests?: number;
  /** Stable observations needed to freeze a latency, length or tool reference. @default 20 */
  readonly minReferenceSamples?: number;
}

/** Sample-ratio-mismatch test on (stable, canary, control) counts. */
export interface SampleRatioOptions {
  /** @default true */
  readonly enabled?: boolean;
  /** @default 0.001 */
  readonly alpha?: number;
  /** @default 'subject' */
  readonly unit?: ConfigurableUnit;
  /**
   * Time after the first split during which the test does not count: flag systems that
   * poll (flagd file mode, about 5 s; Unleash clients, their refresh interval) keep serving
   * the old split for a while, which would read as a mismatch. Pair it with `unit: 'request'`:
   * users first seen while routing settled come back later as new subjects of their real
   * cohort, which the subject count would read as a mismatch too. @default 0
   */
  readonly settleMillis?: number;
}

/** Options of the quality gate. */
export interface GateOptions {
  /** @default 'sequential' */
  readonly mode?: GateMode;
  /** Evidence computed per evaluation (see {@link GATE_EVIDENCE}). @default 'full' */
  readonly evidence?: GateEvidence;
  /**
   * Probability that the gate fails a canary that is as good as control (and meets every
   * limit) at any time of the rollout, at any cadence: sequential tests and thresholds
   * together (Bonferroni). @default 0.01
   */
  readonly alphaTotal?: number;
  /**
   * Share of `alphaTotal` for the absolute thresholds, split equally among the enabled
   * ones; the rest goes to the sequential tests by `alphaShare`. A threshold fails only
   * when the anytime-valid bound on the canary's value is past its limit; a point estimate
   * past it without that evidence warns. `weighted` mode keeps the article's point estimates.
   * @default 0.1
   */
  readonly thresholdAlphaShare?: number;
  /** Minimum canary and control units (subjects or requests) before a pass. @default 50 */
  readonly minSamples?: number;
  /** A passing threshold check within this fraction of its limit warns. @default 0.1 */
  readonly warnMarginFraction?: number;
  readonly warmup?: WarmupOptions;
  readonly sampleRatio?: SampleRatioOptions;
  /** Promotion readiness: canary requests after which power suffices. @default 3000 */
  readonly maxExposureRequests?: number;
  /** Weighted mode score cut-offs. @default { passScore: 0.8, warnScore: 0.5 } */
  readonly weighted?: { readonly passScore?: number; readonly warnScore?: number };
  readonly checks?: {
    readonly latencyP99?: LatencyCheckOptions;
    readonly errorRate?: RateCheckOptions;
    readonly toolSuccessRate?: RateCheckOptions;
    readonly refusalRate?: RateCheckOptions;
    readonly similarity?: SimilarityCheckOptions;
    readonly toxicity?: ToxicityCheckOptions;
    readonly thumbsDownRate?: RateCheckOptions;
    readonly toolMix?: ToolMixCheckOptions;
    readonly responseLength?: ResponseLengthCheckOptions;
  };
}

/** Resolved options common to every check. */
export interface ResolvedCheck {
  readonly name: GateCheckName;
  readonly enabled: boolean;
  readonly observe: boolean;
  readonly unit: ConfigurableUnit;
  readonly alphaShare: number;
  /** This check's alpha for its sequential test after the split (0 without one). */
  readonly alpha: number;
  /** This check's alpha for its threshold after the split (0 without a limit). */
  readonly thresholdAlpha: number;
  readonly weight: number;
}

/** A resolved rate check. `limit` is a maximum except for tool success (a minimum). */
export interface RateCheckConfig extends ResolvedCheck {
  readonly limit: number | undefined;
  readonly maxRelativeRisk: number;
}
export interface LatencyCheckConfig extends ResolvedCheck {
  readonly maxMillis: number;
}
export interface SimilarityCheckConfig extends ResolvedCheck {
  readonly min: number;
  readonly maxRelativeRisk: number;
}
export interface ToxicityCheckConfig extends ResolvedCheck {
  readonly max: number;
}
export interface ToolMixCheckConfig extends ResolvedCheck {
  readonly maxShareDrift: number;
}
export interface ResponseLengthCheckConfig extends ResolvedCheck {
  readonly maxKsDistance: number;
}

/** The gate's resolved configuration (see `GateOptions` for meanings and defaults). */
export interface GateConfig {
  readonly mode: GateMode;
  readonly evidence: GateEvidence;
  readonly alphaTotal: number;
  readonly thresholdAlphaShare: number;
  readonly minSamples: number;
  readonly warnMarginFraction: number;
  readonly warmup: Required<WarmupOptions>;
  readonly sampleRatio: Required<SampleRatioOptions>;
  readonly maxExposureRequests: number;
  readonly weighted: { readonly passScore: number; readonly warnScore: number };
  readonly checks: {
    readonly latencyP99: LatencyCheckConfig;
    readonly errorRate: RateCheckConfig;
    readonly toolSuccessRate: RateCheckConfig;
    readonly refusalRate: RateCheckConfig;
    readonly similarity: SimilarityCheckConfig;
    readonly toxicity: ToxicityCheckConfig;
    readonly thumbsDownRate: RateCheckConfig;
    readonly toolMix: ToolMixCheckConfig;
    readonly responseLength: ResponseLengthCheckConfig;
  };
}
