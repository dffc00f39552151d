/**
 * One seeded run: a population of users with habits, sticky routing by their bucket,
 * Poisson arrivals, the real gate (`createGate`, default configuration) evaluated every
 * 5 simulated seconds with the controller's rollback rule, and — for effect scenarios —
 * the per-user event stream the oracle will read.
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
import { createRng } from '@agent-canary/stats';
import { type Heterogeneity, ORACLE_STREAM, type OracleStream, type Scenario, TRAFFIC_DEFAULTS } from './scenarios.js';
import { type CohortAccumulator, SimulatedMetricSource } from './source.js';
import { emptyOutcome, OutcomeDrawer, Population } from './traffic.js';

/** The gates a run evaluates. */
export const GATE = {
  /** Our gate, default configuration: every check counts subjects. */
  ours: 'ours',
  /** The same gate counting requests and tool calls as if independent (the old behaviour). */
  oursRequest: 'ours-request',
} as const;
export type GateId = (typeof GATE)[keyof typeof GATE];
export const GATE_IDS: readonly GateId[] = Object.freeze(Object.values(GATE));
export const GATE_LABELS: Readonly<Record<GateId, string>> = Object.freeze({
  ours: 'ours (users)',
  'ours-request': 'ours, counting requests',
});

/** The controller's other rollback rule: this many consecutive threshold failures. */
export const CONSECUTIVE_THRESHOLD_FAILURES = 3;

/** Every check at the request unit: what a gate that treats calls as independent does. */
export const REQUEST_UNIT_OPTIONS: GateOptions = Object.freeze({
  sampleRatio: { unit: ANALYSIS_UNIT.request },
  checks: Object.fromEntries(
    [
      'latencyP99',
      'errorRate',
      'toolSuccessRate',
      'refusalRate',
      'similarity',
      'toxicity',
      'thumbsDownRate',
      'toolMix',
      'responseLength',
    ].map((check) => [check, { unit: ANALYSIS_UNIT.request }]),
  ),
});

/** When a gate decided to roll back. */
export interface Detection {
  readonly seconds: number;
  /** Decided within the horizon (effect runs follow the gate past it). */
  readonly withinHorizon: boolean;
  /** Canary requests served when the rollback was decided. */
  readonly canaryRequests: number;
  /** Distinct canary users exposed by then. */
  readonly canaryUsers: number;
  /** The checks that failed. */
  readonly checks: readonly string[];
}

/** Outcome of one run. */
export interface RunResult {
  readonly scenario: string;
  readonly run: number;
  /** Per gate: its detection, or null (none within the horizon). */
  readonly detections: Partial<Record<GateId, Detection | null>>;
  /** Canary requests and users when the run stopped. */
  readonly canaryRequests: number;
  readonly canaryUsers: number;
  /**
   * Effect scenarios: the oracle's stream up to the horizon, flattened as pairs (index of
   * the evaluation tick it precedes, 1 if the event is a canary subject's): the oracle
   * looks at the same 5-second ticks as the gate.
   */
  readonly oracleEvents: readonly number[];
  /** Canary requests and users at each tick, flattened as pairs. */
  readonly ticks: readonly number[];
  /** Evaluations of our gates, and reads they made from the metric source. */
  readonly evaluations: number;
  readonly sourceReads: number;
}

/** Options of {@link simulateRun}. */
export interface RunOptions {
  readonly seed: number;
  readonly run: number;
  readonly scenario: Scenario;
  readonly heterogeneity: Heterogeneity;
  /** Canary share in basis points; control gets as much (at most what is left). */
  readonly canaryBasisPoints: number;
  readonly gates: readonly GateId[];
  /** @default TRAFFIC_DEFAULTS.users */
  readonly users?: number;
  /** @default TRAFFIC_DEFAULTS.horizonCanaryRequests */
  readonly horizonCanaryRequests?: number;
  /** @default TRAFFIC_DEFAULTS.horizonMillis */
  readonly horizonMillis?: number;
  /** Pass the gate's state through JSON at every evaluation (as a controller would). @default false */
  readonly jsonStateEveryEvaluation?: boolean;
  /** @default 'decision' */
  readonly evidence?: 'full' | 'decision';
  /** Called after each evaluation of a gate (tests, diagnostics). */
  readonly onEvaluation?: (gate: GateId, evaluation: GateEvaluation) => void;
}

