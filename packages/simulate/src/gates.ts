/**
 * The baselines the benchmark compares our gate with (statistics.md §6): the article's
 * moving-average gate, a Kayenta-style fixed-interval judge and the oracle SPRT. Our
 * own gate is not here: the simulation runs the real `createGate` (see `run.ts`).
 */
import { canaryEventProbability, waldBoundaries } from '@agent-canary/stats';
import { BASELINE_LAW, type OracleSpec, Z_99 } from './scenarios.js';
import type { Outcome } from './traffic.js';

/** The gates of the benchmark. */
export const GATE = {
  /** (a) The article's gate: moving averages of the last 100 canary values, weights 2/2/1/1, 3 consecutive FAILs. */
  naive: 'naive',
  /** (a′) The same, but any failing metric fails the check. */
  naiveAny: 'naive-any',
  /** (b) Kayenta-style: every 300 canary requests, z > 3.10 on cumulative per-request data. */
  kayenta: 'kayenta',
  /** (b-cal) The same at z > 3.3 (about 1% false alarms over the horizon, statistics.md §7). */
  kayentaCalibrated: 'kayenta-cal',
  /** (c) Our gate (`createGate`), every 5 s; rolls back on a sequential failure. */
  ours: 'ours',
  /** (c) Our gate with the controller's full rule: also 3 consecutive absolute-threshold failures. */
  oursThresholds: 'ours-thresholds',
  /** (c) Our gate counting requests instead of subjects (sticky scenarios only: shows the over-count). */
  oursRequest: 'ours-request',
  /** (d2) Label-oracle SPRT that knows the true effect, α = 0.01, power one: the lower bound. */
  oracle: 'oracle',
  /**
   * (d2-α_k) The same oracle at the alpha our gate gives the affected check: the gap to
   * it is the price of not knowing the effect size; the rest is the Bonferroni split.
   */
  oracleSplit: 'oracle-split',
} as const;
export type GateId = (typeof GATE)[keyof typeof GATE];

/** All gate ids, in report order. */
export const GATE_IDS: readonly GateId[] = Object.freeze(Object.values(GATE));

/** Labels of the gates in tables and plots. */
export const GATE_LABELS: Readonly<Record<GateId, string>> = Object.freeze({
  naive: '(a) article: moving avg, weighted, 3 fails',
  'naive-any': '(a′) article, any metric fails',
  kayenta: '(b) Kayenta-style z>3.10 / 300 req',
  'kayenta-cal': '(b-cal) Kayenta-style z>3.3 / 300 req',
  ours: '(c) agent-canary gate, sequential',
  'ours-thresholds': '(c+t) agent-canary gate + thresholds',
  'ours-request': '(c-req) agent-canary gate, request unit',
  oracle: '(d2) label-oracle SPRT, α = 0.01',
  'oracle-split': '(d2-α_k) label-oracle SPRT at the check’s α',
});

/** The article's limits, as statistics.md §6 (a) sets them for this traffic. */
export const NAIVE_LIMITS = Object.freeze({
  window: 100,
  everyCanaryRequests: 10,
  minToolSuccess: 0.92,
  maxErrorRate: 0.02,
  maxRefusalRate: 0.04,
  /** p99 of the last 100 (their second largest) ≤ 1.2 × the baseline p99. */
  maxP99Millis: 1.2 * BASELINE_LAW.latencyMedianMillis * Math.exp(BASELINE_LAW.latencySigma * Z_99),
  weights: Object.freeze({ tool: 2, error: 2, refusal: 1, latency: 1 }),
  failBelowShare: 0.5,
  consecutiveFailures: 3,
});

/** A gate fed request by request. */
export interface RequestGate {
  /** Returns true when the gate decides to roll back. */
  observe(canary: boolean, outcome: Outcome, canaryRequests: number): boolean;
}

/** (a) / (a′): the article's moving-average gate on canary traffic only. */
export class NaiveGate implements RequestGate {
  private readonly errors = new Uint8Array(NAIVE_LIMITS.window);
  private readonly refusals = new Uint8Array(NAIVE_LIMITS.window);
  private readonly latencies = new Float64Array(NAIVE_LIMITS.window);
  private readonly toolSuccess = new Uint8Array(NAIVE_LIMITS.window);
  private requests = 0;
  private toolCalls = 0;
  private failures = 0;

  /** `anyMetricFails`: (a′) instead of the weighted score. */
  constructor(private readonly anyMetricFails: boolean) {}

