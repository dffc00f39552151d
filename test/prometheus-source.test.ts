/**
 * The Prometheus metric source against a REAL Prometheus scraping this test process:
 * real spans go through a real tracer into the BehaviorSpanProcessor, whose metrics the
 * OpenTelemetry Prometheus exporter serves on loopback; the source's windows must match
 * the in-process source's for the same spans.
 */

import { inProcessSource, prometheusSource } from '@agent-canary/controller';
import {
  ATTR_COHORT,
  ATTR_ERROR_TYPE,
  ATTR_FEEDBACK_KIND,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_OUTPUT_LENGTH,
  ATTR_REFUSAL,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  ATTR_SIMILARITY,
  ATTR_SUBJECT,
  type Cohort,
  FEEDBACK_SPAN_NAME,
} from '@agent-canary/conventions';
import {
  type CohortWindow,
  createGate,
  type MetricQuery,
  quantileOf,
  resolveGateConfig,
  totalCount,
} from '@agent-canary/gate';
import {
  metricBehaviorSource,
  OUTSIDE_ROLLOUTS_PROMETHEUS_SELECTOR,
  processorBehaviorSource,
} from '@agent-canary/monitor';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { type Attributes, context, SpanStatusCode, trace } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type PrometheusHandle, prometheusUnavailableReason, startPrometheus } from './helpers/prometheus.js';

const unavailable = prometheusUnavailableReason();
// Locally a missing binary skips with the reason in the test name; CI must have it.
const skip = unavailable !== undefined && !process.env['CI'];
const title = skip ? `prometheus source (skipped: ${unavailable})` : 'prometheus source against a real Prometheus';