const START_MILLIS = 1_700_000_000_000;
const configs = new Map<string, GateConfig>();

/** Resolved once per worker and gate. */
export function gateConfigOf(gate: GateId, evidence: 'full' | 'decision'): GateConfig {
  const key = `${gate}:${evidence}`;
  let config = configs.get(key);
  if (!config) {
    config = resolveGateConfig({ ...(gate === GATE.oursRequest ? REQUEST_UNIT_OPTIONS : {}), evidence });
    configs.set(key, config);
  }
  return config;
}

/** A gate with its state, evaluated as the controller does, with the controller's rollback rule. */
class EvaluatedGate {
  private state: JsonValue | undefined;
  private readonly gate: GateEvaluator;
  evaluations = 0;
  private thresholdRun = 0;

  constructor(
    readonly id: GateId,
    config: GateConfig,
    source: SimulatedMetricSource,
    private readonly split: { canaryBasisPoints: number; controlBasisPoints: number },
    private readonly rolloutId: string,
    private readonly jsonEveryEvaluation: boolean,
    private readonly onEvaluation: RunOptions['onEvaluation'],
  ) {
    this.gate = createGate(config, source);
  }

  /** The failing checks when the controller would roll back now, else undefined. */
  async evaluate(nowMillis: number): Promise<string[] | undefined> {
    const evaluation = await this.gate.evaluate({
      rolloutId: this.rolloutId,
      flagKey: 'agent.release',
      canaryRelease: 'canary',
      stableRelease: 'stable',
      startedAtMillis: START_MILLIS,
      nowMillis: START_MILLIS + nowMillis,
      ...this.split,
      ...(this.state === undefined ? {} : { state: this.state }),
    });
    const { result, state } = evaluation;
    this.onEvaluation?.(this.id, evaluation);
    this.evaluations += 1;
    // The controller persists the state as JSON: prove the round trip at least once per run.
    this.state =
      this.jsonEveryEvaluation || this.evaluations === 20 ? (JSON.parse(JSON.stringify(state)) as JsonValue) : state;
    this.thresholdRun = result.thresholdFailure ? this.thresholdRun + 1 : 0;
    if (!result.sequentialFailure && this.thresholdRun < CONSECUTIVE_THRESHOLD_FAILURES) return undefined;
    return result.checks.filter((c) => c.verdict === 'fail' && c.observeOnly !== true).map((c) => c.check);
  }
}

/**
 * The run's population: the same for every scenario of a (run, cell), so the last one is
 * kept — tasks come ordered by run, then scenario — and drawing 10,000 users' habits is paid
 * once per run instead of once per scenario. Populations are read-only.
 */
let lastPopulation: { readonly key: string; readonly population: Population } | undefined;

function populationOf(rng: ReturnType<typeof createRng>, users: number, heterogeneity: Heterogeneity): Population {
  const key = `${rng.seed}:${users}`;
  if (lastPopulation?.key !== key) {
    lastPopulation = { key, population: new Population(rng.fork('users'), users, heterogeneity) };
  }
  return lastPopulation.population;
}

/** The subject-level counter of a cohort the oracle's stream follows. */
function streamCount(cohort: CohortAccumulator, stream: OracleStream): number {
  switch (stream) {
    case ORACLE_STREAM.error:
      return cohort.subjectsWithError;
    case ORACLE_STREAM.refusal:
      return cohort.subjectsWithRefusal;
    case ORACLE_STREAM.toolSwitch:
      return cohort.toolSwitches;
  }
}

/**
 * Simulates one run until every gate decided (and, for an effect scenario, the horizon:
 * the oracle's stream is recorded to the end) or the horizon — for an effect scenario,
 * `effectFollowUp` times the horizon for our gates. Deterministic in (seed, run,
 * heterogeneity, share): the same users and traffic for every scenario and gate.
 */
