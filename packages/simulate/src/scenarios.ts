/**
 * Traffic model and scenarios of the benchmark: users as they are. A fixed population of
 * users with Zipf-like activity, each routed by a hash of its id (sticky), each with habits
 * of its own — its own error, tool-failure, refusal and thumbs-down propensities drawn
 * around the base rates, a usual tool it calls most of the time, its own latency and
 * answer-length level, its own similarity and toxicity level. A concentration κ sets how
 * different users are: κ = 5 strongly habitual users, κ = 1000 nearly identical ones.
 * A scenario changes what the canary does to each user; control and stable keep the base.
 */

/** Tool names, and the share of users whose usual tool each one is. */
export const TOOLS = Object.freeze(['search', 'db', 'code', 'email', 'calendar'] as const);
export const TOOL_SHARES: readonly number[] = Object.freeze([0.4, 0.25, 0.15, 0.1, 0.1]);

/**
 * Population means of the users' propensities. They sit AT the gate's default limits
 * where one exists (error 1%, tool success 95%, p99 latency 3 s, mean similarity 0.85,
 * mean toxicity 0.1), so identical canaries also test that a threshold at its limit
 * fails no more often than its alpha. Refusal stays at 2% (the detection scenario's base).
 */
export const BASE_RATES = Object.freeze({
  errorRate: 0.01,
  /** P(a request calls a tool). */
  toolCallRate: 0.9,
  toolFailureRate: 0.05,
  refusalRate: 0.02,
  /** P(a tool call uses the user's usual tool); otherwise a tool drawn from `TOOL_SHARES`. */
  usualToolChoice: 0.95,
  /** p99 of a user's first turn over the population, ms. */
  latencyP99Millis: 3000,
  /** Spread of one user's latencies (log-normal σ). */
  latencySigma: 0.5,
  lengthMedian: 300,
  lengthSigma: 0.6,
  /** Share of answers scored for similarity and toxicity. */
  scoredShare: 0.2,
  similarityMean: 0.85,
  toxicityMean: 0.1,
  /** Share of requests that get a rating, and P(thumbs-down | rating). */
  feedbackShare: 0.1,
  thumbsDownRate: 0.03,
});

/** How users differ: the concentration of their propensities and the skew of their activity. */
export interface Heterogeneity {
  /** κ: per-user propensities ~ Beta(κ·p, κ·(1 − p)); latency and length levels log-normal with variance 0.5/κ and 0.3/κ. */
  readonly concentration: number;
  /** s: user k (by activity rank) sends a share of requests ∝ 1/k^s. */
  readonly zipfExponent: number;
}

/** The heterogeneity grid of the A/A and detection benchmarks (3 × 3). */
export const HETEROGENEITY_GRID: readonly Heterogeneity[] = Object.freeze(
  [5, 50, 1000].flatMap((concentration) =>
    [0.8, 1.1, 1.5].map((zipfExponent) => Object.freeze({ concentration, zipfExponent })),
  ),
);

/** Canary shares of the benchmark in basis points; control gets as much (the default layout). */
export const CANARY_SHARES: readonly number[] = Object.freeze([500, 5000]);

/** Traffic shape: population, arrivals, cadence, horizon. */
export const TRAFFIC_DEFAULTS = Object.freeze({
  users: 10_000,
  /** Poisson arrivals of all cohorts. */
  requestsPerSecond: 20,
  /** The controller's cadence. */
  evaluationMillis: 5_000,
  /** Stable outcomes are drawn while the gate may still freeze its references from them. */
  stableOutcomeMillis: 120_000,
  /** A run ends at this many canary requests or this long, whichever comes first. */
  horizonCanaryRequests: 7200,
  horizonMillis: 2 * 60 * 60 * 1000,
  /**
   * Effect runs follow our gate to this multiple of the horizon while the oracle stops at
   * it: a median of ours up to 1.5× an oracle median inside the horizon is then measured,
   * not cut off. Power is counted within the horizon, as the oracle's.
   */
  effectFollowUp: 1.5,
});

/** What the canary does to each user's behaviour (absent: as control). */
export interface CanaryEffect {
  /** Multiplies each user's error propensity (capped at 1). */
  readonly errorFactor?: number;
  /** Adds failures: P(error) becomes 1 − (1 − p)(1 − extra). */
  readonly extraErrorRate?: number;
  readonly refusalFactor?: number;
  /** Multiplies each user's usual-tool choice probability. */
  readonly usualToolFactor?: number;
}

/** The per-user event stream the oracle analyses for a scenario (the one its check reads). */
export const ORACLE_STREAM = {
  /** Subjects' first failed turn. */
  error: 'error',
  /** Subjects' first refusal. */
  refusal: 'refusal',
  /** Subjects whose second tool call used another tool than their first. */
  toolSwitch: 'tool_switch',
} as const;
export type OracleStream = (typeof ORACLE_STREAM)[keyof typeof ORACLE_STREAM];

/** One benchmark scenario. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly canary: CanaryEffect;
  /** Does the canary differ from control? (false: false-rollback runs) */
  readonly effect: boolean;
  /** Effect scenarios: the stream the oracle bets on, and the gate check that watches it. */
  readonly oracle?: { readonly stream: OracleStream; readonly check: string };
}

/** Scenarios, in report order. */
export const SCENARIOS: readonly Scenario[] = Object.freeze([
  { id: 'aa', title: 'A/A (identical canary)', canary: {}, effect: false },
  {
    id: 'error',
    title: 'error 1% → 3%',
    canary: { errorFactor: 3 },
    effect: true,
    oracle: { stream: ORACLE_STREAM.error, check: 'error_rate' },
  },
  {
    id: 'usual-tool',
    title: 'usual-tool choice 95% → 90%',
    canary: { usualToolFactor: 0.9 / 0.95 },
    effect: true,
    oracle: { stream: ORACLE_STREAM.toolSwitch, check: 'tool_mix' },
  },
  {
    id: 'refusal',
    title: 'refusal 2% → 6%',
    canary: { refusalFactor: 3 },
    effect: true,
    oracle: { stream: ORACLE_STREAM.refusal, check: 'refusal_rate' },
  },
  {
    id: 'hard-break',
    title: 'error 1% → 20% (hard break)',
    canary: { extraErrorRate: (0.2 - 0.01) / (1 - 0.01) },
    effect: true,
    oracle: { stream: ORACLE_STREAM.error, check: 'error_rate' },
  },
] satisfies Scenario[]);

/** Scenario ids, for option parsing. */
export const SCENARIO_IDS: readonly string[] = SCENARIOS.map((scenario) => scenario.id);
