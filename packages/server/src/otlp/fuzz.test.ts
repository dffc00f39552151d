/**
 * Fuzz tests of the OTLP decoders and the body scanners (seeded fast-check, so a failure
 * prints a reproducible counterexample): valid requests of every shape, the same requests
 * truncated, bit-flipped, with bytes inserted, deleted or repeated, arbitrary JSON and
 * arbitrary bytes, deep nesting, every body cut into chunks at random places.
 *
 * Invariants: the decoders return a batch or throw `OtlpDecodeError`, nothing else; the
 * scanners never throw, give the same answer however the body is chunked, count exactly
 * the spans (and for JSON the objects) of a valid request, and never count fewer spans
 * than the decoder then finds — the receiver's span and memory bounds rest on that.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ConvertLimits,
  type DecodedBatch,
  decodeJsonRequest,
  decodeProtobufRequest,
  OtlpDecodeError,
} from './convert.js';
import {
  chunked,
  containerCount,
  mutate,
  mutationArbitrary,
  requestArbitrary,
  spanCount,
  toProtobuf,
} from './fuzz.test-helper.js';
import { createBodyScanner } from './scan.js';
import type { BodyScanner, ScanLimits, ScanProblem } from './scan-problem.js';

const LIMITS: ConvertLimits = { maxAttributes: 256, maxEvents: 128, maxLinks: 128 };
const SCAN_LIMITS: ScanLimits = { maxSpans: 1_000_000, maxObjects: 10_000_000, maxDepth: 64 };
const SEED = 17;
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });
/** Number of bodies each property below sees; the HTTP fuzz test sends its own. */
const RUNS = 800;

type Encoding = 'protobuf' | 'json';

interface ScanOutcome {
  readonly problem: ScanProblem | undefined;
  readonly spans: number;
  readonly objects: number;
}

function scan(encoding: Encoding, chunks: readonly Uint8Array[], limits: ScanLimits = SCAN_LIMITS): ScanOutcome {
  const scanner: BodyScanner = createBodyScanner(encoding, limits);
  let problem: ScanProblem | undefined;
  for (const chunk of chunks) {
    problem = scanner.write(chunk);
    if (problem !== undefined) break;
  }
  problem ??= scanner.end();
  return { problem, spans: scanner.spans, objects: scanner.objects };
}

/** Decodes; only `OtlpDecodeError` may escape (anything else fails the property). */
function decode(encoding: Encoding, body: Uint8Array): DecodedBatch | OtlpDecodeError {
  try {
    return encoding === 'protobuf'
      ? decodeProtobufRequest(body, LIMITS)
      : decodeJsonRequest(Buffer.from(body).toString('utf8'), LIMITS);
  } catch (error) {
    if (error instanceof OtlpDecodeError) return error;
    throw error;
  }
}

/** Every byte its own chunk: each chunk boundary a body can have. */
function bytewise(body: Uint8Array): Uint8Array[] {
  return Array.from(body, (_, i) => body.subarray(i, i + 1));
}

function encode(encoding: Encoding, request: Record<string, unknown>): Uint8Array {
  return encoding === 'protobuf' ? toProtobuf(request) : Buffer.from(JSON.stringify(request));
}

