import type { Attributes, Histogram, MeterProvider } from '@opentelemetry/api';

/**
 * Bucket boundaries of the duration histograms, ms: 48 log-spaced values from 10 ms to
 * 120 s (ratio ≈ 1.22, two significant digits) plus 3000 ms, the article's p99 threshold,
 * so a "p99 < 3 s" check reads an exact bucket edge. Explicit so that every replica
 * exports the same buckets and a Prometheus source can add them up.
 */
export const DURATION_BOUNDARIES_MILLIS: readonly number[] = Object.freeze([
  10, 12, 15, 18, 22, 27, 33, 41, 49, 60, 74, 90, 110, 130, 160, 200, 240, 300, 360, 450, 540, 660, 810, 990, 1200,
  1500, 1800, 2200, 2700, 3000, 3300, 4000, 4900, 6000, 7300, 8900, 11000, 13000, 16000, 20000, 24000, 30000, 36000,
  44000, 54000, 66000, 80000, 98000, 120000,
]);

/** Bucket boundaries of the answer-length histogram, characters: 41 log-spaced values from 10 to 100 000. */
export const LENGTH_BOUNDARIES: readonly number[] = Object.freeze([
  10, 13, 16, 20, 25, 32, 40, 50, 63, 79, 100, 130, 160, 200, 250, 320, 400, 500, 630, 790, 1000, 1300, 1600, 2000,
  2500, 3200, 4000, 5000, 6300, 7900, 10000, 13000, 16000, 20000, 25000, 32000, 40000, 50000, 63000, 79000, 100000,
]);

/** Bucket boundaries of the 0..1 score histograms (similarity, toxicity): steps of 0.05. */
export const SCORE_BOUNDARIES: readonly number[] = Object.freeze(
  Array.from({ length: 20 }, (_, index) => Math.round((index + 1) * 5) / 100),
);

/** Names of the metrics the processor emits (see docs/metrics.md for the Prometheus names). */
export const METRIC = {
  turns: 'agent_canary.turns',
  turnDuration: 'agent_canary.turn.duration',
  modelCalls: 'agent_canary.model_calls',
  modelCallDuration: 'agent_canary.model_call.duration',
  toolCalls: 'agent_canary.tool_calls',
  refusals: 'agent_canary.refusals',
  outputLength: 'agent_canary.output.length',
  tokens: 'agent_canary.tokens',
  feedback: 'agent_canary.feedback',
  subjectsNew: 'agent_canary.subjects.new',
  subjectsAdverse: 'agent_canary.subjects.adverse',
  similarity: 'agent_canary.similarity',
  toxicity: 'agent_canary.toxicity',
  spansUnrecognised: 'agent_canary.processor.spans.unrecognised',
} as const;
/** One of {@link METRIC}. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Attribute keys of the metrics that no shared constant covers. */
export const METRIC_ATTR = {
  outcome: 'outcome',
  signal: 'signal',
  tokenType: 'gen_ai.token.type',
  feedbackKind: 'agent_canary.feedback.kind',
  reason: 'reason',
} as const;

/** Counters, kept as running totals and reported through observable (asynchronous) counters. */
export type CounterKey =
  | 'turns'
  | 'modelCalls'
  | 'toolCalls'
  | 'refusals'
  | 'tokens'
  | 'feedback'
  | 'subjectsNew'
  | 'subjectsAdverse'
  | 'spansUnrecognised';
const COUNTER_KEYS: readonly CounterKey[] = [
  'turns',
  'modelCalls',
  'toolCalls',
  'refusals',
  'tokens',
  'feedback',
  'subjectsNew',
  'subjectsAdverse',
  'spansUnrecognised',
];

/** Running totals per counter, keyed by a cached (frozen, identity-stable) attribute set. */
export type CounterTotals = Record<CounterKey, Map<Attributes, number>>;

/** @internal */
export function emptyTotals(): CounterTotals {
  return Object.fromEntries(COUNTER_KEYS.map((key) => [key, new Map<Attributes, number>()])) as CounterTotals;
}

/** @internal Adds `value` to a running total. */
export function addTotal(totals: CounterTotals, key: CounterKey, attributes: Attributes, value: number): void {
  const map = totals[key];
  map.set(attributes, (map.get(attributes) ?? 0) + value);
}

/** @internal The synchronous instruments (histograms), created once per processor. */
export interface Instruments {
  readonly turnDuration: Histogram;
  readonly modelCallDuration: Histogram;
  readonly outputLength: Histogram;
  readonly similarity: Histogram;
  readonly toxicity: Histogram;
}

