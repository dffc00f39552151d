/**
 * Seeded traffic simulator for the gate's tests (not part of the public API): sticky
 * subjects routed by a hash bucket, per-request outcomes drawn per cohort, cumulative
 * per-cohort windows exactly as a metric source reports them.
 */
import type { Cohort } from '@agent-canary/conventions';
import type { BucketCount, CohortWindow, CohortWindows } from './windows.js';

/** mulberry32: tiny seeded uniform generator in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-spaced edges like a Prometheus histogram (10 ms .. 120 s for latency). */
export function logEdges(from: number, to: number, count: number): number[] {
  const edges: number[] = [];
  const ratio = (to / from) ** (1 / (count - 1));
  for (let i = 0; i < count; i++) edges.push(Number((from * ratio ** i).toPrecision(4)));
  return edges;
}

export const LATENCY_EDGES = logEdges(10, 120_000, 48);
export const LENGTH_EDGES = logEdges(1, 20_000, 40);
export const SCORE_EDGES = Array.from({ length: 20 }, (_, i) => (i + 1) / 20);

/** Outcome law of one cohort. */
export interface Behaviour {
  readonly errorRate: number;
  readonly toolFailureRate: number;
  readonly refusalRate: number;
  /** Share of feedback events that are thumbs-down. */
  readonly thumbsDownRate: number;
  /** Median latency in ms (log-normal, σ = 0.6). */
  readonly latencyMedianMillis: number;
  readonly lengthMedian: number;
  readonly similarityMean: number;
  readonly toxicityMean: number;
  /** Tool names with their probabilities (sum 1). */
  readonly tools: Readonly<Record<string, number>>;
}

export const HEALTHY: Behaviour = Object.freeze({
  errorRate: 0.002,
  toolFailureRate: 0.01,
  refusalRate: 0.01,
  thumbsDownRate: 0.03,
  latencyMedianMillis: 500,
  lengthMedian: 300,
  similarityMean: 0.93,
  toxicityMean: 0.01,
  tools: { search: 0.4, db: 0.25, code: 0.15, email: 0.1, calendar: 0.1 },
});

class Histogram {
  readonly counts: number[];
  constructor(private readonly edges: readonly number[]) {
    this.counts = new Array<number>(edges.length + 1).fill(0);
  }
  add(value: number): void {
    let i = 0;
    while (i < this.edges.length && value > (this.edges[i] ?? 0)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
  }
  buckets(): BucketCount[] {
    return this.counts.map((count, i) => ({ upper: this.edges[i] ?? Number.POSITIVE_INFINITY, count }));
  }
}

class CohortAccumulator {
  requests = 0;
  errors = 0;
  subjects = 0;
  subjectsWithError = 0;
  toolCalls = 0;
  toolFailures = 0;
  subjectsWithToolFailure = 0;
  refusals = 0;
  subjectsWithRefusal = 0;
  feedback = 0;
  thumbsDown = 0;
  subjectsWithThumbsDown = 0;
  readonly tools: Record<string, { calls: number; failures: number }> = {};
  readonly latency = new Histogram(LATENCY_EDGES);
  readonly subjectLatency = new Histogram(LATENCY_EDGES);
  readonly length = new Histogram(LENGTH_EDGES);
  readonly subjectLength = new Histogram(LENGTH_EDGES);
  readonly similarity = new Histogram(SCORE_EDGES);
  similaritySum = 0;
  similarityCount = 0;
  readonly toxicity = new Histogram(SCORE_EDGES);
  toxicitySum = 0;
  toxicityCount = 0;
  readonly seen = new Map<number, number>();
  /** Each subject's first observations (the subject-unit data of `subjectFirsts`). */
  firstTurns = 0;
  firstTurnErrors = 0;
  firstTurnRefusals = 0;
  readonly firstTools: Record<string, { calls: number; failures: number }> = {};
  readonly firstToolOf = new Map<number, string>();
  secondTools = 0;
  toolSwitches = 0;
  firstRatings = 0;
  firstThumbsDown = 0;
  readonly firstSimilarity = new Histogram(SCORE_EDGES);
  firstSimilaritySum = 0;
  firstSimilarityCount = 0;
  readonly firstToxicity = new Histogram(SCORE_EDGES);
  firstToxicitySum = 0;
  firstToxicityCount = 0;

