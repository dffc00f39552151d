/**
 * What the receiver benchmarks share: agent span batches as an SDK exports them, the
 * receiver in its own process (pinned to one core when `taskset` exists) reporting its
 * memory and counters, and a plain HTTP POST.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Agent, request } from 'node:http';
import { join } from 'node:path';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CHILD = join(import.meta.dirname, 'receiver-child.ts');

/** One line the receiver process prints. */
export interface ChildSample {
  readonly atMillis: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly stats: {
    processedSpans: number;
    queuedSpans: number;
    throttled: number;
    acceptedSpans: number;
    inFlightBytes: number;
  };
}

/** The receiver process. */
export interface ReceiverChild {
  readonly child: ChildProcess;
  readonly url: string;
  readonly samples: ChildSample[];
}

/** `count` different batches of `spansPerBatch` agent spans: turns × (turn, model call, 2 tool calls). */
export function batches(count: number, spansPerBatch: number): { protobuf: Uint8Array[]; json: Uint8Array[] } {
  const protobuf: Uint8Array[] = [];
  const json: Uint8Array[] = [];
  for (let b = 0; b < count; b++) {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'support-agent', 'service.instance.id': `r${b}` }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('bench', '1.0.0');
    for (let t = 0; t < spansPerBatch / 4; t++) {
      const n = b * 1000 + t;
      const cohort = n % 10 === 0 ? 'canary' : n % 10 === 1 ? 'control' : 'stable';
      const assignment = {
        'agent_canary.release.id': cohort === 'canary' ? 'v2' : 'v1',
        'agent_canary.cohort': cohort,
        'agent_canary.rollout.id': 'bench-rollout',
        'agent_canary.flag.key': 'support-agent.release',
        'agent_canary.subject': `subject-${n % 5000}`,
      };
      const turn = tracer.startSpan('invoke_agent support', {
        attributes: {
          ...assignment,
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': 'support',
          'agent_canary.output.length': 200 + (n % 700),
        },
      });
      const parent = trace.setSpan(context.active(), turn);
      const model = tracer.startSpan(
        'chat gpt-4o-mini',
        {
          attributes: {
            ...assignment,
            'gen_ai.operation.name': 'chat',
            'gen_ai.request.model': 'gpt-4o-mini',
            'gen_ai.usage.input_tokens': 400 + (n % 100),
            'gen_ai.usage.output_tokens': 80 + (n % 40),
            'gen_ai.response.finish_reasons': ['tool_calls'],
          },
        },
        parent,
      );
      model.end();
      for (const tool of ['order_lookup', 'track_shipment']) {
        const span = tracer.startSpan(
          `execute_tool ${tool}`,
          { attributes: { ...assignment, 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool } },
          parent,
        );
        if (n % 50 === 0) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
      turn.end();
    }
    const spans = exporter.getFinishedSpans();
    protobuf.push(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
    json.push(JsonTraceSerializer.serializeRequest(spans) as Uint8Array);
  }
  return { protobuf, json };
}

/** Starts the receiver process; it reports every `sampleMillis`. */
export function startChild(sampleMillis = 200): Promise<ReceiverChild> {
  const pin = existsSync('/usr/bin/taskset') ? ['/usr/bin/taskset', '-c', '1'] : [];
  const command = [
    ...pin,
    process.execPath,
    '--import',
    'tsx',
    '--conditions=@agent-canary/source',
    CHILD,
    String(sampleMillis),
  ];
  const child = spawn(command[0] as string, command.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const samples: ChildSample[] = [];
  let pending = '';
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`receiver exited with ${code}: ${errors}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const parsed = JSON.parse(line) as ChildSample | { url: string };
        if ('url' in parsed) resolve({ child, url: parsed.url, samples });
        else samples.push(parsed);
      }
    });
  });
}

/** POSTs one export request; resolves with the status (0 when the connection failed). */
export function post(agent: Agent, url: string, contentType: string, body: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${url}/v1/traces`,
      { method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': body.byteLength } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}
