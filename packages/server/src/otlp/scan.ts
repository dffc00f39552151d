/**
 * Structural scanners of OTLP bodies, fed chunk by chunk while a body streams in (and is
 * inflated): they count spans, objects and nesting depth without building anything, so a
 * request that would cost too much to decode is refused before it is parsed — and before
 * the rest of it is even inflated. Decoding proper (`convert.ts`) runs only on bodies a
 * scanner has let through. The contract and its problems are in `scan-problem.ts`.
 *
 * - JSON (`scan-json.ts`): objects and arrays, spans at `resourceSpans[].scopeSpans[].spans`.
 * - Protobuf (`scan-protobuf.ts`): the wire format walked with the OTLP trace schema.
 */
import { JsonScanner } from './scan-json.js';
import type { BodyScanner, ScanLimits } from './scan-problem.js';
import { ProtobufScanner } from './scan-protobuf.js';

/** Scanner of the given OTLP encoding. */
export function createBodyScanner(encoding: 'protobuf' | 'json', limits: ScanLimits): BodyScanner {
  return encoding === 'protobuf' ? new ProtobufScanner(limits) : new JsonScanner(limits);
}