  snapshot(): CohortWindow {
    return {
      requests: this.requests,
      errors: this.errors,
      subjects: this.subjects,
      subjectsWithError: this.subjectsWithError,
      toolCalls: this.toolCalls,
      toolFailures: this.toolFailures,
      subjectsWithToolFailure: this.subjectsWithToolFailure,
      toolCallsByName: Object.fromEntries(Object.entries(this.tools).map(([k, v]) => [k, { ...v }])),
      refusals: this.refusals,
      subjectsWithRefusal: this.subjectsWithRefusal,
      feedback: this.feedback,
      thumbsDown: this.thumbsDown,
      subjectsWithThumbsDown: this.subjectsWithThumbsDown,
      latencyMillis: this.latency.buckets(),
      subjectLatencyMillis: this.subjectLatency.buckets(),
      outputLength: this.length.buckets(),
      subjectOutputLength: this.subjectLength.buckets(),
      similarity: { count: this.similarityCount, sum: this.similaritySum, buckets: this.similarity.buckets() },
      toxicity: { count: this.toxicityCount, sum: this.toxicitySum, buckets: this.toxicity.buckets() },
      subjectFirsts: {
        turns: this.firstTurns,
        turnErrors: this.firstTurnErrors,
        turnRefusals: this.firstTurnRefusals,
        toolsByName: Object.fromEntries(Object.entries(this.firstTools).map(([k, v]) => [k, { ...v }])),
        secondTools: this.secondTools,
        toolSwitches: this.toolSwitches,
        ratings: this.firstRatings,
        thumbsDown: this.firstThumbsDown,
        similarity: {
          count: this.firstSimilarityCount,
          sum: this.firstSimilaritySum,
          buckets: this.firstSimilarity.buckets(),
        },
        toxicity: { count: this.firstToxicityCount, sum: this.firstToxicitySum, buckets: this.firstToxicity.buckets() },
      },
    };
  }
}

const FLAG_ERROR = 1;
const FLAG_TOOL = 2;
const FLAG_REFUSAL = 4;
const FLAG_THUMBS = 8;
const FLAG_FIRST_TOOL = 16;
const FLAG_SECOND_TOOL = 32;
const FLAG_SIMILARITY = 64;
const FLAG_RATING = 128;

/** Options of a simulated rollout. */
export interface SimulationOptions {
  readonly seed: number;
  readonly users: number;
  /** Requests per second (all cohorts). */
  readonly requestsPerSecond: number;
  readonly canary: Behaviour;
  readonly control?: Behaviour;
  /** Probability a request is scored for similarity / gets feedback. */
  readonly similarityShare?: number;
  readonly feedbackShare?: number;
  /**
   * Habitual users: each user has a usual tool (drawn from the law's tools) and calls it
   * with this probability, other tools by the law's shares otherwise. @default none
   */
  readonly habitStrength?: number;
  /** The canary's habit strength (a canary that picks the usual tool less often). @default habitStrength */
  readonly canaryHabitStrength?: number;
  /** Zipf exponent of user activity (user k is picked ∝ 1/k^s). @default uniform */
  readonly zipfExponent?: number;
}

/** A simulated rollout: advance time, change the split, read cumulative windows. */
export class SimulatedRollout {
  readonly startedAtMillis = 1_700_000_000_000;
  nowMillis = this.startedAtMillis;
  canaryBasisPoints = 500;
  controlBasisPoints = 500;
  private readonly random: () => number;
  private readonly buckets: Uint16Array;
  private readonly cohorts: Record<Cohort, CohortAccumulator> = {
    stable: new CohortAccumulator(),
    canary: new CohortAccumulator(),
    control: new CohortAccumulator(),
  };
  /** Routing bug for SRM tests: this share of would-be control subjects is served as stable. */
  leakControlToStable = 0;

  private readonly usual: Float64Array;
  private readonly activity: Float64Array | undefined;

  constructor(private readonly options: SimulationOptions) {
    this.random = seeded(options.seed);
    this.buckets = new Uint16Array(options.users);
    this.usual = new Float64Array(options.users);
    for (let i = 0; i < options.users; i++) {
      this.buckets[i] = Math.floor(this.random() * 10_000);
      this.usual[i] = this.random();
    }
    if (options.zipfExponent !== undefined) {
      this.activity = new Float64Array(options.users);
      let total = 0;
      for (let i = 0; i < options.users; i++) {
        total += 1 / (i + 1) ** options.zipfExponent;
        this.activity[i] = total;
      }
      for (let i = 0; i < options.users; i++) this.activity[i] = (this.activity[i] ?? 0) / total;
    }
  }

  private pickUser(): number {
    const activity = this.activity;
    if (activity === undefined) return Math.floor(this.random() * this.options.users);
    const u = this.random();
    let low = 0;
    let high = activity.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((activity[middle] ?? 1) < u) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** A tool by the law's shares, from a uniform draw. */
  private static toolAt(tools: Readonly<Record<string, number>>, draw: number): string {
    let u = draw;
    for (const [name, p] of Object.entries(tools)) {
      if (u < p) return name;
      u -= p;
    }
    return 'other';
  }

  private cohortOf(user: number): Cohort {
    const bucket = this.buckets[user] ?? 0;
    if (bucket < this.canaryBasisPoints) return 'canary';
    if (bucket < this.canaryBasisPoints + this.controlBasisPoints) {
      // A fixed subset of users, as a sticky routing bug would produce.
      const leaked = ((Math.imul(user, 2654435761) >>> 0) % 1000) / 1000 < this.leakControlToStable;
      return leaked ? 'stable' : 'control';
    }
    return 'stable';
  }

  private normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random());
  }

