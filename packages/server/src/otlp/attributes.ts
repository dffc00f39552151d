/**
 * OTLP attributes (`KeyValue` lists of `AnyValue`s) as span attributes: primitives and
 * homogeneous arrays as they are, maps and mixed arrays as JSON text, with bounded count
 * and nesting.
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { asArray, asObject, type Encoding, type Loose } from './encoding.js';

/** Converts a `KeyValue` list, keeping at most `max` attributes; counts the ones dropped. */
export function convertAttributes(
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
