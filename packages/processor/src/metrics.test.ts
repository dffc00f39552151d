import { type AgentSpanFacts, SPAN_CONVENTION } from '@agent-canary/conventions';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { DURATION_BOUNDARIES_MILLIS, LENGTH_BOUNDARIES, METRIC } from './metrics.js';
import { BehaviorSpanProcessor } from './processor.js';

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let sequence = 0;
function facts(partial: Partial<AgentSpanFacts> & Pick<AgentSpanFacts, 'kind'>): AgentSpanFacts {
  sequence++;
  return {
    convention: SPAN_CONVENTION.genAi,
    traceId: `t${sequence}`,
    spanId: `s${sequence}`,
    startTimeMillis: 0,
    durationMillis: 1000,
    isError: false,
    release: 'v2',
    cohort: 'canary',
    rolloutId: 'r1',
    ...partial,
  };
}

function feed(processor: BehaviorSpanProcessor): void {
  processor.record(facts({ kind: 'turn', subject: 'u1', durationMillis: 250, outputLength: 120, inputTokens: 7 }));
  processor.record(facts({ kind: 'turn', subject: 'u1', durationMillis: 5000, isError: true, refusal: true }));
  processor.record(facts({ kind: 'turn', subject: 'u2', durationMillis: 2900, similarity: 0.87, cohort: 'control' }));
  processor.record(facts({ kind: 'tool_call', subject: 'u1', toolName: 'search', isError: true }));
  processor.record(facts({ kind: 'tool_call', subject: 'u1', toolName: 'search' }));
  processor.record(facts({ kind: 'model_call', inputTokens: 30, outputTokens: 11 }));
  processor.record(facts({ kind: 'feedback', subject: 'u1', feedbackKind: 'thumbs_down' }));
}

function points(metrics: ResourceMetrics, name: string): DataPoint<unknown>[] {
  const metric = metrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []) as DataPoint<unknown>[];
}

function valueWhere(metrics: ResourceMetrics, name: string, attributes: Record<string, string>): unknown {
  return points(metrics, name).find((point) =>
    Object.entries(attributes).every(([key, value]) => point.attributes[key] === value),
  )?.value;
}

