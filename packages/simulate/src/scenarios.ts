/**
 * Traffic model and scenarios of the detection benchmark (statistics.md §6). Every
 * cohort draws from the baseline law; a scenario changes the canary's law only.
 */

/** Tool names in the order of the cumulative shares below. */
export const TOOLS = Object.freeze(['search', 'db', 'code', 'email', 'calendar'] as const);

/** Outcome law of one cohort. */
export interface OutcomeLaw {
  /** P(turn error). */
  readonly errorRate: number;
  /** P(the request calls a tool). */
  readonly toolCallRate: number;
  /** Shares of `TOOLS` among tool calls (sum 1). */
  readonly toolShares: readonly number[];
  /** P(tool call fails). */
  readonly toolFailureRate: number;
  readonly refusalRate: number;
  /** Median latency in ms: latency = median · e^{σZ}. */
  readonly latencyMedianMillis: number;
  readonly latencySigma: number;
  /** Median answer length in characters: round(median · e^{σZ'}). */
  readonly lengthMedian: number;
  readonly lengthSigma: number;
  /** Share of requests scored for similarity to control (Beta(8, 2) scores). */
  readonly similarityShare: number;
  /** Share of requests that get feedback, and P(thumbs-down | feedback). */
  readonly feedbackShare: number;
  readonly thumbsDownRate: number;
}

/** The baseline law of statistics.md §6 (stable, control and the A/A canary). */
export const BASELINE_LAW: OutcomeLaw = Object.freeze({
  errorRate: 0.01,
  toolCallRate: 0.9,
  toolShares: Object.freeze([0.4, 0.25, 0.15, 0.1, 0.1]),
  toolFailureRate: 0.05,
  refusalRate: 0.02,
  latencyMedianMillis: 1500,
  latencySigma: 1,
  lengthMedian: 300,
  lengthSigma: 0.6,
  similarityShare: 0.2,
  feedbackShare: 0.1,
  thumbsDownRate: 0.03,
});

/** The 99th percentile of the standard normal: the baseline p99 is median · e^{σ·z99}. */
export const Z_99 = 2.326_347_874;

/** Traffic shape: arrivals, split, warm-up (statistics.md §6). */
export const TRAFFIC_DEFAULTS = Object.freeze({
  /** Poisson arrivals of all cohorts. */
  requestsPerSecond: 20,
  /** Canary and control shares in basis points (90/5/5). */
  canaryBasisPoints: 500,
  controlBasisPoints: 500,
  /** Stable outcomes are simulated only while they can still become the gate's reference. */
  stableOutcomeMillis: 60_000,
  /** The controller's cadence. */
  evaluationMillis: 5_000,
  /** Sticky variant: users and Zipf exponent. */
  users: 2000,
  zipfExponent: 1.1,
  /** Sticky variant: per-user error propensity ~ Beta(a, b), mean a/(a+b) = 1%. */
  userErrorBeta: Object.freeze([0.5, 49.5] as const),
});

/** How the oracle SPRT sees a scenario: the one outcome it knows the law of. */
export type OracleSpec =
  | {
      /** Adverse events of a rate (label oracle of statistics.md §6 d2: θ1 from the true RR). */
      readonly kind: 'rate';
      readonly signal: 'error' | 'tool' | 'refusal';
      readonly p0: number;
      readonly p1: number;
    }
  | {
      /** A log-normal outcome (log latency or log length) with known laws in both arms. */
      readonly kind: 'lognormal';
      readonly outcome: 'latency' | 'length';
      readonly shift: number;
      readonly sigma0: number;
      readonly sigma1: number;
    }
  | {
      /** The request's tool (or none) with known shares in both arms. */
      readonly kind: 'categorical';
      readonly p0: readonly number[];
      readonly p1: readonly number[];
    };

