import { COHORT, type Cohort, ConfigError, FEEDBACK_KIND } from '@agent-canary/conventions';
import type {
  BucketCount,
  CohortWindow,
  MetricQuery,
  MetricReadResult,
  MetricSource,
  ToolCounts,
} from '@agent-canary/gate';
import { diag } from '@opentelemetry/api';

/** Prometheus names of the processor's metrics (docs/metrics.md; exporter-prometheus naming). */
export const PROMETHEUS_METRIC = {
  turns: 'agent_canary_turns_total',
  turnDuration: 'agent_canary_turn_duration_bucket',
  toolCalls: 'agent_canary_tool_calls_total',
  refusals: 'agent_canary_refusals_total',
  outputLength: 'agent_canary_output_length_bucket',
  feedback: 'agent_canary_feedback_total',
  subjectsNew: 'agent_canary_subjects_new_total',
  subjectsAdverse: 'agent_canary_subjects_adverse_total',
  similarityBucket: 'agent_canary_similarity_bucket',
  similaritySum: 'agent_canary_similarity_sum',
  similarityCount: 'agent_canary_similarity_count',
  toxicitySum: 'agent_canary_toxicity_sum',
  toxicityCount: 'agent_canary_toxicity_count',
  toxicityBucket: 'agent_canary_toxicity_bucket',
} as const;

/** Prometheus label names of the attributes the gate reads. */
export const PROMETHEUS_LABEL = {
  release: 'agent_canary_release_id',
  cohort: 'agent_canary_cohort',
  rollout: 'agent_canary_rollout_id',
  outcome: 'outcome',
  tool: 'gen_ai_tool_name',
  feedbackKind: 'agent_canary_feedback_kind',
  signal: 'signal',
  le: 'le',
} as const;

