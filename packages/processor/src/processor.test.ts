import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AGENT_SPAN_KIND,
  type AgentSpanFacts,
  ATTR_COHORT,
  ATTR_ERROR_TYPE,
  ATTR_FEEDBACK_KIND,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_OUTPUT_LENGTH,
  ATTR_REFUSAL,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  ATTR_SIMILARITY,
  ATTR_SUBJECT,
  ATTR_TOPIC,
  type Cohort,
  ConfigError,
  FEEDBACK_SPAN_NAME,
  SPAN_CONVENTION,
} from '@agent-canary/conventions';
import { QuantileSketch } from '@agent-canary/stats';
import { type Attributes, context, DiagLogLevel, diag, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadFixtureSpans } from './normalize/fixture-spans.js';
import { normalizeSpan } from './normalize/index.js';
import { BehaviorSpanProcessor } from './processor.js';
import { mergeSnapshots, PROCESSOR_SNAPSHOT_VERSION, type ProcessorSnapshot, selectSeries } from './snapshot.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

interface TurnSpec {
  readonly release?: string;
  readonly cohort?: Cohort;
  readonly rolloutId?: string;
  readonly subject?: string;
  readonly durationMillis?: number;
  readonly error?: boolean;
  readonly refusal?: boolean;
  readonly outputLength?: number;
  readonly topic?: string;
  readonly similarity?: number;
  readonly tools?: ReadonlyArray<{ readonly name: string; readonly error?: boolean }>;
  /** Model calls with their tokens; none means the turn reports its own tokens. */
  readonly modelCalls?: ReadonlyArray<{ readonly input: number; readonly output: number }>;
  readonly turnTokens?: { readonly input: number; readonly output: number };
}

function harness(options: ConstructorParameters<typeof BehaviorSpanProcessor>[0] = {}) {
  const clock = { now: T0 };
  const processor = new BehaviorSpanProcessor({ now: () => clock.now, ...options });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('agent-canary-test');
  return { clock, processor, provider, tracer };
}

