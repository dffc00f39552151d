import {
  type Attributes,
  type AttributeValue,
  type HrTime,
  type Link,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
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

const INVALID_ID = /^0+$/;
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

/**
 * A span received over OTLP, shaped as the SDK's `ReadableSpan` so span processors (the
 * behaviour processor, an exporter's batch processor) take it as if it had ended here.
 */
export class ReceivedSpan implements ReadableSpan {
  /** Always true: a received span has ended. */
  readonly ended = true;
  /** `endTime - startTime`. */
  readonly duration: HrTime;

  /** Built by {@link decodeProtobufRequest} and {@link decodeJsonRequest}; the fields are `ReadableSpan`'s. */
  constructor(
    private readonly context: SpanContext,
    readonly name: string,
    readonly kind: SpanKind,
    readonly parentSpanContext: SpanContext | undefined,
    readonly startTime: HrTime,
    readonly endTime: HrTime,
    readonly status: SpanStatus,
    readonly attributes: Attributes,
    readonly links: Link[],
    readonly events: TimedEvent[],
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
    readonly droppedAttributesCount: number,
    readonly droppedEventsCount: number,
    readonly droppedLinksCount: number,
  ) {
    let seconds = endTime[0] - startTime[0];
    let nanos = endTime[1] - startTime[1];
    if (nanos < 0) {
      seconds -= 1;
      nanos += 1_000_000_000;
    }
    this.duration = [seconds, nanos];
  }

  /** Trace id, span id and trace flags as received. */
  spanContext(): SpanContext {
    return this.context;
  }
}

// --- the two encodings' differences: ids, 64-bit integers, bytes -------------------

/** How one encoding spells ids and 64-bit integers (protobuf: bytes and Long; JSON: hex and strings). */
interface Encoding {
  /** Hex id, or undefined when absent / malformed / all zeros. */
  id(value: unknown, hexPattern: RegExp, bytes: number): string | undefined;
  /** A 64-bit integer attribute as a JS number. */
  int(value: unknown): number | undefined;
  /** A bytes attribute as base64. */
  bytes(value: unknown): string | undefined;
}

const TWO_POW_32 = 4_294_967_296;
const NANOS_PER_SECOND = 1_000_000_000;

function isLongLike(value: unknown): value is { low: number; high: number } {
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value;
}

/**
 * Unsigned 64-bit nanoseconds (`high`, `low` 32-bit halves) as an exact HrTime, without
 * BigInt (it allocated six heap numbers per timestamp on the receiver's hot path): a
 * floating-point estimate of the seconds, then the exact remainder modulo 2^32, which is
 * unambiguous because the estimate is off by at most one second.
 */
function hrTimeOfHalves(high: number, low: number): HrTime {
  const highU = high >>> 0;
  const lowU = low >>> 0;
  let seconds = Math.floor((highU * TWO_POW_32 + lowU) / NANOS_PER_SECOND);
  let nanos = (lowU - Math.imul(seconds, NANOS_PER_SECOND)) >>> 0;
  if (nanos >= TWO_POW_32 - NANOS_PER_SECOND) nanos -= TWO_POW_32;
  while (nanos < 0) {
    seconds -= 1;
    nanos += NANOS_PER_SECOND;
  }
  while (nanos >= NANOS_PER_SECOND) {
    seconds += 1;
    nanos -= NANOS_PER_SECOND;
  }
  return [seconds, nanos];
}

/** Nanoseconds since the epoch (Long, decimal string or number) as an HrTime, or undefined. */
function hrTimeOf(value: unknown): HrTime | undefined {
  if (isLongLike(value)) return hrTimeOfHalves(value.high, value.low);
  if (typeof value === 'string') {
    if (!/^\d{1,20}$/.test(value)) return undefined;
    // Decimal digits split at 10^9: exact for any 64-bit value.
    const cut = value.length - 9;
    return cut <= 0 ? [0, Number(value)] : [Number(value.slice(0, cut)), Number(value.slice(cut))];
  }
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    const seconds = Math.floor(value / NANOS_PER_SECOND);
    return [seconds, Math.max(0, Math.round(value - seconds * NANOS_PER_SECOND))];
  }
  return undefined;
}

function isZeroTime(time: HrTime): boolean {
  return time[0] === 0 && time[1] === 0;
}

function isBefore(a: HrTime, b: HrTime): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

function allZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function int64Of(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return /^-?\d{1,20}$/.test(value) ? Number(value) : undefined;
  // Signed: the high half carries the sign.
  if (isLongLike(value)) return (value.high | 0) * TWO_POW_32 + (value.low >>> 0);
  return undefined;
}

const PROTOBUF: Encoding = {
  id(value, _hex, bytes) {
    if (!(value instanceof Uint8Array) || value.length !== bytes || allZero(value)) return undefined;
    // protobufjs hands out Buffer slices on Node; other Uint8Arrays get a view.
    return Buffer.isBuffer(value)
      ? value.toString('hex')
      : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  },
  int: int64Of,
  bytes(value) {
    return value instanceof Uint8Array
      ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
      : undefined;
  },
};