/** Options of {@link prometheusSource}. */
export interface PrometheusSourceOptions {
  /** Base URL of anything that answers the Prometheus HTTP query API (Prometheus, Thanos, Mimir, VictoriaMetrics). */
  readonly url: string;
  /** Extra HTTP headers (e.g. `Authorization`). @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** Abort a query after this long. @default 5000 */
  readonly timeoutMillis?: number;
  /** Extra label matchers added to every selector, e.g. `job="agents"`. @default '' */
  readonly selector?: string;
  /** `fetch` to use (tests, proxies). @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Resolved options of {@link prometheusSource}. */
export interface PrometheusSourceConfig {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMillis: number;
  readonly selector: string;
  readonly fetch: typeof fetch;
}

/** Defaults of {@link PrometheusSourceOptions}. */
export const PROMETHEUS_SOURCE_DEFAULTS = Object.freeze({ timeoutMillis: 5000, selector: '' });

/**
 * Validates the options of {@link prometheusSource}.
 * @throws ConfigError naming the field.
 */
export function resolvePrometheusSourceConfig(options: PrometheusSourceOptions): PrometheusSourceConfig {
  if (typeof options?.url !== 'string' || !/^https?:\/\//.test(options.url)) {
    throw new ConfigError({ path: 'url', expected: 'an http(s) URL', received: options?.url });
  }
  const timeoutMillis = options.timeoutMillis ?? PROMETHEUS_SOURCE_DEFAULTS.timeoutMillis;
  if (typeof timeoutMillis !== 'number' || !(timeoutMillis > 0) || !Number.isFinite(timeoutMillis)) {
    throw new ConfigError({
      path: 'timeoutMillis',
      expected: 'a positive number of milliseconds',
      received: timeoutMillis,
    });
  }
  const selector = options.selector ?? PROMETHEUS_SOURCE_DEFAULTS.selector;
  if (typeof selector !== 'string') {
    throw new ConfigError({ path: 'selector', expected: 'label matchers as a string', received: selector });
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') {
    throw new ConfigError({
      path: 'fetch',
      expected: 'a fetch function (Node 18+ has one)',
      received: typeof fetchImpl,
    });
  }
  return Object.freeze({
    url: options.url.replace(/\/+$/, ''),
    headers: Object.freeze({ ...(options.headers ?? {}) }),
    timeoutMillis,
    selector,
    fetch: fetchImpl,
  });
}

/** One raw series of an instant vector. */
interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

type Vector = { ok: true; samples: Sample[] } | { ok: false; reason: string };

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function instantQuery(config: PrometheusSourceConfig, query: string, timeSeconds: number): Promise<Vector> {
  const body = new URLSearchParams({ query, time: timeSeconds.toFixed(3) });
  let response: Response;
  try {
    response = await config.fetch(`${config.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...config.headers },
      body,
      signal: AbortSignal.timeout(config.timeoutMillis),
    });
  } catch (error) {
    return { ok: false, reason: `Prometheus at ${config.url} did not answer: ${String(error)}` };
  }
  let payload: unknown;
  try {
    payload = await response.json();
  } catch {
    return { ok: false, reason: `Prometheus at ${config.url} answered HTTP ${response.status} without JSON` };
  }
  const data = payload as {
    status?: string;
    error?: string;
    data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string] }[] };
  };
  if (!response.ok || data.status !== 'success') {
    return {
      ok: false,
      reason: `Prometheus query failed (HTTP ${response.status}): ${data.error ?? 'no error message'}`,
    };
  }
  if (data.data?.resultType !== 'vector' || !Array.isArray(data.data.result)) {
    return {
      ok: false,
      reason: `Prometheus answered a ${data.data?.resultType ?? 'missing'} result, expected a vector`,
    };
  }
  const samples: Sample[] = [];
  for (const entry of data.data.result) {
    const value = Number(entry.value?.[1]);
    if (Number.isFinite(value)) samples.push({ labels: entry.metric ?? {}, value });
  }
  return { ok: true, samples };
}

function seriesKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
}

/**
 * Per raw series, the increase between the two instants. A series that went down was
 * reset (a replica restarted): its value at `until` is what it counted since the reset.
 */
function increases(before: readonly Sample[], after: readonly Sample[]): Sample[] {
  const start = new Map<string, number>();
  for (const sample of before) start.set(seriesKey(sample.labels), sample.value);
  return after.map((sample) => {
    const previous = start.get(seriesKey(sample.labels)) ?? 0;
    const delta = sample.value - previous;
    return { labels: sample.labels, value: delta >= 0 ? delta : sample.value };
  });
}

/** Accumulates increases of one cohort into the gate's window shape. */
class CohortBuilder {
  requests = 0;
  errors = 0;
  subjects = 0;
  refusals = 0;
  thumbsUp = 0;
  thumbsDown = 0;
  readonly adverse = new Map<string, number>();
  readonly tools = new Map<string, { calls: number; failures: number }>();
  readonly histograms = new Map<string, Map<number, number>>();
  readonly sums = new Map<string, number>();
  readonly counts = new Map<string, number>();

  addBucket(histogram: string, le: string, value: number): void {
    const upper = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    if (Number.isNaN(upper)) return;
    let buckets = this.histograms.get(histogram);
    if (!buckets) {
      buckets = new Map();
      this.histograms.set(histogram, buckets);
    }
    buckets.set(upper, (buckets.get(upper) ?? 0) + value);
  }

  /** Cumulative `le` buckets to per-bucket counts. */
  buckets(histogram: string): BucketCount[] {
    const cumulative = [...(this.histograms.get(histogram)?.entries() ?? [])].sort((a, b) => a[0] - b[0]);
    let previous = 0;
    return cumulative.map(([upper, total]) => {
      // Buckets are summed over replicas; rounding noise must not produce negative counts.
      const count = Math.max(0, total - previous);
      previous = Math.max(previous, total);
      return { upper, count };
    });
  }

  window(): CohortWindow {
    const toolCallsByName: Record<string, ToolCounts> = {};
    let toolCalls = 0;
    let toolFailures = 0;
    for (const [tool, counts] of this.tools) {
      toolCallsByName[tool] = { ...counts };
      toolCalls += counts.calls;
      toolFailures += counts.failures;
    }
    const score = (bucket: string, sum: string, count: string) => ({
      count: this.counts.get(count) ?? 0,
      sum: this.sums.get(sum) ?? 0,
      buckets: this.buckets(bucket),
    });
    return {
      requests: this.requests,
      errors: this.errors,
      subjects: this.subjects,
      subjectsWithError: this.adverse.get('turn_error') ?? 0,
      toolCalls,
      toolFailures,
      subjectsWithToolFailure: this.adverse.get('tool_error') ?? 0,
      toolCallsByName,
      refusals: this.refusals,
      subjectsWithRefusal: this.adverse.get('refusal') ?? 0,
      feedback: this.thumbsUp + this.thumbsDown,
      thumbsDown: this.thumbsDown,
      subjectsWithThumbsDown: this.adverse.get('thumbs_down') ?? 0,
      latencyMillis: this.buckets(PROMETHEUS_METRIC.turnDuration),
      outputLength: this.buckets(PROMETHEUS_METRIC.outputLength),
      similarity: score(
        PROMETHEUS_METRIC.similarityBucket,
        PROMETHEUS_METRIC.similaritySum,
        PROMETHEUS_METRIC.similarityCount,
      ),
      toxicity: score(PROMETHEUS_METRIC.toxicityBucket, PROMETHEUS_METRIC.toxicitySum, PROMETHEUS_METRIC.toxicityCount),
    };
  }

  add(sample: Sample): void {
    const { labels, value } = sample;
    const name = labels['__name__'] ?? '';
    switch (name) {
      case PROMETHEUS_METRIC.turns:
        this.requests += value;
        if (labels[PROMETHEUS_LABEL.outcome] === 'error') this.errors += value;
        return;
      case PROMETHEUS_METRIC.toolCalls: {
        const tool = labels[PROMETHEUS_LABEL.tool] ?? 'other';
        const counts = this.tools.get(tool) ?? { calls: 0, failures: 0 };
        counts.calls += value;
        if (labels[PROMETHEUS_LABEL.outcome] === 'error') counts.failures += value;
        this.tools.set(tool, counts);
        return;
      }
      case PROMETHEUS_METRIC.refusals:
        this.refusals += value;
        return;
      case PROMETHEUS_METRIC.feedback: {
        const kind = labels[PROMETHEUS_LABEL.feedbackKind];
        if (kind === FEEDBACK_KIND.thumbsDown) this.thumbsDown += value;
        else if (kind === FEEDBACK_KIND.thumbsUp) this.thumbsUp += value;
        return;
      }
      case PROMETHEUS_METRIC.subjectsNew:
        this.subjects += value;
        return;
      case PROMETHEUS_METRIC.subjectsAdverse: {
        const signal = labels[PROMETHEUS_LABEL.signal] ?? '';
        this.adverse.set(signal, (this.adverse.get(signal) ?? 0) + value);
        return;
      }
      case PROMETHEUS_METRIC.turnDuration:
      case PROMETHEUS_METRIC.outputLength:
      case PROMETHEUS_METRIC.similarityBucket:
      case PROMETHEUS_METRIC.toxicityBucket:
        this.addBucket(name, labels[PROMETHEUS_LABEL.le] ?? '', value);
        return;
      case PROMETHEUS_METRIC.similaritySum:
      case PROMETHEUS_METRIC.toxicitySum:
        this.sums.set(name, (this.sums.get(name) ?? 0) + value);
        return;
      case PROMETHEUS_METRIC.similarityCount:
      case PROMETHEUS_METRIC.toxicityCount:
        this.counts.set(name, (this.counts.get(name) ?? 0) + value);
        return;
    }
  }
}

/**
 * A metric source over the Prometheus HTTP API: the fleet setup, where every agent
 * replica exports the processor's metrics and one controller queries the aggregate.
 *
 * Each read asks for the raw series of the processor's metrics at `sinceMillis` and at
 * `untilMillis` (two instant queries) and subtracts them series by series, so counts stay
 * exact integers (`increase()` would extrapolate); a counter that went down restarted
 * and counts from zero. Histogram `le` buckets become per-bucket counts on the
 * processor's fixed boundaries. Prometheus has no per-subject latency or length
 * histograms, so subject-unit distribution tests fall back to every request. Any failure
 * resolves to `{ ok: false, reason }`; the gate then answers inconclusive with it.
 *
 * @example
 * const source = prometheusSource({ url: 'http://prometheus:9090' });
 */
export function prometheusSource(options: PrometheusSourceOptions): MetricSource {
  const config = resolvePrometheusSourceConfig(options);
  const names = Object.values(PROMETHEUS_METRIC).map(escapeRegex).join('|');
  return {
    name: 'prometheus',
    async read(query: MetricQuery): Promise<MetricReadResult> {
      try {
        const releases = [...new Set([query.releases.canary, query.releases.stable])].map(escapeRegex).join('|');
        const extra = config.selector.trim() === '' ? '' : `,${config.selector.trim()}`;
        const promql = `{__name__=~"${names}",${PROMETHEUS_LABEL.release}=~"${escapeLabel(releases)}"${extra}}`;
        const [before, after] = await Promise.all([
          instantQuery(config, promql, query.sinceMillis / 1000),
          instantQuery(config, promql, query.untilMillis / 1000),
        ]);
        if (!before.ok) return { ok: false, reason: before.reason };
        if (!after.ok) return { ok: false, reason: after.reason };
        const samples = increases(before.samples, after.samples);
        const wanted = query.rolloutId;
        // Filter on the rollout id only when this rollout's series carry it (as in-process).
        const byRollout =
          wanted !== undefined && samples.some((sample) => sample.labels[PROMETHEUS_LABEL.rollout] === wanted);
        const builders: Record<Cohort, CohortBuilder> = {
          stable: new CohortBuilder(),
          canary: new CohortBuilder(),
          control: new CohortBuilder(),
        };
        for (const sample of samples) {
          if (byRollout && sample.labels[PROMETHEUS_LABEL.rollout] !== wanted) continue;
          const cohort = sample.labels[PROMETHEUS_LABEL.cohort];
          const release = sample.labels[PROMETHEUS_LABEL.release];
          const expected = cohort === COHORT.canary ? query.releases.canary : query.releases.stable;
          if (cohort !== COHORT.stable && cohort !== COHORT.canary && cohort !== COHORT.control) continue;
          if (release !== expected) continue;
          builders[cohort].add(sample);
        }
        return {
          ok: true,
          windows: {
            sinceMillis: query.sinceMillis,
            untilMillis: query.untilMillis,
            cohorts: {
              stable: builders.stable.window(),
              canary: builders.canary.window(),
              control: builders.control.window(),
            },
          },
        };
      } catch (error) {
        diag.error('agent-canary prometheus source: read failed', error);
        return { ok: false, reason: `Prometheus read failed: ${String(error)}` };
      }
    },
  };
}
