/**
 * Decodes an OTLP/HTTP trace export request (protobuf or JSON) into `ReceivedSpan`s: the
 * request's structure, each span's ids, times, kind, status, events and links, and the
 * spans that could not be used. Encodings in `encoding.ts`, attributes in `attributes.ts`.
 */
import {
  type HrTime,
  type Link,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { TimedEvent } from '@opentelemetry/sdk-trace-base';
import { convertAttributes } from './attributes.js';
import {
  asArray,
  asObject,
  type Encoding,
  hrTimeOf,
  isBefore,
  isZeroTime,
  JSON_ENCODING,
  PROTOBUF,
} from './encoding.js';
import { ReceivedSpan } from './received-span.js';
import { ExportTraceServiceRequest } from './schema.js';

/** Why a span of a request was rejected (the OTLP partial-success message counts them). */
export const REJECT_REASON = {
  traceId: 'invalid trace id',
  spanId: 'invalid span id',
  startTime: 'missing or invalid start time',
  endTime: 'end time missing or before start time',
  shape: 'not a span object',
} as const;
/** Why a span was rejected. */
export type RejectReason = (typeof REJECT_REASON)[keyof typeof REJECT_REASON];

/** A whole request that could not be read (HTTP 400): not OTLP, or not the declared encoding. */
export class OtlpDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OtlpDecodeError';
  }
}

/** Spans decoded from one export request, and the ones that could not be used. */
export interface DecodedBatch {
  readonly spans: readonly ReceivedSpan[];
  /** Spans rejected, by reason. */
  readonly rejected: ReadonlyMap<RejectReason, number>;
  readonly rejectedCount: number;
}

/** Limits applied while converting (bounded memory per span). */
export interface ConvertLimits {
  /** Attributes kept per span, event, link, resource or scope; further ones are dropped and counted. */
  readonly maxAttributes: number;
  /** Events kept per span. */
  readonly maxEvents: number;
  /** Links kept per span. */
  readonly maxLinks: number;
}

const HEX_TRACE_ID = /^[0-9a-fA-F]{32}$/;
const HEX_SPAN_ID = /^[0-9a-fA-F]{16}$/;
/** OTLP `SpanKind` (1-based, 0 = unspecified) to the API's (0-based). */
const SPAN_KIND: readonly SpanKind[] = [
  SpanKind.INTERNAL,
  SpanKind.INTERNAL,
  SpanKind.SERVER,
  SpanKind.CLIENT,
  SpanKind.PRODUCER,
  SpanKind.CONSUMER,
];
const SPAN_KIND_NAME: Readonly<Record<string, number>> = Object.freeze({
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
});
const STATUS_CODE_NAME: Readonly<Record<string, SpanStatusCode>> = Object.freeze({
  STATUS_CODE_UNSET: SpanStatusCode.UNSET,
  STATUS_CODE_OK: SpanStatusCode.OK,
  STATUS_CODE_ERROR: SpanStatusCode.ERROR,
});
const ZERO_TIME: HrTime = Object.freeze([0, 0]) as unknown as HrTime;
const UNSET_STATUS: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });
// --- decoding ---------------------------------------------------------------------

/**
 * Decodes an OTLP/HTTP protobuf body (`ExportTraceServiceRequest`) with protobufjs and the
 * OTLP schema, and converts its spans.
 * @throws OtlpDecodeError when the body is not a valid message.
 */