  observe(canary: boolean, outcome: Outcome, canaryRequests: number): boolean {
    if (!canary) return false;
    const slot = this.requests % NAIVE_LIMITS.window;
    this.errors[slot] = outcome.error ? 1 : 0;
    this.refusals[slot] = outcome.refusal ? 1 : 0;
    this.latencies[slot] = outcome.latencyMillis;
    this.requests += 1;
    if (outcome.tool >= 0) {
      this.toolSuccess[this.toolCalls % NAIVE_LIMITS.window] = outcome.toolFailed ? 0 : 1;
      this.toolCalls += 1;
    }
    if (canaryRequests < NAIVE_LIMITS.window || canaryRequests % NAIVE_LIMITS.everyCanaryRequests !== 0) return false;
    const failed = this.check();
    this.failures = failed ? this.failures + 1 : 0;
    return this.failures >= NAIVE_LIMITS.consecutiveFailures;
  }

  private check(): boolean {
    const n = NAIVE_LIMITS.window;
    let errors = 0;
    let refusals = 0;
    let largest = 0;
    let second = 0;
    for (let i = 0; i < n; i += 1) {
      errors += this.errors[i] ?? 0;
      refusals += this.refusals[i] ?? 0;
      const latency = this.latencies[i] ?? 0;
      if (latency > largest) {
        second = largest;
        largest = latency;
      } else if (latency > second) second = latency;
    }
    const tools = Math.min(this.toolCalls, n);
    let successes = 0;
    for (let i = 0; i < tools; i += 1) successes += this.toolSuccess[i] ?? 0;
    const { weights } = NAIVE_LIMITS;
    const passes = {
      tool: tools === 0 || successes / tools >= NAIVE_LIMITS.minToolSuccess,
      error: errors / n <= NAIVE_LIMITS.maxErrorRate,
      refusal: refusals / n <= NAIVE_LIMITS.maxRefusalRate,
      latency: second <= NAIVE_LIMITS.maxP99Millis,
    };
    if (this.anyMetricFails) return !(passes.tool && passes.error && passes.refusal && passes.latency);
    const total = weights.tool + weights.error + weights.refusal + weights.latency;
    const passing =
      (passes.tool ? weights.tool : 0) +
      (passes.error ? weights.error : 0) +
      (passes.refusal ? weights.refusal : 0) +
      (passes.latency ? weights.latency : 0);
    return passing / total < NAIVE_LIMITS.failBelowShare;
  }
}

/** Kayenta-style judge settings. */
export const KAYENTA = Object.freeze({
  everyCanaryRequests: 300,
  defaultZ: 3.1,
  calibratedZ: 3.3,
});

// Latency keys at 1% relative accuracy, as a DDSketch would bucket them: ties at that
// resolution only (the Mann–Whitney normal approximation is tie-corrected).
const LOG_GAMMA = Math.log(1.01 / 0.99);
const LATENCY_KEYS = 1024;

function latencyKey(millis: number): number {
  const key = Math.ceil(Math.log(Math.max(millis, 1)) / LOG_GAMMA);
  return Math.min(Math.max(key, 0), LATENCY_KEYS - 1);
}

class KayentaArm {
  requests = 0;
  errors = 0;
  refusals = 0;
  toolCalls = 0;
  toolFailures = 0;
  readonly latency = new Int32Array(LATENCY_KEYS);
}

/** One-sided two-proportion z (pooled): positive when the canary's rate is higher. */
export function twoProportionZ(canaryEvents: number, canaryN: number, controlEvents: number, controlN: number): number {
  if (canaryN === 0 || controlN === 0) return 0;
  const pooled = (canaryEvents + controlEvents) / (canaryN + controlN);
  const variance = pooled * (1 - pooled) * (1 / canaryN + 1 / controlN);
  return variance > 0 ? (canaryEvents / canaryN - controlEvents / controlN) / Math.sqrt(variance) : 0;
}

/**
 * Tie-corrected Mann–Whitney z of canary vs control over shared bucket keys: positive
 * when the canary's values are larger.
 */
export function mannWhitneyZ(canary: ArrayLike<number>, control: ArrayLike<number>): number {
  let n1 = 0;
  let n2 = 0;
  let u = 0;
  let ties = 0;
  for (let key = 0; key < canary.length; key += 1) {
    const a = canary[key] ?? 0;
    const b = control[key] ?? 0;
    if (a === 0 && b === 0) continue;
    u += a * (n2 + b / 2);
    n1 += a;
    n2 += b;
    const t = a + b;
    ties += t * t * t - t;
  }
  const n = n1 + n2;
  if (n1 === 0 || n2 === 0 || n < 2) return 0;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  return variance > 0 ? (u - (n1 * n2) / 2) / Math.sqrt(variance) : 0;
}

