/**
 * One seeded run of one scenario: traffic is generated once and fed to every gate
 * (common random numbers), our gate through the real `createGate` and a metric
 * source that keeps the cumulative windows a behaviour processor would.
 */
import {
  ANALYSIS_UNIT,
  createGate,
  type GateConfig,
  type GateEvaluation,
  type GateEvaluator,
  type GateOptions,
  type JsonValue,
  resolveGateConfig,
} from '@agent-canary/gate';
import { createRng, hashString32, type Rng, zipfSampler } from '@agent-canary/stats';
import {
  GATE,
  type GateId,
  KAYENTA,
  KayentaGate,
  NAIVE_LIMITS,
  NaiveGate,
  OracleGate,
  type RequestGate,
} from './gates.js';
import { BASELINE_LAW, type OracleSpec, type Scenario, TRAFFIC_DEFAULTS } from './scenarios.js';
import { SimulatedMetricSource } from './source.js';
import { betaVariate, emptyOutcome, OutcomeDrawer } from './traffic.js';

/** When a gate decided to roll back. */
export interface Detection {
  /** Canary requests served when the rollback was decided. */
  readonly canaryRequests: number;
  /** Seconds since the rollout start. */
  readonly seconds: number;
  /** Distinct canary users exposed by then (each request is its own user without sticky routing). */
  readonly users: number;
}

/** Outcome of one run: per gate, its detection or null (none within the horizon). */
export interface RunResult {
  readonly scenario: string;
  readonly run: number;
  readonly detections: Partial<Record<GateId, Detection | null>>;
  /** Canary requests served when the run stopped. */
  readonly canaryRequests: number;
  /** Evaluations of our gate, and reads it made from the metric source. */
  readonly evaluations: number;
  readonly sourceReads: number;
}

/** Options of {@link simulateRun}. */
export interface RunOptions {
  readonly seed: number;
  readonly run: number;
  readonly scenario: Scenario;
  readonly gates: readonly GateId[];
  readonly horizonCanaryRequests: number;
  /**
   * Pass our gate's state through JSON at every evaluation (as a controller persisting it
   * would) instead of once per run.
   * @default false
   */
  readonly jsonStateEveryEvaluation?: boolean;
  /** Evidence mode of our gate. @default 'decision' */
  readonly evidence?: 'full' | 'decision';
  /** Called after each evaluation of our gate (tests, diagnostics). */
  readonly onEvaluation?: (gate: GateId, evaluation: GateEvaluation) => void;
}

/**
 * Our gate's configuration in the benchmark: defaults (all checks, α = 0.01 split as
 * statistics.md §4), with the article's absolute limits set to the values statistics.md
 * §6 (a) uses for this traffic (the defaults, e.g. error < 1% or p99 < 3 s, would fail
 * the baseline itself). Similarity is Beta(8, 2) here (mean 0.8): its minimum is 0.7.
 * The tool-mix tolerance is 5 points (see below).
 */
export const OUR_GATE_OPTIONS: GateOptions = Object.freeze({
  checks: {
    errorRate: { limit: NAIVE_LIMITS.maxErrorRate },
    toolSuccessRate: { limit: NAIVE_LIMITS.minToolSuccess },
    refusalRate: { limit: NAIVE_LIMITS.maxRefusalRate },
    latencyP99: { maxMillis: NAIVE_LIMITS.maxP99Millis },
    similarity: { min: 0.7 },
    // The mix scenario moves 10 points of share: with the default tolerance (15%, the
    // article's drift threshold) the gate would warn, never roll back.
    toolMix: { maxShareDrift: 0.05 },
  },
});

/**
 * Under user-sticky routing: the similarity and tool-mix tests have no subject unit
 * (the gate counts requests and tool calls for them), and request-level label bets are
 * invalid when a few heavy users decide how many requests each arm serves. They keep
 * their thresholds and give their alpha to the other checks.
 */
export const STICKY_GATE_OPTIONS: GateOptions = Object.freeze({
  checks: {
    ...OUR_GATE_OPTIONS.checks,
    similarity: { min: 0.7, alphaShare: 0 },
    toolMix: { maxShareDrift: 0.05, alphaShare: 0 },
  },
});

/**
 * The sticky gate counting requests, not subjects, in every test that has a unit (the
 * sample-ratio test keeps subjects): what a per-request gate does.
 */