export function decodeProtobufRequest(body: Uint8Array, limits: ConvertLimits): DecodedBatch {
  let message: unknown;
  try {
    message = ExportTraceServiceRequest.decode(body);
  } catch (error) {
    throw new OtlpDecodeError(`not an OTLP ExportTraceServiceRequest: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return convertRequest(message, PROTOBUF, limits);
}

/**
 * Parses an OTLP/JSON body (the protobuf JSON mapping with hex trace and span ids) and
 * converts its spans. Unknown fields are ignored, as the OTLP specification requires.
 * @throws OtlpDecodeError when the body is not JSON or has no `resourceSpans` array.
 */
export function decodeJsonRequest(text: string, limits: ConvertLimits): DecodedBatch {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (error) {
    throw new OtlpDecodeError(`not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new OtlpDecodeError(
      `the body is a JSON ${Array.isArray(message) ? 'array' : message === null ? 'null' : typeof message}, not an ExportTraceServiceRequest object`,
    );
  }
  const resourceSpans = (message as { resourceSpans?: unknown }).resourceSpans;
  if (resourceSpans !== undefined && !Array.isArray(resourceSpans)) {
    throw new OtlpDecodeError('resourceSpans is not an array');
  }
  return convertRequest(message, JSON_ENCODING, limits);
}

function convertRequest(message: unknown, encoding: Encoding, limits: ConvertLimits): DecodedBatch {
  const spans: ReceivedSpan[] = [];
  const rejected = new Map<RejectReason, number>();
  let rejectedCount = 0;
  const reject = (reason: RejectReason) => {
    rejected.set(reason, (rejected.get(reason) ?? 0) + 1);
    rejectedCount++;
  };
  for (const resourceEntry of asArray(asObject(message)?.['resourceSpans'])) {
    const resourceSpans = asObject(resourceEntry);
    if (resourceSpans === undefined) continue;
    const resourceAttributes = convertAttributes(
      asObject(resourceSpans['resource'])?.['attributes'],
      encoding,
      limits.maxAttributes,
    );
    const resource = resourceFromAttributes(resourceAttributes.attributes);
    for (const scopeEntry of asArray(resourceSpans['scopeSpans'])) {
      const scopeSpans = asObject(scopeEntry);
      if (scopeSpans === undefined) continue;
      const scope = asObject(scopeSpans['scope']);
      const instrumentationScope: InstrumentationScope = {
        name: typeof scope?.['name'] === 'string' ? scope['name'] : '',
        ...(typeof scope?.['version'] === 'string' && scope['version'] !== '' ? { version: scope['version'] } : {}),
        ...(typeof scopeSpans['schemaUrl'] === 'string' && scopeSpans['schemaUrl'] !== ''
          ? { schemaUrl: scopeSpans['schemaUrl'] }
          : {}),
      };
      for (const spanEntry of asArray(scopeSpans['spans'])) {
        const result = convertSpan(spanEntry, encoding, limits, resource, instrumentationScope);
        if (result instanceof ReceivedSpan) spans.push(result);
        else reject(result);
      }
    }
  }
  return { spans, rejected, rejectedCount };
}

function convertSpan(
  entry: unknown,
  encoding: Encoding,
  limits: ConvertLimits,
  resource: Resource,
  instrumentationScope: InstrumentationScope,
): ReceivedSpan | RejectReason {
  const span = asObject(entry);
  if (span === undefined) return REJECT_REASON.shape;
  const traceId = encoding.id(span['traceId'], HEX_TRACE_ID, 16);
  if (traceId === undefined) return REJECT_REASON.traceId;
  const spanId = encoding.id(span['spanId'], HEX_SPAN_ID, 8);
  if (spanId === undefined) return REJECT_REASON.spanId;
  const start = hrTimeOf(span['startTimeUnixNano']);
  if (start === undefined || isZeroTime(start)) return REJECT_REASON.startTime;
  const end = hrTimeOf(span['endTimeUnixNano']);
  if (end === undefined || isBefore(end, start)) return REJECT_REASON.endTime;

  const flags = typeof span['flags'] === 'number' ? span['flags'] : 0;
  // `traceState` is not kept: no processor reads it, and the SDK would need it parsed.
  const context: SpanContext = { traceId, spanId, traceFlags: flags & 0xff };
  const parentRaw = span['parentSpanId'];
  const parentId =
    parentRaw === undefined || parentRaw === '' || (parentRaw instanceof Uint8Array && parentRaw.length === 0)
      ? undefined
      : encoding.id(parentRaw, HEX_SPAN_ID, 8);
  const parentSpanContext: SpanContext | undefined =
    parentId === undefined ? undefined : { traceId, spanId: parentId, traceFlags: flags & 0xff, isRemote: true };

  const attributes = convertAttributes(span['attributes'], encoding, limits.maxAttributes);
  const events: TimedEvent[] = [];
  const rawEvents = asArray(span['events']);
  for (let i = 0; i < rawEvents.length && i < limits.maxEvents; i++) {
    const event = asObject(rawEvents[i]);
    if (event === undefined) continue;
    const eventAttributes = convertAttributes(event['attributes'], encoding, limits.maxAttributes);
    events.push({
      name: typeof event['name'] === 'string' ? event['name'] : '',
      time: hrTimeOf(event['timeUnixNano']) ?? ZERO_TIME,
      attributes: eventAttributes.attributes,
      droppedAttributesCount: eventAttributes.dropped + numberOr(event['droppedAttributesCount'], 0),
    });
  }
  const links: Link[] = [];
  const rawLinks = asArray(span['links']);
  for (let i = 0; i < rawLinks.length && i < limits.maxLinks; i++) {
    const link = asObject(rawLinks[i]);
    const linkTrace = encoding.id(link?.['traceId'], HEX_TRACE_ID, 16);
    const linkSpan = encoding.id(link?.['spanId'], HEX_SPAN_ID, 8);
    if (link === undefined || linkTrace === undefined || linkSpan === undefined) continue;
    const linkAttributes = convertAttributes(link['attributes'], encoding, limits.maxAttributes);
    links.push({
      context: { traceId: linkTrace, spanId: linkSpan, traceFlags: numberOr(link['flags'], 0) & 0xff, isRemote: true },
      attributes: linkAttributes.attributes,
      droppedAttributesCount: linkAttributes.dropped,
    });
  }

  return new ReceivedSpan(
    context,
    typeof span['name'] === 'string' ? span['name'] : '',
    kindOf(span['kind']),
    parentSpanContext,
    start,
    end,
    statusOf(span['status']),
    attributes.attributes,
    links,
    events,
    resource,
    instrumentationScope,
    attributes.dropped + numberOr(span['droppedAttributesCount'], 0),
    Math.max(0, rawEvents.length - limits.maxEvents) + numberOr(span['droppedEventsCount'], 0),
    Math.max(0, rawLinks.length - limits.maxLinks) + numberOr(span['droppedLinksCount'], 0),
  );
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function kindOf(value: unknown): SpanKind {
  const index = typeof value === 'number' ? value : typeof value === 'string' ? SPAN_KIND_NAME[value] : undefined;
  return (index === undefined ? undefined : SPAN_KIND[index]) ?? SpanKind.INTERNAL;
}

function statusOf(value: unknown): SpanStatus {
  const status = asObject(value);
  if (status === undefined) return UNSET_STATUS;
  const raw = status['code'];
  const code =
    typeof raw === 'number' && raw >= 0 && raw <= 2
      ? (raw as SpanStatusCode)
      : typeof raw === 'string'
        ? (STATUS_CODE_NAME[raw] ?? SpanStatusCode.UNSET)
        : SpanStatusCode.UNSET;
  const message = status['message'];
  return typeof message === 'string' && message !== '' ? { code, message } : { code };
}
