/**
 * Seeded traffic of habitual users for the monitor's tests and benchmark, driven through
 * the REAL `BehaviorSpanProcessor` (its `record(facts)` API): a population with Zipf-like
 * activity (a few heavy users, many light ones), each user with propensities drawn
 * around the base rates (Beta with a concentration: small = strongly habitual users,
 * large = nearly identical ones), a usual tool and a usual topic used with a habit
 * strength of its own, and a latency scale of its own. A user's calls are therefore
 * correlated, which is what a monitor counting calls gets wrong.
 *
 * Changes start at `change.atMillis`: a move of the tool mix (users' habits shift so that
 * one tool's expected share among users' first tool calls moves by `toolShareMove`), a
 * factor on every user's refusal propensity, a factor on every latency, or a tail-only
 * slowdown (median unchanged, p95 and p99 of users' first-turn latency ×`tailFactor`).
 */
import { AGENT_SPAN_KIND, type AgentSpanFacts, FEEDBACK_KIND, SPAN_CONVENTION } from '@agent-canary/conventions';
import type { BehaviorSpanProcessor } from '@agent-canary/processor';
import { createRng, type Rng, zipfSampler } from '@agent-canary/stats';

/** Shape of the population and its traffic. */
export interface HabitualTrafficOptions {
  readonly seed: string | number;
  /** Users in the population. */
  readonly users: number;
  /** Zipf exponent of the users' activity (user of rank r sends ∝ 1/r^s of the turns). */
  readonly zipfExponent: number;
  /** Turns per hour, all users together (Poisson arrivals). */
  readonly turnsPerHour: number;
  /** Share of users whose usual tool each tool is. */
  readonly tools: Readonly<Record<string, number>>;
  /** Share of users whose usual topic each topic is. */
  readonly topics: Readonly<Record<string, number>>;
  /** Mean probability that a user's tool call (topic) is its usual one; the rest spread evenly over the others. */
  readonly habitStrength: number;
  /** Concentration κ of the per-user Beta(μκ, (1−μ)κ) draws around each mean. */
  readonly concentration: number;
  /** Probability that a turn calls a tool. */
  readonly toolCallRate: number;
  readonly refusalRate: number;
  readonly errorRate: number;
  /** Per turn: thumbs-down, regeneration and takeover feedback. */
  readonly thumbsDownRate: number;
  readonly regenerateRate: number;
  readonly humanTakeoverRate: number;
  /** Median turn latency over users, ms; log-normal with `latencySigma` within a user and `userLatencySigma` between users. */
  readonly latencyMedianMillis: number;
  readonly latencySigma: number;
  readonly userLatencySigma: number;
  /** Median answer length, characters (log-normal with `lengthSigma`). */
  readonly lengthMedian: number;
  readonly lengthSigma: number;
  /**
   * The `sessionUsers` most active users come and go: each is present in a given hour
   * with probability `sessionShare` (turns drawn for an absent one go to another user).
   * Heavy users in sessions swing a per-call mix from hour to hour.
   */
  readonly sessionUsers: number;
  readonly sessionShare: number;
}

/** A change of behaviour from `atMillis` on. */
export interface TrafficChange {
  readonly atMillis: number;
  /** Tool whose share moves, and by how many points of users' first tool calls (negative: falls). */
  readonly tool?: string;
  readonly toolShareMove?: number;
  /** Factor on every user's refusal propensity. */
  readonly refusalFactor?: number;
  /** Factor on every turn's latency. */
  readonly latencyFactor?: number;
  /** Factor on the latency tail only: median unchanged, users' first-turn p95 and p99 × this. */
  readonly tailFactor?: number;
}