describe('metrics', () => {
  it('emits the aggregates as OpenTelemetry metrics with release and cohort attributes', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    feed(new BehaviorSpanProcessor({ meterProvider }));
    const { resourceMetrics } = await reader.collect();
    const canary = {
      'agent_canary.release.id': 'v2',
      'agent_canary.cohort': 'canary',
      'agent_canary.rollout.id': 'r1',
    };
    expect(valueWhere(resourceMetrics, METRIC.turns, { ...canary, outcome: 'ok' })).toBe(1);
    expect(valueWhere(resourceMetrics, METRIC.turns, { ...canary, outcome: 'error' })).toBe(1);
    expect(valueWhere(resourceMetrics, METRIC.refusals, canary)).toBe(1);
    expect(
      valueWhere(resourceMetrics, METRIC.toolCalls, { ...canary, 'gen_ai.tool.name': 'search', outcome: 'error' }),
    ).toBe(1);
    expect(valueWhere(resourceMetrics, METRIC.tokens, { ...canary, 'gen_ai.token.type': 'input' })).toBe(37);
    expect(valueWhere(resourceMetrics, METRIC.tokens, { ...canary, 'gen_ai.token.type': 'output' })).toBe(11);
    expect(
      valueWhere(resourceMetrics, METRIC.feedback, { ...canary, 'agent_canary.feedback.kind': 'thumbs_down' }),
    ).toBe(1);
    expect(valueWhere(resourceMetrics, METRIC.subjectsNew, canary)).toBe(1);
    for (const signal of ['turn_error', 'refusal', 'tool_error', 'thumbs_down']) {
      expect(valueWhere(resourceMetrics, METRIC.subjectsAdverse, { ...canary, signal }), signal).toBe(1);
    }
    // The same users once per subject period, on the series outside rollouts (the drift
    // monitor's, in Prometheus as in process); requests stay on the rollout's series.
    const outside = (name: string, attributes: Record<string, string> = {}) =>
      points(resourceMetrics, name).find(
        (point) =>
          point.attributes['agent_canary.rollout.id'] === undefined &&
          Object.entries({ 'agent_canary.release.id': 'v2', 'agent_canary.cohort': 'canary', ...attributes }).every(
            ([key, value]) => point.attributes[key] === value,
          ),
      )?.value;
    expect(outside(METRIC.subjectsNew)).toBe(1);
    for (const signal of ['turn_error', 'refusal', 'tool_error', 'thumbs_down']) {
      expect(outside(METRIC.subjectsAdverse, { signal }), signal).toBe(1);
    }
    expect(outside(METRIC.turns, { outcome: 'ok' })).toBeUndefined();
    const duration = valueWhere(resourceMetrics, METRIC.turnDuration, canary) as Histogram;
    expect(duration.count).toBe(2);
    expect(duration.sum).toBe(5250);
    expect(duration.buckets.boundaries).toEqual([...DURATION_BOUNDARIES_MILLIS]);
    // 250 ms falls in (240, 300], 5000 ms in (4900, 6000].
    const index = (bound: number) => DURATION_BOUNDARIES_MILLIS.indexOf(bound);
    expect(duration.buckets.counts[index(300)]).toBe(1);
    expect(duration.buckets.counts[index(6000)]).toBe(1);
    const length = valueWhere(resourceMetrics, METRIC.outputLength, canary) as Histogram;
    expect(length.buckets.boundaries).toEqual([...LENGTH_BOUNDARIES]);
    const control = { 'agent_canary.release.id': 'v2', 'agent_canary.cohort': 'control' };
    expect((valueWhere(resourceMetrics, METRIC.similarity, control) as Histogram).sum).toBeCloseTo(0.87, 12);
  });

  it('exports Prometheus text the fleet setup can scrape', async () => {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const meterProvider = new MeterProvider({ readers: [exporter] });
    feed(new BehaviorSpanProcessor({ meterProvider }));
    const { resourceMetrics } = await exporter.collect();
    const text = new PrometheusSerializer().serialize(resourceMetrics);
    // Exporter 0.223 naming: dots -> underscores, `_total` on counters, no unit suffix on
    // histograms, labels in attribute order plus otel_scope_name / otel_scope_version.
    const sample = (name: string, labels: Record<string, string>): number | undefined => {
      for (const line of text.split('\n')) {
        const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
        if (match?.[1] !== name) continue;
        const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
        if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
      }
      return undefined;
    };
    const canary = { agent_canary_cohort: 'canary', agent_canary_release_id: 'v2', agent_canary_rollout_id: 'r1' };
    expect(sample('agent_canary_turns_total', { ...canary, outcome: 'error' })).toBe(1);
    expect(text).toContain('# TYPE agent_canary_turn_duration histogram');
    expect(sample('agent_canary_turn_duration_bucket', { ...canary, le: '300' })).toBe(1);
    expect(sample('agent_canary_turn_duration_bucket', { ...canary, le: '3000' })).toBe(1);
    expect(sample('agent_canary_turn_duration_bucket', { ...canary, le: '+Inf' })).toBe(2);
    expect(sample('agent_canary_turn_duration_count', canary)).toBe(2);
    expect(sample('agent_canary_subjects_adverse_total', { ...canary, signal: 'tool_error' })).toBe(1);
    expect(sample('agent_canary_tool_calls_total', { ...canary, gen_ai_tool_name: 'search', outcome: 'ok' })).toBe(1);
    expect(sample('agent_canary_tokens_total', { ...canary, gen_ai_token_type: 'input' })).toBe(37);
    expect(text).toContain('# TYPE agent_canary_output_length histogram');
    expect(text).toContain('# TYPE agent_canary_similarity histogram');
    await exporter.shutdown();
  });
});
