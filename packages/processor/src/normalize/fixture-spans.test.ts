import { AGENT_SPAN_KIND, ATTR_COHORT, ATTR_RELEASE_ID, ATTR_ROLLOUT_ID } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { normalizeSpan } from './index.js';
import { fixtureRunNames, loadFixtureSpans } from './testing.js';

describe('loadFixtureSpans', () => {
  it('replays a run as finished SDK spans with parent links, scopes, status and events', () => {
    const spans = loadFixtureSpans('vercel-ai-sdk-v7-legacy.json', { run: 'generateText' });
    expect(spans.map((span) => span.name)).toEqual([
      'ai.generateText',
      'ai.generateText.doGenerate',
      'ai.toolCall',
      'ai.toolCall',
      'ai.generateText.doGenerate',
    ]);
    const [root, firstCall, tool] = spans;
    expect(spans.every((span) => span.ended && span.instrumentationScope.name === 'ai')).toBe(true);
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    expect(root?.parentSpanContext).toBeUndefined();
    // v7 legacy nests tool calls under the model call that requested them.
    expect(tool?.parentSpanContext?.spanId).toBe(firstCall?.spanContext().spanId);
    // A parent encloses its children in time.
    for (const span of spans.slice(1)) {
      expect(span.endTime[0] * 1e9 + span.endTime[1]).toBeLessThan(
        (root?.endTime[0] ?? 0) * 1e9 + (root?.endTime[1] ?? 0),
      );
    }
    const failing = spans.find((span) => span.attributes['ai.toolCall.name'] === 'failing_tool');
    expect(failing?.status).toEqual({ code: 2, message: 'tool exploded' });
    expect(failing?.events.map((event) => event.name)).toEqual(['exception']);
  });

  it('keeps flat OpenLLMetry spans in separate traces, as captured', () => {
    const spans = loadFixtureSpans('langchain-openllmetry.json', { run: 'createAgent' });
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(spans.length);
  });

  it('replays every run when none is named, each in its own traces', () => {
    const file = 'vercel-ai-sdk-v6.json';
    const all = loadFixtureSpans(file);
    const perRun = fixtureRunNames(file).map((run) => loadFixtureSpans(file, { run }).length);
    expect(all).toHaveLength(perRun.reduce((sum, count) => sum + count, 0));
    expect(new Set(all.map((span) => span.spanContext().traceId)).size).toBe(perRun.length);
    expect(() => loadFixtureSpans(file, { run: 'nope' })).toThrow(/no run nope/);
  });

  it('stamps extra attributes on every span, so tagged framework spans yield their release', () => {
    const attributes = { [ATTR_RELEASE_ID]: 'prompt-v2', [ATTR_COHORT]: 'canary', [ATTR_ROLLOUT_ID]: 'r-1' };
    const facts = loadFixtureSpans('langchain-openinference.json', { run: 'createAgent', attributes })
      .map(normalizeSpan)
      .filter((fact) => fact !== undefined);
    expect(facts.map((fact) => fact.kind).sort()).toEqual([
      AGENT_SPAN_KIND.modelCall,
      AGENT_SPAN_KIND.modelCall,
      AGENT_SPAN_KIND.toolCall,
      AGENT_SPAN_KIND.toolCall,
      AGENT_SPAN_KIND.turn,
    ]);
    for (const fact of facts) expect(fact).toMatchObject({ release: 'prompt-v2', cohort: 'canary', rolloutId: 'r-1' });
  });
});