describe.skipIf(skip)(title, () => {
  const startedAtMillis = Date.now() - 1000;
  let prometheus: PrometheusHandle;
  let exporter: PrometheusExporter;
  let processor: BehaviorSpanProcessor;
  let tracerProvider: BasicTracerProvider;

  beforeAll(async () => {
    if (unavailable !== undefined) throw new Error(`CI requires Prometheus: ${unavailable}`);
    const port = await freePort();
    exporter = new PrometheusExporter({ host: '127.0.0.1', port });
    await exporter.startServer();
    const meterProvider = new MeterProvider({ readers: [exporter] });
    processor = new BehaviorSpanProcessor({ meterProvider });
    tracerProvider = new BasicTracerProvider({ spanProcessors: [processor] });
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`] });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.shutdown();
    await tracerProvider?.shutdown();
  });

  /** Deterministic traffic: 3 cohorts, sticky subjects, errors, tools, refusals, feedback. */
  function emitTraffic(): void {
    const tracer = tracerProvider.getTracer('prometheus-source-test');
    const cohorts: [Cohort, string][] = [
      ['stable', 'v1'],
      ['canary', 'v2'],
      ['control', 'v1'],
    ];
    let n = 0;
    for (let user = 0; user < 90; user++) {
      const [cohort, release] = cohorts[user % 3] ?? ['stable', 'v1'];
      for (let turn = 0; turn < 1 + (user % 4); turn++) {
        n++;
        const assignment: Attributes = {
          [ATTR_RELEASE_ID]: release,
          [ATTR_COHORT]: cohort,
          [ATTR_ROLLOUT_ID]: 'r-prom',
          [ATTR_SUBJECT]: `subject-${user}`,
        };
        const attributes: Attributes = {
          ...assignment,
          [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent',
          [ATTR_OUTPUT_LENGTH]: 50 + ((n * 37) % 900),
        };
        if (n % 11 === 0) attributes[ATTR_REFUSAL] = true;
        if (n % 5 === 0) attributes[ATTR_SIMILARITY] = 0.5 + ((n * 13) % 50) / 100;
        const start = Date.now() - 10_000;
        const span = tracer.startSpan('invoke_agent support', { startTime: start, attributes });
        const parent = trace.setSpan(context.active(), span);
        const tool = tracer.startSpan(
          'execute_tool search',
          {
            startTime: start,
            attributes: {
              ...assignment,
              [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
              [ATTR_GEN_AI_TOOL_NAME]: n % 3 ? 'search' : 'db',
            },
          },
          parent,
        );
        if (n % 7 === 0) {
          tool.setAttribute(ATTR_ERROR_TYPE, 'timeout');
          tool.setStatus({ code: SpanStatusCode.ERROR });
        }
        tool.end(start + 20);
        if (n % 9 === 0) {
          span.setAttribute(ATTR_ERROR_TYPE, 'boom');
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end(start + 100 + ((n * 97) % 4000));
        if (n % 4 === 0) {
          tracer
            .startSpan(FEEDBACK_SPAN_NAME, {
              attributes: { ...assignment, [ATTR_FEEDBACK_KIND]: n % 8 === 0 ? 'thumbs_down' : 'thumbs_up' },
            })
            .end();
        }
      }
    }
  }

  const query = (): MetricQuery => ({
    flagKey: 'agent.release',
    rolloutId: 'r-prom',
    releases: { canary: 'v2', stable: 'v1' },
    sinceMillis: startedAtMillis,
    untilMillis: Date.now(),
  });

  it('reads the same counts and distributions as the in-process source', async () => {
    emitTraffic();
    const local = await inProcessSource(processor).read(query());
    if (!local.ok) throw new Error(local.reason);
    const remote = prometheusSource({ url: prometheus.url });
    // Wait for a scrape that holds every span: the canary's turn count must match.
    let answer = await remote.read(query());
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const stable = answer.ok && answer.windows.cohorts.stable.requests === local.windows.cohorts.stable.requests;
      const canary = answer.ok && answer.windows.cohorts.canary.requests === local.windows.cohorts.canary.requests;
      if (stable && canary && answer.ok && answer.windows.cohorts.control.feedback > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
      answer = await remote.read(query());
    }
    if (!answer.ok) throw new Error(answer.reason);
    for (const cohort of ['stable', 'canary', 'control'] as const) {
      const a: CohortWindow = local.windows.cohorts[cohort];
      const b: CohortWindow = answer.windows.cohorts[cohort];
      expect(a.requests, cohort).toBeGreaterThan(20);
      for (const field of [
        'requests',
        'errors',
        'subjects',
        'subjectsWithError',
        'toolCalls',
        'toolFailures',
        'subjectsWithToolFailure',
        'refusals',
        'subjectsWithRefusal',
        'feedback',
        'thumbsDown',
        'subjectsWithThumbsDown',
      ] as const) {
        expect(b[field], `${cohort}.${field}`).toBe(a[field]);
      }
      expect(b.toolCallsByName, `${cohort}.toolCallsByName`).toEqual(a.toolCallsByName);
      expect(totalCount(b.latencyMillis)).toBe(totalCount(a.latencyMillis));
      expect(totalCount(b.outputLength)).toBe(totalCount(a.outputLength));
      expect(b.similarity.count).toBe(a.similarity.count);
      expect(b.similarity.sum).toBeCloseTo(a.similarity.sum, 6);
      // Different bucketings (DDSketch at 1% vs the exported explicit buckets, ratio <= 1.25):
      // the medians agree within one explicit bucket.
      const ratio = (quantileOf(b.latencyMillis, 0.5) ?? 0) / (quantileOf(a.latencyMillis, 0.5) ?? 1);
      expect(ratio, `${cohort} latency median ratio`).toBeGreaterThan(0.8);
      expect(ratio, `${cohort} latency median ratio`).toBeLessThan(1.3);
      // Prometheus has no per-subject histograms: the gate falls back to every request.
      expect(b.subjectLatencyMillis).toBeUndefined();
    }
  });

  it('gives the drift monitor the same users of a promoted release as the in-process source', async () => {
    // After a promotion the flag serves v3 to everyone as rollout r-promoted's canary
    // cohort: every span carries the rollout id. A few users were served v3 without one.
    const tracer = tracerProvider.getTracer('prometheus-source-test');
    // From the start of the processor's current 10 s bucket (windows are whole buckets).
    const since = Math.floor(Date.now() / 10_000) * 10_000;
    for (let user = 0; user < 60; user++) {
      for (let turn = 0; turn < 1 + (user % 5); turn++) {
        const attributes: Attributes = {
          [ATTR_RELEASE_ID]: 'v3',
          [ATTR_COHORT]: user < 50 ? 'canary' : 'stable',
          [ATTR_SUBJECT]: `promoted-${user}`,
          [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent',
        };
        if (user < 50) attributes[ATTR_ROLLOUT_ID] = 'r-promoted';
        if ((user + turn) % 7 === 0) attributes[ATTR_REFUSAL] = true;
        const span = tracer.startSpan('invoke_agent support', { attributes });
        if (turn === 1 && user % 4 === 0) {
          span.setAttribute(ATTR_ERROR_TYPE, 'boom');
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      }
    }
    const query = () => ({ release: 'v3', sinceMillis: since, untilMillis: Date.now() + 1000 });
    const local = await processorBehaviorSource(processor).read(query());
    if (!local.ok) throw new Error(local.reason);
    expect(local.window.users).toBe(60);
    const remote = metricBehaviorSource(
      prometheusSource({ url: prometheus.url, selector: OUTSIDE_ROLLOUTS_PROMETHEUS_SELECTOR }),
    );
    let answer = await remote.read(query());
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(answer.ok && answer.window.users === local.window.users)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      answer = await remote.read(query());
    }
    if (!answer.ok) throw new Error(answer.reason);
    expect(answer.window.users).toBe(local.window.users);
    for (const event of ['turn_error', 'refusal', 'thumbs_down'] as const) {
      expect(answer.window.usersWith[event], event).toBe(local.window.usersWith[event]);
    }
    expect(local.window.usersWith.refusal).toBeGreaterThan(0);
    expect(local.window.usersWith.turn_error).toBeGreaterThan(0);
    // Without the selector, the rollout's own counts (each user once per rollout) add up.
    const unfiltered = await metricBehaviorSource(prometheusSource({ url: prometheus.url })).read(query());
    expect(unfiltered.ok && unfiltered.window.users).toBe(110);
  });

  it('drives the gate, which names the fallback unit in its evidence', async () => {
    const gate = createGate(
      resolveGateConfig({ minSamples: 5, warmup: { minMillis: 0 } }),
      prometheusSource({ url: prometheus.url }),
    );
    const { result } = await gate.evaluate({
      rolloutId: 'r-prom',
      flagKey: 'agent.release',
      canaryRelease: 'v2',
      stableRelease: 'v1',
      startedAtMillis,
      nowMillis: Date.now(),
      canaryBasisPoints: 3333,
      controlBasisPoints: 3333,
    });
    expect(result.requests.canary).toBeGreaterThan(20);
    const latency = result.checks.find((c) => c.check === 'latency_p99' && c.method === 'sequential');
    expect(latency?.unit).toBe('request');
    expect(result.reason.length).toBeGreaterThan(10);
  });

  it('resolves with a reason, never throws, when Prometheus rejects the query or is unreachable', async () => {
    const broken = prometheusSource({ url: prometheus.url, selector: 'not a matcher' });
    const rejected = await broken.read(query());
    expect(rejected.ok).toBe(false);
    if (!rejected.ok) expect(rejected.reason).toMatch(/Prometheus query failed \(HTTP 400\)/);
    const port = await freePort();
    const gone = prometheusSource({ url: `http://127.0.0.1:${port}`, timeoutMillis: 2000 });
    const unreachable = await gone.read(query());
    expect(unreachable.ok).toBe(false);
    const gate = createGate(resolveGateConfig(), gone);
    const { result } = await gate.evaluate({
      rolloutId: 'r-prom',
      flagKey: 'agent.release',
      canaryRelease: 'v2',
      stableRelease: 'v1',
      startedAtMillis,
      nowMillis: Date.now(),
      canaryBasisPoints: 500,
      controlBasisPoints: 500,
    });
    expect(result.verdict).toBe('inconclusive');
    expect(result.reason).toMatch(/did not answer/);
  });
});
