import { FINISH_REASON } from '@agent-canary/conventions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeFinishReason } from './finish-reason.js';

describe('normalizeFinishReason', () => {
  it.each([
    // AI SDK unified vocabulary
    ['stop', 'stop'],
    ['length', 'length'],
    ['tool-calls', 'tool_calls'],
    ['content-filter', 'content_filter'],
    ['error', 'error'],
    ['other', 'other'],
    ['interrupted', 'other'],
    // GenAI semconv
    ['tool_call', 'tool_calls'],
    ['content_filter', 'content_filter'],
    // OpenAI raw, Anthropic, Gemini
    ['tool_calls', 'tool_calls'],
    ['function_call', 'tool_calls'],
    ['end_turn', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    // Strands camelCase
    ['endTurn', 'stop'],
    ['toolUse', 'tool_calls'],
    ['maxTokens', 'length'],
    ['contentFiltered', 'content_filter'],
    ['guardrailIntervened', 'content_filter'],
    // unknown spellings are still reported
    ['something_new', 'other'],
  ])('maps %j to %j', (input, expected) => {
    expect(normalizeFinishReason(input)).toBe(expected);
  });

  it('reads arrays and JSON strings of arrays, where a content filter wins', () => {
    expect(normalizeFinishReason(['tool-calls'])).toBe(FINISH_REASON.toolCalls);
    expect(normalizeFinishReason('["tool-calls"]')).toBe(FINISH_REASON.toolCalls);
    expect(normalizeFinishReason(['stop', 'content_filter'])).toBe(FINISH_REASON.contentFilter);
    expect(normalizeFinishReason(['length', 'stop'])).toBe(FINISH_REASON.length);
    expect(normalizeFinishReason('[broken')).toBe(FINISH_REASON.other);
  });

  it('says nothing when nothing usable is given', () => {
    for (const value of [undefined, null, '', '  ', [], [''], 3, {}, '[]']) {
      expect(normalizeFinishReason(value)).toBeUndefined();
    }
  });

  it('always returns a normalised value or undefined, never throws', () => {
    const values = new Set<string>(Object.values(FINISH_REASON));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.string()), fc.json(), fc.anything()), (input) => {
        const result = normalizeFinishReason(input);
        return result === undefined || values.has(result);
      }),
    );
  });
});
