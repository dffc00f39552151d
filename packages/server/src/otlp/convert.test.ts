import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeSpan } from '@agent-canary/processor';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { decodeJsonRequest, decodeProtobufRequest, OtlpDecodeError, REJECT_REASON } from './convert.js';
import type { ReceivedSpan } from './received-span.js';
import { ExportTraceServiceRequest } from './schema.js';

const LIMITS = { maxAttributes: 256, maxEvents: 128, maxLinks: 128 };
const FIXTURE = join(import.meta.dirname, '../../../../test/fixtures/otlp/python-genai.json');

/** Real SDK spans of one agent turn: a parent, a tool call with an error, events, a link, all value types. */
function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'support-agent', 'service.instance.id': 'r1' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('agent-canary-test', '1.2.3');
  const turn = tracer.startSpan('invoke_agent support', {
    kind: SpanKind.SERVER,
    startTime: [1_800_000_000, 123_456_789],
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'agent_canary.release.id': 'v2',
      'agent_canary.cohort': 'canary',
      'agent_canary.rollout.id': 'r-1',
      'agent_canary.subject': 'abc',
      'agent_canary.output.length': 321,
      ratio: 0.25,
      ok: true,
      tags: ['a', 'b'],
      numbers: [1, 2, 3],
      big: 2 ** 40,
    },
  });
  const tool = tracer.startSpan(
    'execute_tool search',
    {
      startTime: [1_800_000_000, 200_000_000],
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' },
      links: [{ context: turn.spanContext(), attributes: { why: 'follows' } }],
    },
    trace.setSpan(context.active(), turn),
  );
  tool.addEvent(
    'exception',
    { 'exception.type': 'Timeout', 'exception.message': 'slow' },
    [1_800_000_000, 250_000_000],
  );
  tool.setStatus({ code: SpanStatusCode.ERROR, message: 'tool failed' });
  tool.end([1_800_000_000, 300_000_000]);
  turn.end([1_800_000_001, 23_456_789]);
  return exporter.getFinishedSpans();
}

function comparable(span: ReadableSpan) {
  return {
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    startTime: span.startTime,
    endTime: span.endTime,
    duration: span.duration,
    status: span.status,
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes })),
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: l.attributes })),
    resource: span.resource.attributes,
    scope: { name: span.instrumentationScope.name, version: span.instrumentationScope.version },
  };
}

