import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cosineSimilarity, isRefusal } from './evaluators.js';

describe('cosineSimilarity', () => {
  it('is 1 for the same text, 0 for disjoint texts, and ignores case and punctuation', () => {
    expect(cosineSimilarity('It is sunny in Paris.', 'it is SUNNY in paris')).toBeCloseTo(1, 12);
    expect(cosineSimilarity('sunny Paris', 'rainy London')).toBe(0);
    expect(cosineSimilarity('', 'anything')).toBe(0);
  });

  it('ranks a close paraphrase above an unrelated answer', () => {
    const control = 'The weather in Paris is sunny today.';
    expect(cosineSimilarity('Today the weather in Paris is sunny.', control)).toBeGreaterThan(
      cosineSimilarity('I cannot access weather data.', control),
    );
  });

  it('is symmetric and stays in 0..1', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const ab = cosineSimilarity(a, b);
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeLessThanOrEqual(1);
        expect(ab).toBeCloseTo(cosineSimilarity(b, a), 12);
      }),
      { numRuns: 200 },
    );
  });
});

describe('isRefusal', () => {
  it.each([
    "I'm sorry, but I can't help with that.",
    'I am sorry, I cannot assist with this request.',
    "I can't provide that information.",
    'As an AI language model, I cannot do that.',
    'I must decline.',
    "I'm unable to help with this.",
  ])('detects %j', (text) => expect(isRefusal(text)).toBe(true));

  it.each([
    'It is sunny in Paris.',
    "Sorry for the delay, here's your forecast.",
    'I can help with that: it is 21 degrees.',
    "The tool can't reach the server, so I used yesterday's data.",
  ])('does not flag %j', (text) => expect(isRefusal(text)).toBe(false));
});