export const REQUEST_UNIT_GATE_OPTIONS: GateOptions = Object.freeze({
  checks: {
    ...STICKY_GATE_OPTIONS.checks,
    errorRate: { limit: NAIVE_LIMITS.maxErrorRate, unit: ANALYSIS_UNIT.request },
    toolSuccessRate: { limit: NAIVE_LIMITS.minToolSuccess, unit: ANALYSIS_UNIT.request },
    refusalRate: { limit: NAIVE_LIMITS.maxRefusalRate, unit: ANALYSIS_UNIT.request },
    thumbsDownRate: { unit: ANALYSIS_UNIT.request },
    latencyP99: { maxMillis: NAIVE_LIMITS.maxP99Millis, unit: ANALYSIS_UNIT.request },
    responseLength: { unit: ANALYSIS_UNIT.request },
  },
});

const configs = new Map<GateOptions, Map<string, GateConfig>>();

/** Resolved once per worker: the options objects above are the keys. */
export function gateConfigOf(options: GateOptions, evidence: 'full' | 'decision'): GateConfig {
  let byEvidence = configs.get(options);
  if (!byEvidence) {
    byEvidence = new Map();
    configs.set(options, byEvidence);
  }
  let config = byEvidence.get(evidence);
  if (!config) {
    config = resolveGateConfig({ ...options, evidence });
    byEvidence.set(evidence, config);
  }
  return config;
}

/** The alpha our gate gives the check that watches the oracle's outcome. */
export function checkAlpha(spec: OracleSpec, config: GateConfig): number {
  const { checks } = config;
  if (spec.kind === 'rate') {
    return spec.signal === 'error'
      ? checks.errorRate.alpha
      : spec.signal === 'tool'
        ? checks.toolSuccessRate.alpha
        : checks.refusalRate.alpha;
  }
  if (spec.kind === 'categorical') return checks.toolMix.alpha;
  return spec.outcome === 'latency' ? checks.latencyP99.alpha : checks.responseLength.alpha;
}

const START_MILLIS = 1_700_000_000_000;

/** Our gate with its state, evaluated like the controller does. */
class EvaluatedGate {
  private state: JsonValue | undefined;
  private readonly gate: GateEvaluator;
  evaluations = 0;
  consecutiveThresholdFailures = 0;

  constructor(
    config: GateConfig,
    source: SimulatedMetricSource,
    private readonly rolloutId: string,
    private readonly jsonEveryEvaluation: boolean,
    private readonly onEvaluation: ((evaluation: GateEvaluation) => void) | undefined,
  ) {
    this.gate = createGate(config, source);
  }

  async evaluate(nowMillis: number): Promise<{ sequential: boolean; thresholdRule: boolean }> {
    const evaluation = await this.gate.evaluate({
      rolloutId: this.rolloutId,
      flagKey: 'agent.release',
      canaryRelease: 'canary',
      stableRelease: 'stable',
      startedAtMillis: START_MILLIS,
      nowMillis: START_MILLIS + nowMillis,
      canaryBasisPoints: TRAFFIC_DEFAULTS.canaryBasisPoints,
      controlBasisPoints: TRAFFIC_DEFAULTS.controlBasisPoints,
      ...(this.state === undefined ? {} : { state: this.state }),
    });
    const { result, state } = evaluation;
    this.onEvaluation?.(evaluation);
    this.evaluations += 1;
    // The controller persists the state as JSON: prove the round trip at least once per run.
    this.state =
      this.jsonEveryEvaluation || this.evaluations === 20 ? (JSON.parse(JSON.stringify(state)) as JsonValue) : state;
    this.consecutiveThresholdFailures = result.thresholdFailure ? this.consecutiveThresholdFailures + 1 : 0;
    return {
      sequential: result.sequentialFailure,
      thresholdRule: result.sequentialFailure || this.consecutiveThresholdFailures >= NAIVE_LIMITS.consecutiveFailures,
    };
  }
}

/** Sticky routing of Zipf users: own hash of user ids (per-run salt), own error propensities. */
class StickyUsers {
  readonly cohortOf: Uint8Array;
  readonly errorRate: Float64Array;
  readonly flags: Int32Array;
  private readonly pick: (rng: Rng) => number;

