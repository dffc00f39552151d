import { describe, expect, it } from 'vitest';
import * as conventions from './index.js';
import { ConfigError, hashSubject, isCohort } from './index.js';

describe('attribute vocabulary', () => {
  it('has one unique value per ATTR_ constant, and ours are namespaced', () => {
    const entries = Object.entries(conventions).filter(([name]) => name.startsWith('ATTR_'));
    const values = entries.map(([, value]) => value);
    expect(new Set(values).size).toBe(values.length);
    for (const [name, value] of entries) {
      expect(typeof value, name).toBe('string');
      const ours = !/^ATTR_(GEN_AI|FEATURE_FLAG|LANGFUSE|ERROR|USER|SESSION)_/.test(name);
      if (ours) expect(value, name).toMatch(/^agent_canary\./);
    }
  });
});

describe('isCohort', () => {
  it('accepts the three cohorts and nothing else', () => {
    expect(['stable', 'canary', 'control'].every(isCohort)).toBe(true);
    expect(isCohort('Canary')).toBe(false);
    expect(isCohort(undefined)).toBe(false);
  });
});

describe('ConfigError', () => {
  it('names the field, what was expected and what was received', () => {
    const error = new ConfigError({ path: 'steps[1].percent', expected: 'a number in 0..100', received: 120 });
    expect(error.message).toBe('invalid configuration at steps[1].percent: expected a number in 0..100, received 120');
    expect(error.code).toBe('AGENT_CANARY_INVALID_CONFIG');
    expect(error.path).toBe('steps[1].percent');
  });

  it('uses the missing-value code when nothing was received', () => {
    const error = new ConfigError({ path: 'flagKey', expected: 'a non-empty string' });
    expect(error.code).toBe('AGENT_CANARY_MISSING_CONFIG');
    expect(error.message).toContain('received nothing');
  });
});

describe('hashSubject', () => {
  it('is stable, short and does not contain the key', () => {
    expect(hashSubject('user-42')).toBe(hashSubject('user-42'));
    expect(hashSubject('user-42')).toMatch(/^[0-9a-f]{16}$/);
    expect(hashSubject('user-42')).not.toBe(hashSubject('user-43'));
  });
});
