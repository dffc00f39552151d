import { ATTR_COHORT, ATTR_RELEASE_ID } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { formatTable, runQuickstart } from './quickstart.js';

describe('quickstart example', () => {
  it('labels every span with a release and summarises the three cohorts', async () => {
    const { spans, summary } = await runQuickstart(24);
    expect(spans.length).toBeGreaterThan(24 * 2);
    for (const span of spans) {
      expect(span.attributes[ATTR_RELEASE_ID], span.name).toMatch(/^support@v[12]$/);
      expect(span.attributes[ATTR_COHORT], span.name).toMatch(/^(canary|control|stable)$/);
    }
    expect(summary.map((row) => row.cohort)).toEqual(['canary', 'control', 'stable']);
    expect(summary.reduce((sum, row) => sum + row.users, 0)).toBe(24);
    expect(summary.find((row) => row.cohort === 'canary')?.release).toBe('support@v2');
    expect(formatTable(summary).split('\n')).toHaveLength(5);
  });
});
