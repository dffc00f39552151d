/**
 * What differs between the two OTLP encodings — how ids, 64-bit integers, timestamps and
 * bytes are spelled (protobuf: bytes and Long; JSON: hex and strings) — and reading a
 * decoded message whose shape is not trusted.
 */
import type { HrTime } from '@opentelemetry/api';

const INVALID_ID = /^0+$/;

/** How one encoding spells ids and 64-bit integers (protobuf: bytes and Long; JSON: hex and strings). */
export interface Encoding {
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
export function hrTimeOf(value: unknown): HrTime | undefined {
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

/** True for the time 0 (unset in OTLP). */
export function isZeroTime(time: HrTime): boolean {
  return time[0] === 0 && time[1] === 0;
}

/** True when `a` is strictly before `b`. */
export function isBefore(a: HrTime, b: HrTime): boolean {
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

/** Protobuf: ids as bytes, 64-bit integers as Long, bytes as `Uint8Array`. */
export const PROTOBUF: Encoding = {
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

/** JSON: ids as hex, 64-bit integers as decimal strings, bytes as base64. */
export const JSON_ENCODING: Encoding = {
  id(value, hex) {
    if (typeof value !== 'string' || !hex.test(value) || INVALID_ID.test(value)) return undefined;
    return value.toLowerCase();
  },
  int: int64Of,
  bytes(value) {
    return typeof value === 'string' ? value : undefined;
  },
};

/** A decoded message object whose shape is not trusted. */
export type Loose = Record<string, unknown>;

/** `value` as an object to read fields from, or undefined. */
export function asObject(value: unknown): Loose | undefined {
  return typeof value === 'object' && value !== null ? (value as Loose) : undefined;
}

/** `value` as an array, or empty. */
export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