const JSON_ENCODING: Encoding = {
  id(value, hex) {
    if (typeof value !== 'string' || !hex.test(value) || INVALID_ID.test(value)) return undefined;
    return value.toLowerCase();
  },
  int: int64Of,
  bytes(value) {
    return typeof value === 'string' ? value : undefined;
  },
};

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

type Loose = Record<string, unknown>;

function asObject(value: unknown): Loose | undefined {
  return typeof value === 'object' && value !== null ? (value as Loose) : undefined;
}

function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
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

function convertAttributes(
  list: unknown,
  encoding: Encoding,
  max: number,
): { attributes: Attributes; dropped: number } {
  const attributes: Attributes = {};
  let dropped = 0;
  if (!Array.isArray(list)) return { attributes, dropped };
  let kept = 0;
  for (const entry of list) {
    const keyValue = asObject(entry);
    const key = keyValue?.['key'];
    // `__proto__` would replace the attributes object's prototype instead of adding a key.
    if (typeof key !== 'string' || key === '' || key === '__proto__') {
      dropped++;
      continue;
    }
    if (kept >= max) {
      dropped++;
      continue;
    }
    const value = attributeValue(keyValue?.['value'], encoding);
    if (value === undefined) {
      dropped++;
      continue;
    }
    attributes[key] = value;
    kept++;
  }
  return { attributes, dropped };
}

/** The one field set in an `AnyValue`: protobufjs names it in the `value` oneof property. */
function anyValueField(any: Loose): string | undefined {
  const oneof = any['value'];
  if (typeof oneof === 'string') return oneof;
  for (const field of [
    'stringValue',
    'boolValue',
    'intValue',
    'doubleValue',
    'arrayValue',
    'kvlistValue',
    'bytesValue',
  ]) {
    if (field in any) return field;
  }
  return undefined;
}

function attributeValue(raw: unknown, encoding: Encoding): AttributeValue | undefined {
  const any = asObject(raw);
  if (any === undefined) return undefined;
  const field = anyValueField(any);
  const value = field === undefined ? undefined : any[field];
  switch (field) {
    case 'stringValue':
      return typeof value === 'string' ? value : undefined;
    case 'boolValue':
      return typeof value === 'boolean' ? value : undefined;
    case 'intValue':
      return encoding.int(value);
    case 'doubleValue':
      return typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : undefined;
    case 'bytesValue':
      return encoding.bytes(value);
    case 'arrayValue':
      return arrayValue(asObject(value)?.['values'], encoding);
    case 'kvlistValue': {
      // Span attributes cannot hold maps: keep the map as JSON text, as SDKs do for GenAI messages.
      const json = plainValue(any, encoding);
      return json === undefined ? undefined : JSON.stringify(json);
    }
    default:
      return undefined;
  }
}

function arrayValue(list: unknown, encoding: Encoding): AttributeValue | undefined {
  if (!Array.isArray(list)) return [];
  const values = list.map((item) => plainValue(item, encoding));
  // Attribute arrays are homogeneous primitives; anything else is kept as JSON text.
  const first = values.find((v) => v !== null && v !== undefined);
  const type = typeof first;
  if (
    (type === 'string' || type === 'number' || type === 'boolean' || first === undefined) &&
    values.every((v) => v === null || v === undefined || typeof v === type)
  ) {
    return values.map((v) => (v === undefined ? null : v)) as AttributeValue;
  }
  return JSON.stringify(values);
}

/**
 * Nesting of maps and arrays kept in one attribute value; deeper values become null (the
 * receiver refuses deeper bodies before decoding; this bounds direct callers too).
 */
const MAX_VALUE_NESTING = 32;

/** An `AnyValue` as plain JSON (for maps and mixed arrays). */
function plainValue(raw: unknown, encoding: Encoding, depth = 0): unknown {
  const any = asObject(raw);
  if (any === undefined || depth > MAX_VALUE_NESTING) return null;
  const field = anyValueField(any);
  const value = field === undefined ? undefined : any[field];
  switch (field) {
    case 'kvlistValue': {
      // No prototype: a key named `__proto__` is an ordinary key here.
      const result: Record<string, unknown> = Object.create(null);
      for (const entry of asArray(asObject(value)?.['values'])) {
        const keyValue = asObject(entry);
        if (typeof keyValue?.['key'] === 'string') {
          result[keyValue['key']] = plainValue(keyValue['value'], encoding, depth + 1);
        }
      }
      return result;
    }
    case 'arrayValue':
      return asArray(asObject(value)?.['values']).map((item) => plainValue(item, encoding, depth + 1));
    case undefined:
      return null;
    default:
      return attributeValue(any, encoding) ?? null;
  }
}