const COUNTER_DESCRIPTIONS: Readonly<Record<CounterKey, { name: MetricName; description: string; unit: string }>> = {
  turns: { name: METRIC.turns, description: 'Agent turns, by outcome (ok | error).', unit: '{turn}' },
  modelCalls: { name: METRIC.modelCalls, description: 'Model calls, by outcome (ok | error).', unit: '{call}' },
  toolCalls: {
    name: METRIC.toolCalls,
    description: 'Tool calls, by tool name and outcome (ok | error).',
    unit: '{call}',
  },
  refusals: { name: METRIC.refusals, description: 'Turns the agent refused.', unit: '{turn}' },
  tokens: {
    name: METRIC.tokens,
    description: 'Tokens used, by gen_ai.token.type (input | output); each token counted once.',
    unit: '{token}',
  },
  feedback: { name: METRIC.feedback, description: 'User feedback, by kind.', unit: '{feedback}' },
  subjectsNew: {
    name: METRIC.subjectsNew,
    description: 'Distinct subjects (units of randomisation) seen for the first time.',
    unit: '{subject}',
  },
  subjectsAdverse: {
    name: METRIC.subjectsAdverse,
    description: 'Distinct subjects with a first adverse event, by signal.',
    unit: '{subject}',
  },
  spansUnrecognised: {
    name: METRIC.spansUnrecognised,
    description: 'Ended spans the processor did not use, by reason (unrecognised | no_release | series_cap).',
    unit: '{span}',
  },
};

/**
 * @internal Creates the instruments. Counters are observable: the hot path only adds to a
 * running total (a synchronous counter hashes its attribute set on every call, which cost
 * more than the whole aggregation), and the SDK reads `totals()` at collection time.
 */
export function createInstruments(
  provider: MeterProvider,
  version: string,
  totals: () => Iterable<CounterTotals>,
): Instruments {
  const meter = provider.getMeter('@agent-canary/processor', version);
  for (const key of COUNTER_KEYS) {
    const { name, description, unit } = COUNTER_DESCRIPTIONS[key];
    meter.createObservableCounter(name, { description, unit }).addCallback((result) => {
      for (const set of totals()) for (const [attributes, value] of set[key]) result.observe(value, attributes);
    });
  }
  const durationAdvice = { advice: { explicitBucketBoundaries: [...DURATION_BOUNDARIES_MILLIS] } };
  const scoreAdvice = { advice: { explicitBucketBoundaries: [...SCORE_BOUNDARIES] } };
  return {
    turnDuration: meter.createHistogram(METRIC.turnDuration, {
      description: 'Duration of agent turns.',
      unit: 'ms',
      ...durationAdvice,
    }),
    modelCallDuration: meter.createHistogram(METRIC.modelCallDuration, {
      description: 'Duration of model calls.',
      unit: 'ms',
      ...durationAdvice,
    }),
    outputLength: meter.createHistogram(METRIC.outputLength, {
      description: 'Length of the final answer of a turn, in characters.',
      unit: '{char}',
      advice: { explicitBucketBoundaries: [...LENGTH_BOUNDARIES] },
    }),
    similarity: meter.createHistogram(METRIC.similarity, {
      description: 'Similarity of the answer to the control answer, 0..1.',
      unit: '1',
      ...scoreAdvice,
    }),
    toxicity: meter.createHistogram(METRIC.toxicity, {
      description: 'Toxicity score of the answer, 0..1.',
      unit: '1',
      ...scoreAdvice,
    }),
  };
}

/** @internal Attribute sets of one series, built once so the hot path allocates nothing. */
export class SeriesAttributes {
  readonly base: Attributes;
  readonly ok: Attributes;
  readonly error: Attributes;
  readonly inputTokens: Attributes;
  readonly outputTokens: Attributes;
  /** Running totals of this series' counters. */
  readonly totals: CounterTotals = emptyTotals();
  private readonly byTool = new Map<string, { ok: Attributes; error: Attributes }>();
  private readonly byKey = new Map<string, Attributes>();

  constructor(base: Attributes) {
    this.base = Object.freeze({ ...base });
    this.ok = Object.freeze({ ...base, [METRIC_ATTR.outcome]: 'ok' });
    this.error = Object.freeze({ ...base, [METRIC_ATTR.outcome]: 'error' });
    this.inputTokens = Object.freeze({ ...base, [METRIC_ATTR.tokenType]: 'input' });
    this.outputTokens = Object.freeze({ ...base, [METRIC_ATTR.tokenType]: 'output' });
  }

  tool(toolName: string, isError: boolean, toolAttribute: string): Attributes {
    let pair = this.byTool.get(toolName);
    if (pair === undefined) {
      pair = {
        ok: Object.freeze({ ...this.ok, [toolAttribute]: toolName }),
        error: Object.freeze({ ...this.error, [toolAttribute]: toolName }),
      };
      this.byTool.set(toolName, pair);
    }
    return isError ? pair.error : pair.ok;
  }

  /** Base attributes plus one `key = value` pair (feedback kind, adverse signal); values come from closed sets. */
  with(key: string, value: string): Attributes {
    const cacheKey = `${key}\u0000${value}`;
    let attributes = this.byKey.get(cacheKey);
    if (attributes === undefined) {
      attributes = Object.freeze({ ...this.base, [key]: value });
      this.byKey.set(cacheKey, attributes);
    }
    return attributes;
  }
}