/** One benchmark scenario. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** The canary's law (control and stable keep `BASELINE_LAW`). */
  readonly canary: OutcomeLaw;
  /** Does the canary differ from control? (false: false-rollback runs) */
  readonly effect: boolean;
  /** User-sticky routing of Zipf users (variant U) instead of per-request routing. */
  readonly sticky: boolean;
  /** Horizon in canary requests, when the scenario needs another than the run's default. */
  readonly horizonCanaryRequests?: number;
  /** One of the moderate rate effects (tool, error, refusal) the 1.3× oracle target applies to. */
  readonly rate: boolean;
  readonly oracle?: OracleSpec;
}

const base = BASELINE_LAW;
const toolOracle = (shares: readonly number[], rate: number) => [1 - rate, ...shares.map((share) => rate * share)];

/** Scenarios of the issue, in report order. */
export const SCENARIOS: readonly Scenario[] = Object.freeze([
  { id: 'aa', title: 'A/A', canary: base, effect: false, sticky: false, rate: false },
  {
    id: 'tool',
    title: 'tool success 95% → 90%',
    canary: { ...base, toolFailureRate: 0.1 },
    effect: true,
    sticky: false,
    rate: true,
    oracle: { kind: 'rate', signal: 'tool', p0: 0.05, p1: 0.1 },
  },
  {
    id: 'error',
    title: 'error 1% → 3%',
    canary: { ...base, errorRate: 0.03 },
    effect: true,
    sticky: false,
    rate: true,
    oracle: { kind: 'rate', signal: 'error', p0: 0.01, p1: 0.03 },
  },
  {
    id: 'refusal',
    title: 'refusal 2% → 6%',
    canary: { ...base, refusalRate: 0.06 },
    effect: true,
    sticky: false,
    rate: true,
    oracle: { kind: 'rate', signal: 'refusal', p0: 0.02, p1: 0.06 },
  },
  {
    id: 'latency',
    title: 'latency ×1.2',
    canary: { ...base, latencyMedianMillis: base.latencyMedianMillis * 1.2 },
    effect: true,
    sticky: false,
    rate: false,
    oracle: { kind: 'lognormal', outcome: 'latency', shift: Math.log(1.2), sigma0: 1, sigma1: 1 },
  },
  {
    id: 'tail',
    title: 'tail-only p99 +20%',
    // σ such that e^{σ·z99} = 1.2·e^{z99}: the median stays, the p99 grows 20%.
    canary: { ...base, latencySigma: 1 + Math.log(1.2) / Z_99 },
    effect: true,
    sticky: false,
    rate: false,
    horizonCanaryRequests: 15_000,
    oracle: { kind: 'lognormal', outcome: 'latency', shift: 0, sigma0: 1, sigma1: 1 + Math.log(1.2) / Z_99 },
  },
  {
    id: 'hard-break',
    title: 'error 1% → 20% (hard break)',
    canary: { ...base, errorRate: 0.2 },
    effect: true,
    sticky: false,
    rate: false,
    oracle: { kind: 'rate', signal: 'error', p0: 0.01, p1: 0.2 },
  },
  {
    id: 'mix',
    title: 'tool-mix shift (search 40% → 30%, db 25% → 35%)',
    canary: { ...base, toolShares: [0.3, 0.35, 0.15, 0.1, 0.1] },
    effect: true,
    sticky: false,
    rate: false,
    oracle: {
      kind: 'categorical',
      p0: toolOracle(base.toolShares, base.toolCallRate),
      p1: toolOracle([0.3, 0.35, 0.15, 0.1, 0.1], base.toolCallRate),
    },
  },
  {
    id: 'length',
    title: 'answer length ×1.3',
    canary: { ...base, lengthMedian: base.lengthMedian * 1.3 },
    effect: true,
    sticky: false,
    rate: false,
    oracle: { kind: 'lognormal', outcome: 'length', shift: Math.log(1.3), sigma0: 0.6, sigma1: 0.6 },
  },
  {
    id: 'sticky-aa',
    title: 'A/A, sticky users (2,000 Zipf(1.1) users, own error propensities)',
    canary: base,
    effect: false,
    sticky: true,
    rate: false,
  },
] satisfies Scenario[]);

/** Scenario ids, for option parsing. */
export const SCENARIO_IDS: readonly string[] = SCENARIOS.map((scenario) => scenario.id);
