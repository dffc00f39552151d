import { describe, expect, it } from 'vitest';
import { envValue } from './env.js';

describe('envValue', () => {
  it('trims a set value and reads unset or blank as not configured', () => {
    expect(envValue(' http://127.0.0.1:4242 ')).toBe('http://127.0.0.1:4242');
    expect(envValue('   ')).toBeUndefined();
    expect(envValue(undefined)).toBeUndefined();
  });
});
