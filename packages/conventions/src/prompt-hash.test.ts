import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPrompt } from './prompt-hash.js';

describe('hashPrompt', () => {
  it('is sha256: and the first 16 hex digits of the UTF-8 text', () => {
    const text = 'Réponds en français.';
    expect(hashPrompt(text)).toBe(
      `sha256:${createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex').slice(0, 16)}`,
    );
    expect(hashPrompt('a')).not.toBe(hashPrompt('b'));
  });
});