  constructor(rng: Rng, salt: string) {
    const { users, zipfExponent, userErrorBeta, canaryBasisPoints, controlBasisPoints } = TRAFFIC_DEFAULTS;
    this.pick = zipfSampler(users, zipfExponent);
    this.cohortOf = new Uint8Array(users);
    this.errorRate = new Float64Array(users);
    this.flags = new Int32Array(users).fill(-1);
    for (let user = 0; user < users; user += 1) {
      const bucket = hashString32(`${salt}:user-${user}`) % 10_000;
      this.cohortOf[user] = bucket < canaryBasisPoints ? 1 : bucket < canaryBasisPoints + controlBasisPoints ? 2 : 0;
      this.errorRate[user] = betaVariate(rng, userErrorBeta[0], userErrorBeta[1]);
    }
  }

  next(rng: Rng): number {
    return this.pick(rng);
  }
}

/**
 * Simulates one run until every gate decided or the canary served the horizon.
 * Deterministic in (seed, run): the same traffic for every scenario and gate.
 */
export async function simulateRun(options: RunOptions): Promise<RunResult> {
  const { scenario, horizonCanaryRequests } = options;
  const wanted = new Set(options.gates);
  const rng = createRng(options.seed).fork(`run:${options.run}`);
  const arrivals = rng.fork('arrivals');
  const routing = rng.fork('routing');
  const stableArrivals = rng.fork('stable-arrivals');
  const treated = new OutcomeDrawer(rng.fork('canary-control'));
  const stableDrawer = new OutcomeDrawer(rng.fork('stable'));
  const outcome = emptyOutcome();
  const source = new SimulatedMetricSource(scenario.sticky);
  const { canary, control, stable } = source.cohorts;
  const { requestsPerSecond, canaryBasisPoints, controlBasisPoints, evaluationMillis, stableOutcomeMillis } =
    TRAFFIC_DEFAULTS;
  const rho0 = canaryBasisPoints / (canaryBasisPoints + controlBasisPoints);
  const evidence = options.evidence ?? 'decision';
  const rolloutId = `${scenario.id}-${options.run}`;

  const requestGates: { id: GateId; gate: RequestGate }[] = [];
  const add = (id: GateId, make: () => RequestGate) => {
    if (wanted.has(id)) requestGates.push({ id, gate: make() });
  };
  add(GATE.naive, () => new NaiveGate(false));
  add(GATE.naiveAny, () => new NaiveGate(true));
  add(GATE.kayenta, () => new KayentaGate(KAYENTA.defaultZ));
  add(GATE.kayentaCalibrated, () => new KayentaGate(KAYENTA.calibratedZ));
  if (scenario.oracle && !scenario.sticky) {
    const spec = scenario.oracle;
    add(GATE.oracle, () => new OracleGate(spec, rho0));
    add(GATE.oracleSplit, () => new OracleGate(spec, rho0, checkAlpha(spec, gateConfigOf(OUR_GATE_OPTIONS, evidence))));
  }
  const ours =
    wanted.has(GATE.ours) || wanted.has(GATE.oursThresholds)
      ? new EvaluatedGate(
          gateConfigOf(scenario.sticky ? STICKY_GATE_OPTIONS : OUR_GATE_OPTIONS, evidence),
          source,
          rolloutId,
          options.jsonStateEveryEvaluation ?? false,
          options.onEvaluation && ((evaluation) => options.onEvaluation?.(GATE.ours, evaluation)),
        )
      : undefined;
  const oursRequest =
    scenario.sticky && wanted.has(GATE.oursRequest)
      ? new EvaluatedGate(
          gateConfigOf(REQUEST_UNIT_GATE_OPTIONS, evidence),
          source,
          `${rolloutId}-request`,
          options.jsonStateEveryEvaluation ?? false,
          options.onEvaluation && ((evaluation) => options.onEvaluation?.(GATE.oursRequest, evaluation)),
        )
      : undefined;

  const detections: Partial<Record<GateId, Detection | null>> = {};
  for (const { id } of requestGates) detections[id] = null;
  if (ours) {
    if (wanted.has(GATE.ours)) detections[GATE.ours] = null;
    if (wanted.has(GATE.oursThresholds)) detections[GATE.oursThresholds] = null;
  }
  if (oursRequest) detections[GATE.oursRequest] = null;
  let pending = Object.keys(detections).length;
  const users = () => canary.subjects;
  const decide = (id: GateId, nowMillis: number) => {
    if (detections[id] !== null) return;
    detections[id] = { canaryRequests: canary.requests, seconds: nowMillis / 1000, users: users() };
    pending -= 1;
  };

  const sticky = scenario.sticky ? new StickyUsers(rng.fork('users'), rolloutId) : undefined;
  // Without sticky users only canary and control arrivals are drawn one by one; stable
  // arrivals are a separate Poisson stream whose outcomes matter only for the reference.
  const treatedRate = scenario.sticky
    ? requestsPerSecond / 1000
    : (requestsPerSecond * (canaryBasisPoints + controlBasisPoints)) / 10_000 / 1000;
  // Only our gate reads stable traffic (reference, sample-ratio test): skip it for the others.
  const stableRate =
    scenario.sticky || (!ours && !oursRequest)
      ? 0
      : (requestsPerSecond * (10_000 - canaryBasisPoints - controlBasisPoints)) / 10_000 / 1000;
  let nextArrival = arrivals.exponential(treatedRate);
  let nextStable = stableRate > 0 ? stableArrivals.exponential(stableRate) : Number.POSITIVE_INFINITY;
  let nextTick = evaluationMillis;
  let stableFrozen = false;
  const oursActive = () =>
    (ours !== undefined && (detections[GATE.ours] === null || detections[GATE.oursThresholds] === null)) ||
    (oursRequest !== undefined && detections[GATE.oursRequest] === null);

  const serve = (isCanary: boolean, errorRate: number | undefined, flags: number | undefined): number => {
    const law = isCanary ? scenario.canary : BASELINE_LAW;
    treated.draw(law, outcome, errorRate ?? law.errorRate);
    const cohort = isCanary ? canary : control;
    const after = cohort.record(outcome, flags);
    for (const entry of requestGates) {
      if (detections[entry.id] === null && entry.gate.observe(isCanary, outcome, canary.requests)) {
        decide(entry.id, nextArrival);
      }
    }
    return after;
  };

  while (pending > 0 && canary.requests < horizonCanaryRequests) {
    if (nextTick <= nextArrival && nextTick <= nextStable) {
      if (!stableFrozen && nextTick > stableOutcomeMillis) {
        stable.freezeDistributions();
        stableFrozen = true;
      }
      if (ours && (detections[GATE.ours] === null || detections[GATE.oursThresholds] === null)) {
        const verdict = await ours.evaluate(nextTick);
        if (verdict.sequential && wanted.has(GATE.ours)) decide(GATE.ours, nextTick);
        if (verdict.thresholdRule && wanted.has(GATE.oursThresholds)) decide(GATE.oursThresholds, nextTick);
      }
      if (oursRequest && detections[GATE.oursRequest] === null) {
        const verdict = await oursRequest.evaluate(nextTick);
        if (verdict.sequential) decide(GATE.oursRequest, nextTick);
      }
      nextTick += evaluationMillis;
    } else if (nextStable < nextArrival) {
      if (!oursActive()) {
        // Our gates decided: nothing reads stable traffic any more.
        nextStable = Number.POSITIVE_INFINITY;
        continue;
      }
      if (nextStable <= stableOutcomeMillis) {
        stableDrawer.draw(BASELINE_LAW, outcome);
        stable.record(outcome, undefined);
      } else {
        stable.countOnly(true);
      }
      nextStable += stableArrivals.exponential(stableRate);
    } else {
      if (sticky) {
        const user = sticky.next(routing);
        const cohort = sticky.cohortOf[user] ?? 0;
        const seen = sticky.flags[user] ?? -1;
        const previous = seen < 0 ? undefined : seen;
        if (cohort === 0) {
          if (nextArrival <= stableOutcomeMillis) {
            stableDrawer.draw(BASELINE_LAW, outcome, sticky.errorRate[user]);
            sticky.flags[user] = stable.record(outcome, previous);
          } else {
            stable.countOnly(previous === undefined);
            if (previous === undefined) sticky.flags[user] = 0;
          }
        } else {
          sticky.flags[user] = serve(cohort === 1, sticky.errorRate[user], previous);
        }
      } else {
        serve(routing.next() < rho0, undefined, undefined);
      }
      nextArrival += arrivals.exponential(treatedRate);
    }
  }
  return {
    scenario: scenario.id,
    run: options.run,
    detections,
    canaryRequests: canary.requests,
    evaluations: (ours?.evaluations ?? 0) + (oursRequest?.evaluations ?? 0),
    sourceReads: source.reads,
  };
}