  private request(): void {
    const user = this.pickUser();
    const cohort = this.cohortOf(user);
    const law = cohort === 'canary' ? this.options.canary : (this.options.control ?? HEALTHY);
    const acc = this.cohorts[cohort];
    const r = this.random;
    let flags = acc.seen.get(user);
    const first = flags === undefined;
    if (first) {
      acc.subjects++;
      flags = 0;
    }
    acc.requests++;
    const latency = law.latencyMedianMillis * Math.exp(0.6 * this.normal());
    const length = Math.max(1, Math.round(law.lengthMedian * Math.exp(0.5 * this.normal())));
    acc.latency.add(latency);
    acc.length.add(length);
    if (first) {
      acc.subjectLatency.add(latency);
      acc.subjectLength.add(length);
    }
    let mark = flags ?? 0;
    const error = r() < law.errorRate;
    if (first) {
      acc.firstTurns++;
      if (error) acc.firstTurnErrors++;
    }
    if (error) {
      acc.errors++;
      if (!(mark & FLAG_ERROR)) acc.subjectsWithError++;
      mark |= FLAG_ERROR;
    }
    if (r() < 0.9) {
      const habit =
        cohort === 'canary'
          ? (this.options.canaryHabitStrength ?? this.options.habitStrength)
          : this.options.habitStrength;
      const tool =
        habit !== undefined && r() < habit
          ? SimulatedRollout.toolAt(law.tools, this.usual[user] ?? 0)
          : SimulatedRollout.toolAt(law.tools, r());
      const counts = acc.tools[tool] ?? { calls: 0, failures: 0 };
      acc.tools[tool] = counts;
      counts.calls++;
      acc.toolCalls++;
      const failed = r() < law.toolFailureRate;
      if (!(mark & FLAG_FIRST_TOOL)) {
        const firstCounts = acc.firstTools[tool] ?? { calls: 0, failures: 0 };
        acc.firstTools[tool] = firstCounts;
        firstCounts.calls++;
        if (failed) firstCounts.failures++;
        acc.firstToolOf.set(user, tool);
        mark |= FLAG_FIRST_TOOL;
      } else if (!(mark & FLAG_SECOND_TOOL)) {
        acc.secondTools++;
        if (acc.firstToolOf.get(user) !== tool) acc.toolSwitches++;
        mark |= FLAG_SECOND_TOOL;
      }
      if (failed) {
        counts.failures++;
        acc.toolFailures++;
        if (!(mark & FLAG_TOOL)) acc.subjectsWithToolFailure++;
        mark |= FLAG_TOOL;
      }
    }
    const refused = r() < law.refusalRate;
    if (first && refused) acc.firstTurnRefusals++;
    if (refused) {
      acc.refusals++;
      if (!(mark & FLAG_REFUSAL)) acc.subjectsWithRefusal++;
      mark |= FLAG_REFUSAL;
    }
    if (r() < (this.options.similarityShare ?? 0.2)) {
      // Beta-like score around the mean, clamped to 0..1.
      const s = Math.min(1, Math.max(0, law.similarityMean + 0.05 * this.normal()));
      acc.similarity.add(s);
      acc.similaritySum += s;
      acc.similarityCount++;
      const t = Math.min(1, Math.max(0, law.toxicityMean + 0.01 * this.normal()));
      acc.toxicity.add(t);
      acc.toxicitySum += t;
      acc.toxicityCount++;
      if (!(mark & FLAG_SIMILARITY)) {
        acc.firstSimilarity.add(s);
        acc.firstSimilaritySum += s;
        acc.firstSimilarityCount++;
        acc.firstToxicity.add(t);
        acc.firstToxicitySum += t;
        acc.firstToxicityCount++;
        mark |= FLAG_SIMILARITY;
      }
    }
    if (r() < (this.options.feedbackShare ?? 0.1)) {
      acc.feedback++;
      const down = r() < law.thumbsDownRate;
      if (!(mark & FLAG_RATING)) {
        acc.firstRatings++;
        if (down) acc.firstThumbsDown++;
        mark |= FLAG_RATING;
      }
      if (down) {
        acc.thumbsDown++;
        if (!(mark & FLAG_THUMBS)) acc.subjectsWithThumbsDown++;
        mark |= FLAG_THUMBS;
      }
    }
    acc.seen.set(user, mark);
  }

  /** Serves `seconds` of Poisson-ish traffic (a fixed count per second keeps runs cheap). */
  advance(seconds: number): void {
    const expected = this.options.requestsPerSecond * seconds;
    const n = Math.floor(expected + this.random());
    for (let i = 0; i < n; i++) this.request();
    this.nowMillis += seconds * 1000;
  }

  windows(): CohortWindows {
    return {
      sinceMillis: this.startedAtMillis,
      untilMillis: this.nowMillis,
      cohorts: {
        stable: this.cohorts.stable.snapshot(),
        canary: this.cohorts.canary.snapshot(),
        control: this.cohorts.control.snapshot(),
      },
    };
  }
}