/** Emits one agent turn as real GenAI spans: model calls and tools end before the turn. */
function emitTurn(tracer: Tracer, spec: TurnSpec): void {
  const assignment: Attributes = {
    [ATTR_RELEASE_ID]: spec.release ?? 'v2',
    [ATTR_COHORT]: spec.cohort ?? 'canary',
  };
  if (spec.rolloutId !== undefined) assignment[ATTR_ROLLOUT_ID] = spec.rolloutId;
  if (spec.subject !== undefined) assignment[ATTR_SUBJECT] = spec.subject;
  const start = 1_000_000;
  const turnAttributes: Attributes = { ...assignment, [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent' };
  if (spec.refusal) turnAttributes[ATTR_REFUSAL] = true;
  if (spec.outputLength !== undefined) turnAttributes[ATTR_OUTPUT_LENGTH] = spec.outputLength;
  if (spec.topic !== undefined) turnAttributes[ATTR_TOPIC] = spec.topic;
  if (spec.similarity !== undefined) turnAttributes[ATTR_SIMILARITY] = spec.similarity;
  if (spec.turnTokens) {
    turnAttributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS] = spec.turnTokens.input;
    turnAttributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] = spec.turnTokens.output;
  }
  const turn = tracer.startSpan('invoke_agent support', { startTime: start, attributes: turnAttributes });
  const parent = trace.setSpan(context.active(), turn);
  for (const call of spec.modelCalls ?? []) {
    const span = tracer.startSpan(
      'chat gpt',
      {
        startTime: start,
        attributes: {
          ...assignment,
          [ATTR_GEN_AI_OPERATION_NAME]: 'chat',
          [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: call.input,
          [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: call.output,
        },
      },
      parent,
    );
    span.end(start + 100);
  }
  for (const tool of spec.tools ?? []) {
    const span = tracer.startSpan(
      `execute_tool ${tool.name}`,
      {
        startTime: start,
        attributes: { ...assignment, [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool', [ATTR_GEN_AI_TOOL_NAME]: tool.name },
      },
      parent,
    );
    if (tool.error) {
      span.setAttribute(ATTR_ERROR_TYPE, 'timeout');
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(start + 50);
  }
  if (spec.error) {
    turn.setAttribute(ATTR_ERROR_TYPE, 'boom');
    turn.setStatus({ code: SpanStatusCode.ERROR });
  }
  turn.end(start + (spec.durationMillis ?? 1000));
}

function emitFeedback(
  tracer: Tracer,
  kind: string,
  spec: { subject?: string; release?: string; cohort?: Cohort } = {},
) {
  const attributes: Attributes = {
    [ATTR_RELEASE_ID]: spec.release ?? 'v2',
    [ATTR_COHORT]: spec.cohort ?? 'canary',
    [ATTR_FEEDBACK_KIND]: kind,
  };
  if (spec.subject !== undefined) attributes[ATTR_SUBJECT] = spec.subject;
  tracer.startSpan(FEEDBACK_SPAN_NAME, { attributes }).end();
}

afterEach(() => {
  diag.disable();
});

describe('BehaviorSpanProcessor aggregates', () => {
  it('counts turns, errors, tools, refusals, feedback and topics from real spans', () => {
    const { processor, tracer } = harness();
    emitTurn(tracer, { durationMillis: 800, outputLength: 120, topic: 'billing', tools: [{ name: 'search' }] });
    emitTurn(tracer, { durationMillis: 2400, error: true, tools: [{ name: 'search', error: true }, { name: 'db' }] });
    emitTurn(tracer, { durationMillis: 1200, refusal: true, outputLength: 40, topic: 'billing', similarity: 0.9 });
    emitTurn(tracer, { cohort: 'control', release: 'v1', durationMillis: 900 });
    emitFeedback(tracer, 'thumbs_down');
    emitFeedback(tracer, 'thumbs_up');

    const window = processor.window();
    const canary = selectSeries(window, { cohort: 'canary' });
    expect(canary.turns).toBe(3);
    expect(canary.turnErrors).toBe(1);
    expect(canary.refusals).toBe(1);
    expect(canary.toolCalls).toEqual({ db: { ok: 1, error: 0 }, search: { ok: 1, error: 1 } });
    expect(canary.feedback).toEqual({ thumbs_down: 1, thumbs_up: 1 });
    expect(canary.topics.counts).toEqual({ billing: 2 });
    expect(canary.turnLatencyMillis.count).toBe(3);
    expect(QuantileSketch.fromJSON(canary.turnLatencyMillis).max).toBe(2400);
    expect(canary.outputLength.count).toBe(2);
    expect(canary.outputLength.sum).toBe(160);
    expect(canary.similarity.count).toBe(1);
    const control = selectSeries(window, { release: 'v1', cohort: 'control' });
    expect(control.turns).toBe(1);
    expect(window.series.map((series) => `${series.release}/${series.cohort}`)).toEqual(['v1/control', 'v2/canary']);
    expect(processor.spanCounts()).toMatchObject({ aggregated: 9, unrecognised: 0, withoutRelease: 0, failed: 0 });
  });

  it('counts tokens once: model calls when the trace has them, else the turn', () => {
    const { processor, tracer } = harness();
    emitTurn(tracer, {
      modelCalls: [
        { input: 10, output: 5 },
        { input: 20, output: 7 },
      ],
      turnTokens: { input: 30, output: 12 },
    });
    emitTurn(tracer, { turnTokens: { input: 100, output: 50 } });
    const canary = selectSeries(processor.window(), {});
    expect(canary.modelCalls).toBe(2);
    expect(canary.inputTokens).toBe(130);
    expect(canary.outputTokens).toBe(62);
  });

  it('counts each subject once per adverse signal, at its first event, across buckets', () => {
    const { processor, tracer, clock } = harness({ bucketMillis: 10_000 });
    emitTurn(tracer, { subject: 'u1', error: true, durationMillis: 500, outputLength: 10 });
    emitTurn(tracer, { subject: 'u2', durationMillis: 700 });
    clock.now += 10_000;
    emitTurn(tracer, { subject: 'u1', error: true, durationMillis: 9000 });
    emitTurn(tracer, {
      subject: 'u2',
      error: true,
      tools: [
        { name: 'db', error: true },
        { name: 'db', error: true },
      ],
    });
    emitFeedback(tracer, 'regenerate', { subject: 'u2' });
    emitFeedback(tracer, 'regenerate', { subject: 'u2' });

    const first = selectSeries(processor.window({ since: T0, until: T0 + 10_000 }), {});
    const second = selectSeries(processor.window({ since: T0 + 10_000, until: T0 + 20_000 }), {});
    expect(first.newSubjects).toBe(2);
    expect(first.subjectsWith.turn_error).toBe(1);
    expect(second.newSubjects).toBe(0);
    expect(second.subjectsWith).toEqual({
      turn_error: 1,
      tool_error: 1,
      refusal: 0,
      thumbs_down: 0,
      regenerate: 1,
      human_takeover: 0,
    });
    const all = selectSeries(processor.window({ since: T0, until: T0 + 20_000 }), {});
    expect(all.turns).toBe(4);
    expect(all.subjectsWith.turn_error).toBe(2);
    // One observation per subject, from its first turn.
    expect(all.subjectLatencyMillis.count).toBe(2);
    expect(QuantileSketch.fromJSON(all.subjectLatencyMillis).max).toBeLessThan(800);
    expect(all.subjectOutputLength.count).toBe(1);
  });

  it('windows are unions of buckets in [since, until) and old buckets expire', () => {
    const { processor, tracer, clock } = harness({ bucketMillis: 1000, retentionMillis: 5000 });
    for (let second = 0; second < 8; second++) {
      emitTurn(tracer, {});
      clock.now += 1000;
    }
    expect(selectSeries(processor.window({ since: T0 + 4000, until: T0 + 6000 }), {}).turns).toBe(2);
    // now = T0 + 8000: buckets before T0 + 3000 are past the retention.
    expect(selectSeries(processor.window({ since: 0, until: T0 + 100_000 }), {}).turns).toBe(5);
    expect(() => processor.window({ since: Number.NaN })).toThrow(RangeError);
  });

  it('caps tool names, series and subjects', () => {
    const { processor, tracer } = harness({ maxToolNames: 2, maxSeries: 2, maxSubjectsPerRollout: 2 });
    emitTurn(tracer, { subject: 'a', tools: [{ name: 't1' }, { name: 't2' }, { name: 't3' }, { name: 't4' }] });
    emitTurn(tracer, { subject: 'b' });
    emitTurn(tracer, { subject: 'c' });
    emitTurn(tracer, { release: 'v1', cohort: 'control' });
    const warn = vi.fn();
    diag.setLogger({ warn, error: vi.fn(), info: vi.fn(), debug: vi.fn(), verbose: vi.fn() }, DiagLogLevel.WARN);
    emitTurn(tracer, { release: 'v3', cohort: 'stable' });
    const window = processor.window();
    const canary = window.series.find((series) => series.cohort === 'canary');
    expect(canary?.toolCalls).toEqual({ other: { ok: 2, error: 0 }, t1: { ok: 1, error: 0 }, t2: { ok: 1, error: 0 } });
    expect(canary?.newSubjects).toBe(2);
    expect(canary?.subjectCapReached).toBe(true);
    expect(window.series).toHaveLength(2);
    expect(processor.spanCounts().droppedSeriesCap).toBe(1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('maxSeries (2)'));
  });

  it('forgets series idle for releaseIdleMillis', () => {
    const { processor, tracer, clock } = harness({
      bucketMillis: 1000,
      retentionMillis: 10_000,
      releaseIdleMillis: 5000,
    });
    emitTurn(tracer, { subject: 'u1' });
    clock.now += 6000;
    emitTurn(tracer, { release: 'v9', cohort: 'stable' });
    expect(processor.snapshot().subjects).toEqual([]);
    // The subject scope went idle with the series: u1 is new again.
    emitTurn(tracer, { subject: 'u1' });
    expect(selectSeries(processor.window(), { release: 'v2' }).newSubjects).toBe(2);
  });

  it('counts spans it cannot use and never throws into the app', () => {
    const error = vi.fn();
    diag.setLogger({ error, warn: vi.fn(), info: vi.fn(), debug: vi.fn(), verbose: vi.fn() }, DiagLogLevel.ERROR);
    const { processor, tracer } = harness();
    tracer.startSpan('GET /health').end();
    tracer.startSpan('invoke_agent x', { attributes: { [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent' } }).end();
    expect(processor.spanCounts()).toMatchObject({ received: 2, unrecognised: 1, withoutRelease: 1, aggregated: 0 });

    const broken = new BehaviorSpanProcessor({
      normalize: () => {
        throw new Error('normaliser bug');
      },
    });
    const provider = new BasicTracerProvider({ spanProcessors: [broken] });
    expect(() => provider.getTracer('t').startSpan('x').end()).not.toThrow();
    expect(broken.spanCounts().failed).toBe(1);
    expect(error).toHaveBeenCalled();
  });

  it('rejects invalid options with ConfigError naming the field', () => {
    expect(() => new BehaviorSpanProcessor({ bucketMillis: 0 })).toThrow(ConfigError);
    expect(() => new BehaviorSpanProcessor({ bucketMillis: 0 })).toThrow(/bucketMillis/);
    expect(() => new BehaviorSpanProcessor({ bucketMillis: 10_000, retentionMillis: 5000 })).toThrow(/retentionMillis/);
  });

  it('aggregates the captured framework spans (fixtures)', () => {
    for (const file of ['vercel-ai-sdk-v6.json', 'langchain-openinference.json', 'strands-agents.json']) {
      // The fixtures carry no release: stamp one, as the tagging processor would.
      const processor = new BehaviorSpanProcessor({
        now: () => T0,
        normalize: (span) => {
          const facts = normalizeSpan(span);
          return facts && { ...facts, release: 'v2', cohort: 'canary', subject: `s-${facts.traceId}` };
        },
      });
      // Children end before their parents: replay in reverse file order.
      const spans = loadFixtureSpans(file).reverse();
      const facts = spans.map(normalizeSpan).filter((fact) => fact !== undefined);
      for (const span of spans) processor.onEnd(span);
      const aggregate = selectSeries(processor.window(), {});
      const turns = facts.filter((fact) => fact.kind === AGENT_SPAN_KIND.turn).length;
      const tools = facts.filter((fact) => fact.kind === AGENT_SPAN_KIND.toolCall).length;
      expect(turns, file).toBeGreaterThan(0);
      expect(aggregate.turns, file).toBe(turns);
      expect(
        Object.values(aggregate.toolCalls).reduce((sum, c) => sum + c.ok + c.error, 0),
        file,
      ).toBe(tools);
      expect(aggregate.modelCalls, file).toBe(facts.filter((fact) => fact.kind === AGENT_SPAN_KIND.modelCall).length);
      expect(aggregate.newSubjects, file).toBe(
        new Set(facts.filter((f) => f.kind === 'turn').map((f) => f.traceId)).size,
      );
      const modelTokens = facts
        .filter((fact) => fact.kind === AGENT_SPAN_KIND.modelCall)
        .reduce((sum, fact) => sum + (fact.inputTokens ?? 0), 0);
      expect(aggregate.inputTokens, file).toBeGreaterThanOrEqual(modelTokens);
      expect(processor.spanCounts().received, file).toBe(spans.length);
    }
  });
});

describe('snapshots', () => {
  it('persists atomically and a restarted processor keeps its window', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-canary-processor-'));
    try {
      const path = join(dir, 'behavior.json');
      const first = harness({ snapshotPath: path, snapshotIntervalMillis: 60_000 });
      emitTurn(first.tracer, { subject: 'u1', error: true, tools: [{ name: 'search' }] });
      await first.processor.forceFlush();
      const written = JSON.parse(readFileSync(path, 'utf8'));
      expect(written.v).toBe(PROCESSOR_SNAPSHOT_VERSION);
      await first.processor.shutdown();
      await first.processor.shutdown();

      const second = harness({ snapshotPath: path });
      expect(second.processor.window()).toEqual(first.processor.window());
      // The subject set was restored too: u1's second error is not a new first event.
      emitTurn(second.tracer, { subject: 'u1', error: true });
      const aggregate = selectSeries(second.processor.window(), {});
      expect(aggregate.turns).toBe(2);
      expect(aggregate.newSubjects).toBe(1);
      expect(aggregate.subjectsWith.turn_error).toBe(1);
      await second.processor.shutdown();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('removes the temporary files of snapshot writes that never reached their rename, and only those', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-canary-processor-'));
    try {
      const path = join(dir, 'behavior.json');
      const first = harness({ snapshotPath: path });
      emitTurn(first.tracer, { subject: 'u1' });
      await first.processor.shutdown();
      const written = readFileSync(path, 'utf8');
      // A process killed between the write and the rename leaves `<snapshot>.<pid>.tmp`
      // behind. Linux pids stop at 2^22, so no process has pid 2^22 + 1.
      const deadPid = 2 ** 22 + 1;
      const stale = [`${path}.${deadPid}.tmp`, `${path}.${process.pid}.tmp`];
      const kept = [
        `${path}.${process.ppid}.tmp`, // a live process may be writing it
        join(dir, `other.json.${deadPid}.tmp`),
        `${path}.backup.tmp`,
        `${path}.${deadPid}.tmp.old`,
        `${path}.bak`,
      ];
      for (const file of [...stale, ...kept]) writeFileSync(file, '{"partial');

      const second = harness({ snapshotPath: path });
      expect(stale.filter((file) => existsSync(file))).toEqual([]);
      expect(kept.filter((file) => !existsSync(file))).toEqual([]);
      expect(readFileSync(path, 'utf8')).toBe(written);
      expect(selectSeries(second.processor.window(), {}).turns).toBe(1);
      await second.processor.shutdown();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts empty, with a diag warning, from a corrupt snapshot file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-canary-processor-'));
    try {
      const path = join(dir, 'behavior.json');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path, '{ not json');
      const warn = vi.fn();
      diag.setLogger({ warn, error: vi.fn(), info: vi.fn(), debug: vi.fn(), verbose: vi.fn() }, DiagLogLevel.WARN);
      const { processor } = harness({ snapshotPath: path });
      expect(processor.window().series).toEqual([]);
      expect(warn).toHaveBeenCalled();
      await processor.shutdown();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('merging the snapshots of two processes equals one process that saw both streams', () => {
    const event = fc.record({
      process: fc.integer({ min: 0, max: 1 }),
      atMillis: fc.integer({ min: 0, max: 60_000 }),
      kind: fc.constantFrom(...Object.values(AGENT_SPAN_KIND)),
      cohort: fc.constantFrom<Cohort>('canary', 'control'),
      // Inside a rollout (the gate's scope and the release's subject period) or outside.
      rolloutId: fc.constantFrom('r1', 'r2', undefined),
      user: fc.integer({ min: 0, max: 5 }),
      durationMillis: fc.integer({ min: 0, max: 20_000 }),
      isError: fc.boolean(),
      refusal: fc.boolean(),
      tool: fc.constantFrom('search', 'db', 'code'),
      topic: fc.constantFrom('billing', 'shipping', undefined),
      tokens: fc.integer({ min: 0, max: 500 }),
      feedback: fc.constantFrom('thumbs_up', 'thumbs_down', 'regenerate', 'human_takeover' as const),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const clock = { now: T0 };
        const options = { now: () => clock.now, bucketMillis: 5000, subjectPeriodMillis: 20_000 };
        const parts = [new BehaviorSpanProcessor(options), new BehaviorSpanProcessor(options)];
        const whole = new BehaviorSpanProcessor(options);
        const sorted = [...events].sort((a, b) => a.atMillis - b.atMillis);
        sorted.forEach((item, index) => {
          clock.now = T0 + item.atMillis;
          const facts: AgentSpanFacts = {
            kind: item.kind,
            convention: SPAN_CONVENTION.genAi,
            // Sticky routing: each subject is served by one process.
            subject: `p${item.process}-u${item.user}`,
            traceId: `p${item.process}-t${index}`,
            spanId: `s${index}`,
            startTimeMillis: clock.now,
            durationMillis: item.durationMillis,
            release: item.cohort === 'canary' ? 'v2' : 'v1',
            cohort: item.cohort,
            isError: item.isError,
            refusal: item.refusal,
            toolName: item.tool,
            inputTokens: item.tokens,
            outputLength: item.tokens,
            feedbackKind: item.feedback,
            ...(item.topic === undefined ? {} : { topic: item.topic }),
            ...(item.rolloutId === undefined ? {} : { rolloutId: item.rolloutId }),
          };
          parts[item.process]?.record(facts);
          whole.record(facts);
        });
        const [a, b] = parts.map((part) => part.snapshot());
        if (a === undefined || b === undefined) throw new Error('unreachable');
        // A process evicts the subject periods that ended before its last span: one that
        // stopped earlier still holds them. Compare the periods the whole stream still holds.
        const current = T0 + sorted.reduce((last, item) => Math.max(last, item.atMillis), 0);
        const live = (snapshot: ProcessorSnapshot): ProcessorSnapshot => ({
          ...snapshot,
          subjects: snapshot.subjects.filter(
            (scope) => scope.periodStartMillis === undefined || scope.periodStartMillis + 20_000 > current,
          ),
        });
        expect(live(mergeSnapshots(a, b))).toEqual(whole.snapshot());
        const restored = new BehaviorSpanProcessor(options);
        restored.mergeSnapshot(mergeSnapshots(a, b));
        expect(restored.window()).toEqual(whole.window());
      }),
      { numRuns: 60 },
    );
  });

  it('refuses to merge snapshots with different bucket widths', () => {
    const a = new BehaviorSpanProcessor({ bucketMillis: 1000 }).snapshot();
    const b = new BehaviorSpanProcessor({ bucketMillis: 2000 }).snapshot();
    expect(() => mergeSnapshots(a, b)).toThrow(/bucketMillis/);
  });
});
