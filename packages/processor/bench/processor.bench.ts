/**
 * Cost of the behaviour processor per span, relative to the SDK's own span start + end
 * (BatchSpanProcessor, no-op exporter), its throughput on one core, and its heap after
 * 1M and 10M spans (bounded memory). Ratios are measured in one run, alternating rounds.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  ATTR_COHORT,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_OUTPUT_LENGTH,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  ATTR_SUBJECT,
  type Cohort,
} from '@agent-canary/conventions';
import { type Attributes, context, type Tracer, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { BehaviorSpanProcessor } from '../src/index.js';

const TRACES_PER_ROUND = 2_000; // 4 spans each
const ROUNDS = 9;

class NoopExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

class CollectingProcessor implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

class IdleReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const COHORTS: readonly Cohort[] = ['stable', 'canary', 'control'];
const TOOLS = ['search', 'db', 'code', 'email', 'calendar'];

/** One agent turn: a model call and two tool calls end before the turn, as in a real app. */
function emitTrace(tracer: Tracer, index: number): void {
  const assignment: Attributes = {
    [ATTR_RELEASE_ID]: index % 20 === 0 ? 'v2' : 'v1',
    [ATTR_COHORT]: COHORTS[index % 3] ?? 'stable',
    [ATTR_ROLLOUT_ID]: 'r1',
    [ATTR_SUBJECT]: `subject-${index % 5000}`,
  };
  const turn = tracer.startSpan('invoke_agent support', {
    attributes: {
      ...assignment,
      [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent',
      [ATTR_OUTPUT_LENGTH]: 100 + (index % 900),
    },
  });
  const parent = trace.setSpan(context.active(), turn);
  tracer
    .startSpan(
      'chat gpt-4o',
      {
        attributes: {
          ...assignment,
          [ATTR_GEN_AI_OPERATION_NAME]: 'chat',
          [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 300,
          [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 80,
        },
      },
      parent,
    )
    .end();
  for (let call = 0; call < 2; call++) {
    const tool = TOOLS[(index + call) % TOOLS.length] ?? 'search';
    tracer
      .startSpan(
        `execute_tool ${tool}`,
        { attributes: { ...assignment, [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool', [ATTR_GEN_AI_TOOL_NAME]: tool } },
        parent,
      )
      .end();
  }
  turn.end();
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function sdkRound(tracer: Tracer): Promise<number> {
  const start = process.hrtime.bigint();
  for (let index = 0; index < TRACES_PER_ROUND; index++) {
    emitTrace(tracer, index);
    // Let the batch processor export, as it would in an app; same in every arm.
    if (index % 128 === 127) await yieldToLoop();
  }
  return Number(process.hrtime.bigint() - start) / (TRACES_PER_ROUND * 4);
}

function onEndRound(processor: BehaviorSpanProcessor, spans: readonly ReadableSpan[]): number {
  const start = process.hrtime.bigint();
  for (const span of spans) processor.onEnd(span);
  return Number(process.hrtime.bigint() - start) / spans.length;
}

interface HeapCheckpoint {
  readonly spans: number;
  readonly heapMiB: number;
  readonly seconds: number;
}

/** Heap checkpoints from bench/heap-child.ts, run in a fresh `node --expose-gc` process. */
function heapRun(checkpoints: readonly number[]): HeapCheckpoint[] {
  const root = join(import.meta.dirname, '..', '..', '..');
  const output = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      '--conditions=@agent-canary/source',
      join(import.meta.dirname, 'heap-child.ts'),
      checkpoints.join(','),
    ],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(output.trim().split('\n').at(-1) ?? '[]') as HeapCheckpoint[];
}

export async function run(): Promise<{ title: string; markdown: string }> {
  // Spans for the onEnd arms: real finished spans from the SDK.
  const collector = new CollectingProcessor();
  const collectingTracer = new BasicTracerProvider({ spanProcessors: [collector] }).getTracer('bench');
  for (let index = 0; index < TRACES_PER_ROUND; index++) emitTrace(collectingTracer, index);
  const spans = collector.spans;

  const sdkProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new NoopExporter())] });
  const sdkTracer = sdkProvider.getTracer('bench');
  const plain = new BehaviorSpanProcessor();
  const withMetrics = new BehaviorSpanProcessor({ meterProvider: new MeterProvider({ readers: [new IdleReader()] }) });

  const sdk: number[] = [];
  const onEnd: number[] = [];
  const onEndMetrics: number[] = [];
  // Warm-up, then alternate the arms so drift in machine load hits all of them alike.
  await sdkRound(sdkTracer);
  onEndRound(plain, spans);
  onEndRound(withMetrics, spans);
  for (let round = 0; round < ROUNDS; round++) {
    sdk.push(await sdkRound(sdkTracer));
    onEnd.push(onEndRound(plain, spans));
    onEndMetrics.push(onEndRound(withMetrics, spans));
  }
  await sdkProvider.shutdown();
  const ratios = onEnd.map((value, index) => value / (sdk[index] ?? Number.NaN));
  const ratiosMetrics = onEndMetrics.map((value, index) => value / (sdk[index] ?? Number.NaN));

  const heap = heapRun([1_000_000, 2_000_000, 5_000_000, 10_000_000]);
  const at1m = heap[0];
  const at10m = heap[heap.length - 1];
  const growth = at1m && at10m ? (at10m.heapMiB - at1m.heapMiB) / at1m.heapMiB : Number.NaN;
  const recordRate = at10m ? at10m.spans / at10m.seconds : Number.NaN;

  const ns = (value: number) => `${Math.round(value)} ns`;
  const markdown = `
Per span, medians of ${ROUNDS} alternating rounds of ${TRACES_PER_ROUND * 4} spans (a turn, a model call, two tool calls per trace):

| arm | per span | ratio to SDK start+end | throughput, one core |
|---|---|---|---|
| SDK start + end, BatchSpanProcessor, no-op exporter | ${ns(median(sdk))} | 1 | ${Math.round(1e9 / median(sdk)).toLocaleString('en-US')} spans/s |
| \`BehaviorSpanProcessor.onEnd\` (normalise + aggregate) | ${ns(median(onEnd))} | **${median(ratios).toFixed(3)}** | ${Math.round(1e9 / median(onEnd)).toLocaleString('en-US')} spans/s |
| \`onEnd\` with OpenTelemetry metrics on (MeterProvider) | ${ns(median(onEndMetrics))} | ${median(ratiosMetrics).toFixed(3)} | ${Math.round(1e9 / median(onEndMetrics)).toLocaleString('en-US')} spans/s |

Target: \`onEnd\` ≤ 0.25× the SDK's own start + end, without metrics.

Bounded memory: synthetic traffic through \`record()\` (the aggregation path of \`onEnd\`,
without normalisation; bench/heap-child.ts in a fresh \`node --expose-gc\`), 20 spans/s of
simulated time (the 6 h retention fills after 432k spans), 90/5/5 stable/canary/control,
subjects drawn from 10M ids, topics from 80 names (cap 50), every span in rollout r1.
\`maxSubjectsPerRollout\` is 5,000 so that the rollout's subject set is full before the
first checkpoint (each release's set of the current subject period is forgotten when the
hour ends); at the default 200,000 the rollout's set keeps growing until it holds 200k
subjects (roughly 100 B each), then stops.

| spans recorded | heap used after GC | elapsed |
|---|---|---|
${heap.map((row) => `| ${row.spans.toLocaleString('en-US')} | ${row.heapMiB.toFixed(1)} MiB | ${row.seconds.toFixed(1)} s |`).join('\n')}

Heap growth from 1M to 10M spans: **${(growth * 100).toFixed(1)}%** (target: within 10%).
\`record()\` rate over the run: ${Math.round(recordRate).toLocaleString('en-US')} spans/s.
`;
  return { title: 'Behaviour span processor: cost per span, throughput, memory', markdown };
}
