import { describe, expect, it } from 'vitest';
import { createProgress, formatProgress } from './progress.js';

const state = {
  step: 2,
  stepCount: 4,
  canaryPercent: 20,
  requests: { stable: 812, canary: 204, control: 199 },
  verdict: 'pass' as const,
};

describe('progress', () => {
  it('formats step, share, requests per cohort and verdict on one line', () => {
    expect(formatProgress(state)).toBe(
      'step 2/4 · canary 20% · requests stable 812 canary 204 control 199 · verdict pass',
    );
    expect(formatProgress({ ...state, canaryPercent: 12.5, requests: {}, verdict: undefined, label: 'paused' })).toBe(
      'paused · step 2/4 · canary 12.5% · requests stable 0 canary 0 control 0 · verdict -',
    );
  });

  it('redraws one line in place on a terminal, skips unchanged lines and ends with one newline', () => {
    let out = '';
    const progress = createProgress({ write: (text) => (out += text), isTTY: true, json: false, columns: 120 });
    progress.update(state);
    progress.update(state);
    progress.update({ ...state, requests: { ...state.requests, canary: 260 } });
    progress.done();
    progress.done();
    expect(out.split('\r\x1b[2K')).toHaveLength(3);
    expect(out.endsWith('verdict pass\n')).toBe(true);
    expect(out.match(/\n/g)).toHaveLength(1);
  });

  it('cuts the line to the terminal width so it never wraps', () => {
    let out = '';
    const progress = createProgress({ write: (text) => (out += text), isTTY: true, json: false, columns: 40 });
    progress.update(state);
    const line = out.replace('\r\x1b[2K', '');
    expect(line.length).toBe(39);
    expect(line.endsWith('…')).toBe(true);
  });

  it.each([
    ['stdout is not a terminal', { isTTY: false, json: false }],
    ['--json', { isTTY: true, json: true }],
  ])('is silent when %s', (_, options) => {
    let out = '';
    const progress = createProgress({ write: (text) => (out += text), ...options });
    progress.update(state);
    progress.done();
    expect(progress.enabled).toBe(false);
    expect(out).toBe('');
  });
});