describe('OTLP decoding', () => {
  it('decodes what the OpenTelemetry SDK serializer encodes as protobuf, field for field', () => {
    const spans = sdkSpans();
    const bytes = ProtobufTraceSerializer.serializeRequest(spans);
    if (bytes === undefined) throw new Error('serializer returned nothing');
    const batch = decodeProtobufRequest(bytes, LIMITS);
    expect(batch.rejectedCount).toBe(0);
    expect(batch.spans.map(comparable)).toEqual(spans.map(comparable));
  });

  it('decodes what the OpenTelemetry SDK serializer encodes as JSON, identically to protobuf', () => {
    const spans = sdkSpans();
    const bytes = JsonTraceSerializer.serializeRequest(spans);
    if (bytes === undefined) throw new Error('serializer returned nothing');
    const batch = decodeJsonRequest(new TextDecoder().decode(bytes), LIMITS);
    expect(batch.rejectedCount).toBe(0);
    expect(batch.spans.map(comparable)).toEqual(spans.map(comparable));
  });

  it('gives the processor the same facts as the original spans', () => {
    const spans = sdkSpans();
    const bytes = ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array;
    const received = decodeProtobufRequest(bytes, LIMITS).spans;
    const facts = received.map((span) => normalizeSpan(span));
    expect(facts).toEqual(spans.map((span) => normalizeSpan(span)));
    expect(facts.map((f) => f?.kind)).toEqual(['tool_call', 'turn']);
    expect(facts[0]).toMatchObject({ isError: true, toolName: 'search' });
    expect(facts[1]).toMatchObject({ release: 'v2', cohort: 'canary', rolloutId: 'r-1', outputLength: 321 });
  });

  it('rejects unusable spans one by one and keeps the others', () => {
    const good = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      name: 'ok',
      startTimeUnixNano: '1800000000000000000',
      endTimeUnixNano: '1800000000500000000',
    };
    const request = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                good,
                { ...good, traceId: '00000000000000000000000000000000' },
                { ...good, spanId: 'xyz' },
                { ...good, startTimeUnixNano: undefined },
                { ...good, endTimeUnixNano: '1700000000000000000' },
                'not a span',
              ],
            },
          ],
        },
      ],
    };
    const batch = decodeJsonRequest(JSON.stringify(request), LIMITS);
    expect(batch.spans).toHaveLength(1);
    expect(batch.rejectedCount).toBe(5);
    expect(Object.fromEntries(batch.rejected)).toEqual({
      [REJECT_REASON.traceId]: 1,
      [REJECT_REASON.spanId]: 1,
      [REJECT_REASON.startTime]: 1,
      [REJECT_REASON.endTime]: 1,
      [REJECT_REASON.shape]: 1,
    });
    expect((batch.spans[0] as ReceivedSpan).duration).toEqual([0, 500_000_000]);
  });

  it('caps attributes, events and links per span and counts what it dropped', () => {
    const attributes = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: { intValue: String(i) } }));
    const span = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      startTimeUnixNano: 1,
      endTimeUnixNano: 2,
      attributes: [...attributes, { key: '', value: { stringValue: 'no key' } }],
      events: Array.from({ length: 5 }, (_, i) => ({ name: `e${i}`, timeUnixNano: '1' })),
    };
    const batch = decodeJsonRequest(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }), {
      maxAttributes: 4,
      maxEvents: 2,
      maxLinks: 1,
    });
    const received = batch.spans[0] as ReceivedSpan;
    expect(Object.keys(received.attributes)).toEqual(['k0', 'k1', 'k2', 'k3']);
    expect(received.attributes['k3']).toBe(3);
    expect(received.droppedAttributesCount).toBe(7);
    expect(received.events).toHaveLength(2);
    expect(received.droppedEventsCount).toBe(3);
  });

  it('keeps maps and mixed arrays as JSON text, bytes as base64', () => {
    const span = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      startTimeUnixNano: '1',
      endTimeUnixNano: '2',
      attributes: [
        {
          key: 'map',
          value: {
            kvlistValue: {
              values: [
                { key: 'a', value: { intValue: '1' } },
                { key: 'b', value: {} },
              ],
            },
          },
        },
        { key: 'mixed', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: 2 }] } } },
        { key: 'raw', value: { bytesValue: 'AQID' } },
        { key: 'empty' },
      ],
    };
    const batch = decodeJsonRequest(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }), LIMITS);
    expect((batch.spans[0] as ReceivedSpan).attributes).toEqual({
      map: '{"a":1,"b":null}',
      mixed: '["x",2]',
      raw: 'AQID',
    });
  });

  it('throws OtlpDecodeError for a body that is not a request', () => {
    expect(() => decodeJsonRequest('{', LIMITS)).toThrow(OtlpDecodeError);
    expect(() => decodeJsonRequest('{"resourceSpans": 3}', LIMITS)).toThrow(/resourceSpans is not an array/);
    expect(() => decodeProtobufRequest(Uint8Array.from([0x0a, 0xff, 0xff, 0xff]), LIMITS)).toThrow(OtlpDecodeError);
  });

  it('reads the hand-written Python GenAI fixture into turns, model calls and tool calls', () => {
    const batch = decodeJsonRequest(readFileSync(FIXTURE, 'utf8'), LIMITS);
    expect(batch.rejectedCount).toBe(0);
    const facts = batch.spans.map((span) => normalizeSpan(span));
    const kinds = facts.map((f) => f?.kind);
    expect(kinds).toContain('turn');
    expect(kinds).toContain('model_call');
    expect(kinds).toContain('tool_call');
    const turn = facts.find((f) => f?.kind === 'turn');
    expect(turn).toMatchObject({ release: 'prompt-v2', cohort: 'canary', convention: 'gen_ai' });
    const model = facts.find((f) => f?.kind === 'model_call');
    expect(model).toMatchObject({ inputTokens: 412, outputTokens: 96, model: 'gpt-4o-mini' });
    const tool = facts.find((f) => f?.kind === 'tool_call');
    expect(tool).toMatchObject({ toolName: 'lookup_order', isError: false });
    // The HTTP client span is accepted (not rejected) but is not an agent span.
    expect(batch.spans).toHaveLength(4);
    expect(facts.filter((f) => f === undefined)).toHaveLength(1);
  });

  it('decodes the same fixture sent as protobuf (encoded by protobufjs from the JSON mapping)', () => {
    const json = decodeJsonRequest(readFileSync(FIXTURE, 'utf8'), LIMITS).spans;
    const bytes = ExportTraceServiceRequest.encode(
      ExportTraceServiceRequest.fromObject(
        protobufObjectOf(JSON.parse(readFileSync(FIXTURE, 'utf8'))) as Record<string, unknown>,
      ),
    ).finish();
    const protobuf = decodeProtobufRequest(bytes, LIMITS).spans;
    expect(protobuf.map(comparable)).toEqual(json.map(comparable));
  });
});

/** OTLP/JSON to protobufjs `fromObject` input: hex ids become bytes (the JSON mapping's one difference). */
function protobufObjectOf(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => protobufObjectOf(item));
  if (typeof value === 'string' && /^(traceId|spanId|parentSpanId)$/.test(key)) return Buffer.from(value, 'hex');
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !k.startsWith('_'))
      .map(([k, v]) => [k, protobufObjectOf(v, k)]),
  );
}

describe('OTLP timestamps', () => {
  it('converts 64-bit nanoseconds exactly, from protobuf (Long) and JSON (string)', () => {
    const values: bigint[] = [
      1n,
      999_999_999n,
      1_000_000_000n,
      2n ** 32n - 1n,
      2n ** 32n,
      2n ** 53n + 1n,
      2n ** 63n,
      2n ** 64n - 1n,
    ];
    // Deterministic pseudo-random 64-bit values around today's epoch and across the range.
    let state = 0x2545f491n;
    for (let i = 0; i < 200; i++) {
      state = (state * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n;
      values.push(i % 2 === 0 ? state : 1_764_160_000_000_000_000n + (state % 10n ** 15n));
    }
    const spans = values.map((nanos, i) => ({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: (i + 1).toString(16).padStart(16, '0'),
      startTimeUnixNano: nanos.toString(),
      endTimeUnixNano: nanos.toString(),
    }));
    const request = { resourceSpans: [{ scopeSpans: [{ spans }] }] };
    const expected = values.map((nanos) => [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)]);
    const fromJson = decodeJsonRequest(JSON.stringify(request), LIMITS);
    expect(fromJson.spans.map((span) => span.startTime)).toEqual(expected);
    const bytes = ExportTraceServiceRequest.encode(
      ExportTraceServiceRequest.fromObject(protobufObjectOf(request) as Record<string, unknown>),
    ).finish();
    const fromProtobuf = decodeProtobufRequest(bytes, LIMITS);
    expect(fromProtobuf.spans.map((span) => span.startTime)).toEqual(expected);
    expect(fromProtobuf.spans.map((span) => span.duration)).toEqual(values.map(() => [0, 0]));
  });
});