/** (b) / (b-cal): fixed-interval judge, every metric critical, one-sided "canary worse". */
export class KayentaGate implements RequestGate {
  private readonly canary = new KayentaArm();
  private readonly control = new KayentaArm();

  constructor(private readonly threshold: number) {}

  observe(canary: boolean, outcome: Outcome, canaryRequests: number): boolean {
    const arm = canary ? this.canary : this.control;
    arm.requests += 1;
    if (outcome.error) arm.errors += 1;
    if (outcome.refusal) arm.refusals += 1;
    if (outcome.tool >= 0) {
      arm.toolCalls += 1;
      if (outcome.toolFailed) arm.toolFailures += 1;
    }
    const key = latencyKey(outcome.latencyMillis);
    arm.latency[key] = (arm.latency[key] ?? 0) + 1;
    if (!canary || canaryRequests % KAYENTA.everyCanaryRequests !== 0) return false;
    return this.zScores().some((z) => z > this.threshold);
  }

  /** z of tool failure, error, refusal and latency at this look. */
  zScores(): number[] {
    const a = this.canary;
    const b = this.control;
    return [
      twoProportionZ(a.toolFailures, a.toolCalls, b.toolFailures, b.toolCalls),
      twoProportionZ(a.errors, a.requests, b.errors, b.requests),
      twoProportionZ(a.refusals, a.requests, b.refusals, b.requests),
      mannWhitneyZ(a.latency, b.latency),
    ];
  }
}

/** Type-I error of the oracle SPRT (power one: it stops only to reject). */
export const ORACLE_ALPHA = 0.01;

/**
 * (d2) The label oracle: with the true laws of both arms known, it bets on each
 * observation's arm label with the exact likelihood ratio, against ρ0. For rate
 * scenarios it sees adverse events only, as in statistics.md §7 (θ1 from the true
 * relative risk); for a log-normal or categorical outcome each observation's label
 * probability ρ0·L/(ρ0·L + 1 − ρ0), L = f1(y)/f0(y). Evaluated after every request.
 */
export class OracleGate implements RequestGate {
  private logLikelihoodRatio = 0;
  private readonly boundary: number;
  private readonly logRho: number;
  private readonly logOneMinusRho: number;

  constructor(
    private readonly spec: OracleSpec,
    private readonly rho0: number,
    alpha: number = ORACLE_ALPHA,
  ) {
    this.boundary = waldBoundaries(alpha).upper;
    this.logRho = Math.log(rho0);
    this.logOneMinusRho = Math.log(1 - rho0);
  }

  observe(canary: boolean, outcome: Outcome): boolean {
    const spec = this.spec;
    if (spec.kind === 'rate') {
      const adverse =
        spec.signal === 'error' ? outcome.error : spec.signal === 'refusal' ? outcome.refusal : outcome.toolFailed;
      if (!adverse) return false;
      const theta1 = canaryEventProbability(this.rho0, spec.p1 / spec.p0);
      this.logLikelihoodRatio += canary ? Math.log(theta1 / this.rho0) : Math.log((1 - theta1) / (1 - this.rho0));
    } else {
      let logL: number;
      if (spec.kind === 'categorical') {
        const category = outcome.tool + 1;
        logL = Math.log((spec.p1[category] ?? 0) / (spec.p0[category] ?? 1));
      } else {
        const x = spec.outcome === 'latency' ? outcome.latencyLog : outcome.lengthLog;
        const base =
          spec.outcome === 'latency' ? Math.log(BASELINE_LAW.latencyMedianMillis) : Math.log(BASELINE_LAW.lengthMedian);
        const d0 = (x - base) / spec.sigma0;
        const d1 = (x - base - spec.shift) / spec.sigma1;
        logL = Math.log(spec.sigma0 / spec.sigma1) - 0.5 * d1 * d1 + 0.5 * d0 * d0;
      }
      // ln(ρ0·L + 1 − ρ0), stable for large |ln L|.
      const a = this.logRho + logL;
      const b = this.logOneMinusRho;
      const logMix = Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
      this.logLikelihoodRatio += canary ? logL - logMix : -logMix;
    }
    return this.logLikelihoodRatio >= this.boundary;
  }
}