describe.each(['protobuf', 'json'] as const)('%s decoder and scanner under fuzzing', (encoding) => {
  it('count exactly the spans of valid requests, however the body is chunked', () => {
    fc.assert(
      fc.property(requestArbitrary, cuts, (request, at) => {
        const body = encode(encoding, request);
        const whole = scan(encoding, [body]);
        expect(whole.problem).toBeUndefined();
        expect(whole.spans).toBe(spanCount(request));
        if (encoding === 'json') expect(whole.objects).toBe(containerCount(request));
        expect(scan(encoding, chunked(body, at))).toEqual(whole);
        expect(scan(encoding, bytewise(body))).toEqual(whole);
        const decoded = decode(encoding, body);
        expect(decoded).not.toBeInstanceOf(OtlpDecodeError);
        const batch = decoded as DecodedBatch;
        expect(batch.spans.length + batch.rejectedCount).toBe(spanCount(request));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('never crash on damaged requests, and never find more spans than the scanner counted', () => {
    fc.assert(
      fc.property(
        requestArbitrary,
        fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 }),
        cuts,
        (request, mutations, at) => {
          const body = mutate(encode(encoding, request), mutations);
          const whole = scan(encoding, [body]);
          expect(scan(encoding, chunked(body, at))).toEqual(whole);
          const decoded = decode(encoding, body);
          if (whole.problem === undefined && !(decoded instanceof OtlpDecodeError)) {
            expect(decoded.spans.length + decoded.rejectedCount).toBeLessThanOrEqual(whole.spans);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('never crash on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), cuts, (body, at) => {
        const whole = scan(encoding, [body]);
        expect(scan(encoding, chunked(body, at))).toEqual(whole);
        const decoded = decode(encoding, body);
        if (whole.problem === undefined && !(decoded instanceof OtlpDecodeError)) {
          expect(decoded.spans.length + decoded.rejectedCount).toBeLessThanOrEqual(whole.spans);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('refuse nesting past the depth limit before decoding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 65, max: 1500 }), (depth) => {
        let body: Uint8Array;
        if (encoding === 'json') {
          body = Buffer.from(
            `{"resourceSpans":[{"scopeSpans":[{"spans":[${'['.repeat(depth)}${']'.repeat(depth)}]}]}]}`,
          );
        } else {
          // Span.attributes -> KeyValue.value -> AnyValue.kvlist_value -> KeyValueList.values -> KeyValue ...
          let inner: Uint8Array = new Uint8Array(0);
          for (let i = 0; i < depth / 3; i++) {
            inner = lengthDelimited(0x12, lengthDelimited(0x32, lengthDelimited(0x0a, inner)));
          }
          body = lengthDelimited(0x0a, lengthDelimited(0x12, lengthDelimited(0x12, lengthDelimited(0x4a, inner))));
        }
        expect(scan(encoding, [body]).problem?.kind).toBe('too_deep');
      }),
      { numRuns: 50, seed: SEED },
    );
  });
});

describe('JSON decoder and scanner on arbitrary JSON', () => {
  it('answer every JSON value: a batch or an OtlpDecodeError, never more spans than counted', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), cuts, (value, at) => {
        const body = Buffer.from(JSON.stringify(value) ?? 'null');
        const whole = scan('json', [body]);
        expect(scan('json', chunked(body, at))).toEqual(whole);
        expect(scan('json', bytewise(body))).toEqual(whole);
        expect(whole.objects).toBe(containerCount(value));
        const decoded = decode('json', body);
        if (Array.isArray(value) || typeof value !== 'object' || value === null) {
          expect(decoded).toBeInstanceOf(OtlpDecodeError);
        }
        if (!(decoded instanceof OtlpDecodeError)) {
          expect(decoded.spans.length + decoded.rejectedCount).toBeLessThanOrEqual(whole.spans);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('count spans behind escaped keys (a key written with \\u escapes is the same key)', () => {
    const body = Buffer.from(
      '{"resource\\u0053pans":[{"\\u0073copeSpans":[{"sp\\u0061ns":[{},{},{}]}]}],"x":"\\"spans\\":[{}]"}',
    );
    const decoded = decode('json', body) as DecodedBatch;
    expect(decoded.rejectedCount).toBe(3);
    expect(scan('json', [body]).spans).toBe(3);
    expect(scan('json', bytewise(body)).spans).toBe(3);
  });
});

function lengthDelimited(tag: number, body: Uint8Array): Uint8Array {
  const length: number[] = [];
  let rest = body.length;
  while (rest >= 0x80) {
    length.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  length.push(rest);
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}
