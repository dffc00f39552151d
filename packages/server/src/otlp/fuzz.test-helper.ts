/**
 * fast-check arbitraries for the fuzz tests of the OTLP decoders and the receiver: valid
 * export requests (in the OTLP/JSON shape, encodable to protobuf with the schema), and
 * the ways a body goes wrong on the way (truncation, flipped bits, inserted, deleted and
 * repeated bytes). Test code only.
 */
import fc from 'fast-check';
import { ExportTraceServiceRequest } from './schema.js';

type Json = Record<string, unknown>;

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((value) => Buffer.from(value).toString('hex'));
/** Nanoseconds since the epoch as a decimal string (the OTLP/JSON spelling of fixed64). */
const nanos = fc.bigInt({ min: 1n, max: 2n ** 63n }).map(String);

const anyValueArbitraries = fc.letrec<{ value: Json; keyValue: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.record({ stringValue: fc.string({ maxLength: 12 }) }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ intValue: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) }),
    fc.record({ doubleValue: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
    fc.record({ bytesValue: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('base64')) }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('value'), { maxLength: 3 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(tie('keyValue'), { maxLength: 3 }) }) }),
  ),
  keyValue: fc.record({ key: fc.string({ maxLength: 10 }), value: tie('value') }),
}));

const attributes = fc.array(anyValueArbitraries.keyValue, { maxLength: 4 });

/** One span in the OTLP/JSON shape; some are unusable on purpose (zero ids, end before start). */
export const spanArbitrary: fc.Arbitrary<Json> = fc.record(
  {
    traceId: fc.oneof({ weight: 9, arbitrary: hex(16) }, { weight: 1, arbitrary: fc.constant('0'.repeat(32)) }),
    spanId: hex(8),
    parentSpanId: hex(8),
    name: fc.string({ maxLength: 16 }),
    kind: fc.integer({ min: 0, max: 5 }),
    startTimeUnixNano: nanos,
    endTimeUnixNano: nanos,
    attributes,
    events: fc.array(
      fc.record({ timeUnixNano: nanos, name: fc.string({ maxLength: 8 }), attributes }, { requiredKeys: ['name'] }),
      { maxLength: 2 },
    ),
    links: fc.array(fc.record({ traceId: hex(16), spanId: hex(8), attributes }), { maxLength: 2 }),
    status: fc.record({ code: fc.integer({ min: 0, max: 2 }), message: fc.string({ maxLength: 8 }) }),
  },
  { requiredKeys: ['traceId', 'spanId', 'startTimeUnixNano', 'endTimeUnixNano'] },
);

/** Largest counts of an {@link requestArbitraryOf} request. */
export interface RequestShape {
  readonly resources: number;
  readonly scopes: number;
  readonly spans: number;
}

/** An `ExportTraceServiceRequest` in the OTLP/JSON shape, at most this large. */
export function requestArbitraryOf(shape: RequestShape): fc.Arbitrary<Json> {
  return fc.record({
    resourceSpans: fc.array(
      fc.record(
        {
          resource: fc.record({ attributes }),
          scopeSpans: fc.array(
            fc.record(
              {
                scope: fc.record({ name: fc.string({ maxLength: 8 }), version: fc.string({ maxLength: 4 }) }),
                spans: fc.array(spanArbitrary, { maxLength: shape.spans }),
              },
              { requiredKeys: ['spans'] },
            ),
            { maxLength: shape.scopes },
          ),
        },
        { requiredKeys: ['scopeSpans'] },
      ),
      { maxLength: shape.resources },
    ),
  });
}

/** Requests of up to 3 resources × 3 scopes × 6 spans. */
export const requestArbitrary: fc.Arbitrary<Json> = requestArbitraryOf({ resources: 3, scopes: 3, spans: 6 });

/** Span entries of a request (used and unusable alike). */
export function spanCount(request: Json): number {
  let count = 0;
  for (const resourceSpans of request['resourceSpans'] as Json[]) {
    for (const scopeSpans of resourceSpans['scopeSpans'] as Json[]) count += (scopeSpans['spans'] as Json[]).length;
  }
  return count;
}

/** Objects and arrays of a JSON value: what the JSON scanner counts. */
export function containerCount(value: unknown): number {
  if (Array.isArray(value)) return 1 + value.reduce((sum: number, item) => sum + containerCount(item), 0);
  if (typeof value === 'object' && value !== null) {
    return 1 + Object.values(value).reduce((sum: number, item) => sum + containerCount(item), 0);
  }
  return 0;
}

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** The request in protobuf (hex ids become bytes, as the OTLP/JSON mapping says). */
export function toProtobuf(request: Json): Uint8Array {
  const convert = (value: unknown, key?: string): unknown => {
    if (key !== undefined && ID_FIELDS.has(key) && typeof value === 'string') return Buffer.from(value, 'hex');
    if (key === 'bytesValue' && typeof value === 'string') return Buffer.from(value, 'base64');
    if (Array.isArray(value)) return value.map((item) => convert(item));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, k)]));
    }
    return value;
  };
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(convert(request) as Json)).finish();
}

/** A way a body goes wrong on the way. */
export type Mutation =
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'repeat'; readonly at: number; readonly length: number; readonly times: number };

/** Positions are fractions of the body's length, so one mutation fits any body. */
export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    length: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    length: fc.integer({ min: 1, max: 32 }),
    times: fc.integer({ min: 2, max: 50 }),
  }),
);

/** Applies the mutations in order to a copy of `body`. */
export function mutate(body: Uint8Array, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(body);
  for (const mutation of mutations) {
    const at = Math.min(bytes.length, Math.floor(mutation.at * (bytes.length + 1)));
    switch (mutation.kind) {
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'flip':
        if (at < bytes.length) bytes[at] = (bytes[at] as number) ^ (1 << mutation.bit);
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), mutation.bytes, bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + mutation.length)]);
        break;
      case 'repeat': {
        const slice = bytes.subarray(at, at + mutation.length);
        bytes = Buffer.concat([
          bytes.subarray(0, at),
          ...Array.from({ length: mutation.times }, () => slice),
          bytes.subarray(at),
        ]);
        break;
      }
    }
  }
  return bytes;
}

/** Splits a body into chunks at the given fractions (a body arrives in pieces of any size). */
export function chunked(body: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const positions = [...new Set(cuts.map((cut) => Math.floor(cut * body.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const position of positions) {
    if (position > from) chunks.push(body.subarray(from, position));
    from = Math.max(from, position);
  }
  chunks.push(body.subarray(from));
  return chunks;
}
