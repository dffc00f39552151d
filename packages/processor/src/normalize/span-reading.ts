/**
 * Small total readers of a span and its attributes (never throw, `undefined` when absent
 * or malformed), and the setters that fill the facts being built.
 */
import type { AgentSpanFacts } from '@agent-canary/conventions';
import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** The facts being built, writable. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** True when the span has a parent. */
export function hasParent(span: ReadableSpan): boolean {
  return span.parentSpanContext !== undefined;
}

/** An HrTime as milliseconds (0 when missing). */
export function hrTimeToMillis(time: HrTime | undefined): number {
  if (!Array.isArray(time)) return 0;
  return time[0] * 1e3 + time[1] / 1e6;
}

/** A non-empty string attribute, or undefined. */
export function stringAttribute(attributes: Attributes | undefined, key: string): string | undefined {
  const value = attributes?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A finite number attribute (numbers or numeric strings), or undefined. */
export function numberAttribute(attributes: Attributes, key: string): number | undefined {
  return toNumber(attributes[key]);
}

/** A finite number from a number or a numeric string, or undefined. */
export function toNumber(value: AttributeValue | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/** The first of `keys` that holds a number. */
export function firstNumber(attributes: Attributes, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const value = toNumber(attributes[key]);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The string-valued facts {@link setString} writes. */
export type StringFact =
  | 'release'
  | 'rolloutId'
  | 'flagKey'
  | 'subject'
  | 'promptHash'
  | 'agentName'
  | 'toolName'
  | 'toolCallId'
  | 'model'
  | 'topic';

/** Sets a string fact when `value` is a non-empty string. */
export function setString(facts: Mutable<AgentSpanFacts>, key: StringFact, value: unknown): void {
  if (typeof value === 'string' && value !== '') facts[key] = value;
}

/** Sets the token counts that are known. */
export function setTokens(facts: Mutable<AgentSpanFacts>, input: number | undefined, output: number | undefined): void {
  if (input !== undefined) facts.inputTokens = input;
  if (output !== undefined) facts.outputTokens = output;
}

/** What follows `prefix` in `name`, or undefined when `name` does not start with it or is only it. */
export function nameSuffix(name: string, prefix: string): string | undefined {
  return name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : undefined;
}