/** Defaults of {@link HabitualTrafficOptions} (all but `seed`). */
export const HABITUAL_TRAFFIC_DEFAULTS = Object.freeze({
  users: 50_000,
  zipfExponent: 0.9,
  turnsPerHour: 8000,
  tools: Object.freeze({ search: 0.4, db: 0.25, code: 0.15, email: 0.1, calendar: 0.1 }),
  topics: Object.freeze({ billing: 0.5, tech: 0.3, account: 0.2 }),
  habitStrength: 0.85,
  concentration: 20,
  toolCallRate: 0.9,
  refusalRate: 0.03,
  errorRate: 0.01,
  thumbsDownRate: 0.01,
  regenerateRate: 0.01,
  humanTakeoverRate: 0.002,
  latencyMedianMillis: 1500,
  latencySigma: 0.4,
  userLatencySigma: 0.3,
  lengthMedian: 300,
  lengthSigma: 0.6,
  sessionUsers: 0,
  sessionShare: 0.5,
});

/** Gamma(shape, 1) by Marsaglia–Tsang (shape < 1 through the u^{1/shape} boost). */
function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * (1 - rng.next()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta with mean `mean` and concentration `kappa`. */
function betaAround(rng: Rng, mean: number, kappa: number): number {
  const x = gamma(rng, mean * kappa);
  const y = gamma(rng, (1 - mean) * kappa);
  return x / (x + y);
}

function pick(names: readonly string[], shares: readonly number[], u: number): number {
  let remaining = u;
  for (let index = 0; index < names.length; index += 1) {
    remaining -= shares[index] ?? 0;
    if (remaining < 0) return index;
  }
  return names.length - 1;
}

/** Standard normal quantile at 0.95. */
const Z95 = 1.6448536269514722;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A 32-bit mix of an hour index and a user rank, for the session draws. */
function hashHour(hour: number, user: number): number {
  return Math.imul(hour ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(user + 1, 0xc2b2ae35);
}

/**
 * Expected share of a tool among users' first tool calls per point of its share among
 * habits: a user with habit strength s calls its usual tool with probability s, each
 * other of the K tools with (1 − s)/(K − 1).
 */
export function habitToMixSlope(habitStrength: number, tools: number): number {
  return habitStrength - (1 - habitStrength) / (tools - 1);
}

/** The population and the traffic it sends; `run` feeds a time range to a processor. */
export class HabitualTraffic {
  readonly options: HabitualTrafficOptions;
  private readonly toolNames: string[];
  private readonly topicNames: string[];
  private readonly usualTool: Uint8Array;
  private readonly movedTool: Uint8Array;
  private readonly usualTopic: Uint8Array;
  private readonly habit: Float64Array;
  private readonly refusal: Float64Array;
  private readonly error: Float64Array;
  private readonly latencyScale: Float64Array;
  private readonly userOf: (rng: Rng) => number;
  private readonly arrivals: Rng;
  private readonly outcomes: Rng;
  private readonly change: TrafficChange | undefined;
  private readonly tailCuts: { readonly median: number; readonly p95: number };
  private readonly subjects: string[] = [];
  private readonly sessionSeed: number;
  private sessionHour = Number.NaN;
  private readonly present: boolean[] = [];
  // Span facts are rebuilt in place: the processor reads them and keeps none.
  private readonly toolFacts: Mutable<AgentSpanFacts>;
  private readonly turnFacts: Mutable<AgentSpanFacts>;
  private readonly feedbackFacts: Mutable<AgentSpanFacts>;
  private clock = 0;
  private spans = 0;
  /** Next arrival, ms. */
  private nextMillis: number;

  constructor(
    options: Partial<HabitualTrafficOptions> & { seed: string | number },
    startMillis: number,
    change?: TrafficChange,
  ) {
    this.options = { ...HABITUAL_TRAFFIC_DEFAULTS, ...options };
    const o = this.options;
    const rng = createRng(o.seed);
    const population = rng.fork('population');
    this.arrivals = rng.fork('arrivals');
    this.outcomes = rng.fork('outcomes');
    this.change = change;
    this.toolNames = Object.keys(o.tools);
    this.topicNames = Object.keys(o.topics);
    const toolShares = Object.values(o.tools);
    const topicShares = Object.values(o.topics);
    this.userOf = zipfSampler(o.users, o.zipfExponent);
    this.usualTool = new Uint8Array(o.users);
    this.movedTool = new Uint8Array(o.users);
    this.usualTopic = new Uint8Array(o.users);
    this.habit = new Float64Array(o.users);
    this.refusal = new Float64Array(o.users);
    this.error = new Float64Array(o.users);
    this.latencyScale = new Float64Array(o.users);
    // Habit move: users of `tool` switch to another usual tool with probability f (or
    // users of other tools switch to it), f chosen so the expected first-call share moves
    // by toolShareMove.
    const moved = change?.tool === undefined ? -1 : this.toolNames.indexOf(change.tool);
    const movedShare = moved < 0 ? 0 : (toolShares[moved] ?? 0);
    const habitMove =
      moved < 0 ? 0 : (change?.toolShareMove ?? 0) / habitToMixSlope(o.habitStrength, this.toolNames.length);
    const othersShare = 1 - movedShare;
    for (let user = 0; user < o.users; user += 1) {
      const tool = pick(this.toolNames, toolShares, population.next());
      this.usualTool[user] = tool;
      this.usualTopic[user] = pick(this.topicNames, topicShares, population.next());
      this.habit[user] = betaAround(population, o.habitStrength, o.concentration);
      this.refusal[user] = betaAround(population, o.refusalRate, o.concentration);
      this.error[user] = betaAround(population, o.errorRate, o.concentration);
      this.latencyScale[user] = o.latencyMedianMillis * Math.exp(o.userLatencySigma * population.normal());
      const switchDraw = population.next();
      const targetDraw = population.next();
      let after = tool;
      if (moved >= 0 && habitMove < 0 && tool === moved && switchDraw < -habitMove / movedShare) {
        // Leaves the moved tool for another, in the others' proportions.
        const rest = toolShares.map((share, index) => (index === moved ? 0 : share / othersShare));
        after = pick(this.toolNames, rest, targetDraw);
      } else if (moved >= 0 && habitMove > 0 && tool !== moved && switchDraw < habitMove / othersShare) {
        after = moved;
      }
      this.movedTool[user] = after;
    }
    const spread = Math.sqrt(o.latencySigma ** 2 + o.userLatencySigma ** 2);
    this.tailCuts = { median: o.latencyMedianMillis, p95: o.latencyMedianMillis * Math.exp(Z95 * spread) };
    this.nextMillis = startMillis + this.arrivals.exponential(o.turnsPerHour / 3_600_000);
    this.sessionSeed = rng.fork('sessions').seed;
    const base = {
      convention: SPAN_CONVENTION.genAi,
      traceId: 'trace',
      spanId: 'span',
      startTimeMillis: startMillis,
      durationMillis: 0,
      isError: false,
      release: 'v1',
    };
    this.toolFacts = { ...base, kind: AGENT_SPAN_KIND.toolCall, durationMillis: 100 };
    this.turnFacts = { ...base, kind: AGENT_SPAN_KIND.turn };
    this.feedbackFacts = { ...base, kind: AGENT_SPAN_KIND.feedback };
  }

  private subjectOf(user: number): string {
    let subject = this.subjects[user];
    if (subject === undefined) {
      subject = `u${user}`;
      this.subjects[user] = subject;
    }
    return subject;
  }

  /** A user of the population for a turn at `at`: heavy users in sessions are present only in some hours. */
  private drawUser(at: number): number {
    const o = this.options;
    for (;;) {
      const user = this.userOf(this.arrivals);
      if (user >= o.sessionUsers) return user;
      const hour = Math.floor(at / 3_600_000);
      if (hour !== this.sessionHour) {
        this.sessionHour = hour;
        for (let heavy = 0; heavy < o.sessionUsers; heavy += 1) {
          this.present[heavy] = createRng((this.sessionSeed ^ hashHour(hour, heavy)) >>> 0).next() < o.sessionShare;
        }
      }
      if (this.present[user]) return user;
    }
  }

  /** Spans recorded so far. */
  spanCount(): number {
    return this.spans;
  }

  /** The simulated clock to give the processor (`now`): the time of the span being recorded. */
  now = (): number => this.clock;

  /** Records every turn (and its tool call and feedback) arriving before `untilMillis`. */
  run(processor: BehaviorSpanProcessor, untilMillis: number): void {
    const o = this.options;
    const rate = o.turnsPerHour / 3_600_000;
    const rng = this.outcomes;
    const tools = this.toolNames.length;
    const topics = this.topicNames.length;
    while (this.nextMillis < untilMillis) {
      const at = this.nextMillis;
      this.nextMillis += this.arrivals.exponential(rate);
      this.clock = at;
      const user = this.drawUser(at);
      const changed = this.change !== undefined && at >= this.change.atMillis;
      const subject = this.subjectOf(user);
      const habit = this.habit[user] ?? 0;
      if (rng.next() < o.toolCallRate) {
        const usual = (changed ? this.movedTool[user] : this.usualTool[user]) ?? 0;
        let tool = usual;
        if (rng.next() >= habit) tool = (usual + 1 + rng.int(tools - 1)) % tools;
        const facts = this.toolFacts;
        facts.startTimeMillis = at;
        facts.subject = subject;
        facts.toolName = this.toolNames[tool] ?? 'unknown';
        this.record(processor, facts);
      }
      let topic = this.usualTopic[user] ?? 0;
      if (rng.next() >= habit) topic = (topic + 1 + rng.int(topics - 1)) % topics;
      let latency = (this.latencyScale[user] ?? 0) * Math.exp(o.latencySigma * rng.normal());
      const refusalFactor = changed ? (this.change?.refusalFactor ?? 1) : 1;
      if (changed) latency = this.slower(latency);
      const turn = this.turnFacts;
      turn.startTimeMillis = at;
      turn.durationMillis = latency;
      turn.isError = rng.next() < (this.error[user] ?? 0);
      turn.refusal = rng.next() < Math.min(1, (this.refusal[user] ?? 0) * refusalFactor);
      turn.outputLength = Math.round(o.lengthMedian * Math.exp(o.lengthSigma * rng.normal()));
      turn.subject = subject;
      turn.topic = this.topicNames[topic] ?? 'unknown';
      this.record(processor, turn);
      const feedback = rng.next();
      const kind =
        feedback < o.thumbsDownRate
          ? FEEDBACK_KIND.thumbsDown
          : feedback < o.thumbsDownRate + o.regenerateRate
            ? FEEDBACK_KIND.regenerate
            : feedback < o.thumbsDownRate + o.regenerateRate + o.humanTakeoverRate
              ? FEEDBACK_KIND.humanTakeover
              : undefined;
      if (kind !== undefined) {
        const facts = this.feedbackFacts;
        facts.startTimeMillis = at;
        facts.subject = subject;
        facts.feedbackKind = kind;
        this.record(processor, facts);
      }
    }
    this.clock = untilMillis;
  }

  private record(processor: BehaviorSpanProcessor, facts: AgentSpanFacts): void {
    this.spans += 1;
    processor.record(facts);
  }

  /** Latency after the change: ×latencyFactor, and the tail-only stretch (median kept, p95 up). */
  private slower(latency: number): number {
    const change = this.change;
    let value = latency * (change?.latencyFactor ?? 1);
    const tail = change?.tailFactor;
    if (tail !== undefined && value > this.tailCuts.median) {
      // Monotone stretch of log-latency: 1 at the median, `tail` at and above the p95,
      // so every quantile at or above the p95 (p99 too) is multiplied by `tail`.
      const span = Math.log(this.tailCuts.p95 / this.tailCuts.median);
      const along = Math.min(1, Math.log(value / this.tailCuts.median) / span);
      value *= 1 + (tail - 1) * along;
    }
    return value;
  }
}