export async function simulateRun(options: RunOptions): Promise<RunResult> {
  const { scenario, heterogeneity } = options;
  const horizonCanaryRequests = options.horizonCanaryRequests ?? TRAFFIC_DEFAULTS.horizonCanaryRequests;
  const horizonMillis = options.horizonMillis ?? TRAFFIC_DEFAULTS.horizonMillis;
  const { requestsPerSecond, evaluationMillis, stableOutcomeMillis, effectFollowUp } = TRAFFIC_DEFAULTS;
  const followUp = scenario.effect ? effectFollowUp : 1;
  const canaryBasisPoints = options.canaryBasisPoints;
  const controlBasisPoints = Math.min(canaryBasisPoints, 10_000 - canaryBasisPoints);
  const rng = createRng(options.seed).fork(
    `run:${options.run}:${heterogeneity.concentration}:${heterogeneity.zipfExponent}:${canaryBasisPoints}`,
  );
  const population = populationOf(rng, options.users ?? TRAFFIC_DEFAULTS.users, heterogeneity);
  const arrivals = rng.fork('arrivals');
  const picks = rng.fork('picks');
  const treated = new OutcomeDrawer(rng.fork('canary-control'));
  const stableDrawer = new OutcomeDrawer(rng.fork('stable'));
  const outcome = emptyOutcome();
  const source = new SimulatedMetricSource();
  const { canary, control, stable } = source.cohorts;
  const flags = new Int32Array(population.size).fill(-1);
  const firstTool = new Int8Array(population.size).fill(-1);
  const split = { canaryBasisPoints, controlBasisPoints };
  const rolloutId = `${scenario.id}-${options.run}`;
  const gates = options.gates.map(
    (id) =>
      new EvaluatedGate(
        id,
        gateConfigOf(id, options.evidence ?? 'decision'),
        source,
        split,
        `${rolloutId}-${id}`,
        options.jsonStateEveryEvaluation ?? false,
        options.onEvaluation,
      ),
  );
  const detections: Partial<Record<GateId, Detection | null>> = {};
  for (const gate of gates) detections[gate.id] = null;
  let pending = gates.length;
  const stream = scenario.oracle?.stream;
  const oracleEvents: number[] = [];
  const ticks: number[] = [];

  let now = arrivals.exponential(requestsPerSecond / 1000);
  let nextTick = evaluationMillis;
  let stableFrozen = false;
  const past = (extent: number) =>
    canary.requests >= extent * horizonCanaryRequests || Math.min(now, nextTick) >= extent * horizonMillis;
  while (!past(followUp) && (pending > 0 || (stream !== undefined && !past(1)))) {
    const withinHorizon = !past(1);
    if (nextTick <= now) {
      ticks.push(canary.requests, canary.subjects);
      if (!stableFrozen && nextTick > stableOutcomeMillis) {
        stable.freezeDistributions();
        stableFrozen = true;
      }
      for (const gate of gates) {
        if (detections[gate.id] !== null) continue;
        const failed = await gate.evaluate(nextTick);
        if (failed !== undefined) {
          detections[gate.id] = {
            seconds: nextTick / 1000,
            withinHorizon,
            canaryRequests: canary.requests,
            canaryUsers: canary.subjects,
            checks: failed,
          };
          pending -= 1;
        }
      }
      nextTick += evaluationMillis;
      continue;
    }
    const user = population.next(picks);
    const bucket = population.bucket[user] ?? 0;
    const seen = flags[user] ?? -1;
    if (bucket >= canaryBasisPoints + controlBasisPoints) {
      if (now <= stableOutcomeMillis) {
        stableDrawer.draw(population, user, outcome);
        flags[user] = stable.record(outcome, seen, firstTool[user] ?? -1);
        if (outcome.tool >= 0 && (firstTool[user] ?? -1) < 0) firstTool[user] = outcome.tool;
      } else {
        stable.countOnly(seen < 0);
        if (seen < 0) flags[user] = 0;
      }
    } else {
      const isCanary = bucket < canaryBasisPoints;
      const cohort = isCanary ? canary : control;
      treated.draw(population, user, outcome, isCanary ? scenario.canary : undefined);
      const before = stream === undefined ? 0 : streamCount(cohort, stream);
      flags[user] = cohort.record(outcome, seen, firstTool[user] ?? -1);
      if (outcome.tool >= 0 && (firstTool[user] ?? -1) < 0) firstTool[user] = outcome.tool;
      if (stream !== undefined && withinHorizon && streamCount(cohort, stream) > before) {
        oracleEvents.push(ticks.length / 2, isCanary ? 1 : 0);
      }
    }
    now += arrivals.exponential(requestsPerSecond / 1000);
  }
  return {
    scenario: scenario.id,
    run: options.run,
    detections,
    canaryRequests: canary.requests,
    canaryUsers: canary.subjects,
    oracleEvents,
    ticks,
    evaluations: gates.reduce((sum, gate) => sum + gate.evaluations, 0),
    sourceReads: source.reads,
  };
}
