import { AGENT_SPAN_KIND, type AgentSpanFacts, SPAN_CONVENTION } from '@agent-canary/conventions';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { describe, expect, it } from 'vitest';
import { processorBehaviorSource } from './window.js';

const T0 = Date.UTC(2026, 10, 2, 8, 0, 0);
const HOUR = 3_600_000;

function turn(subject: string, fields: Partial<AgentSpanFacts> = {}): AgentSpanFacts {
  return {
    kind: AGENT_SPAN_KIND.turn,
    convention: SPAN_CONVENTION.genAi,
    traceId: 't',
    spanId: 's',
    startTimeMillis: T0,
    durationMillis: 1000,
    isError: false,
    release: 'v2',
    cohort: 'stable',
    subject,
    ...fields,
  };
}

describe('processorBehaviorSource', () => {
  it("counts the release's users once per subject period and says its period", async () => {
    const clock = { now: T0 };
    const processor = new BehaviorSpanProcessor({ now: () => clock.now });
    const source = processorBehaviorSource(processor);
    expect(source.subjectPeriodMillis).toBe(HOUR);
    for (let i = 0; i < 20; i += 1) processor.record(turn('heavy', { topic: 'billing', refusal: i === 5 }));
    processor.record(turn('light', { topic: 'refunds' }));
    processor.record({ ...turn('tooler'), kind: AGENT_SPAN_KIND.toolCall, toolName: 'search' });
    // Another release: not this window's users.
    processor.record(turn('other', { release: 'v1' }));
    const read = await source.read({ release: 'v2', sinceMillis: T0, untilMillis: T0 + HOUR });
    expect(read).toMatchObject({
      ok: true,
      window: {
        turns: 21,
        users: 3,
        turnUsers: 2,
        usersWith: { refusal: 1, turn_error: 0 },
        firstTools: { search: 1 },
        firstTopics: { billing: 1, refunds: 1 },
      },
    });
    if (!read.ok) return;
    expect(read.window.latencyMillis?.reduce((n, b) => n + b.count, 0)).toBe(2);
  });

  it('counts the users of a release served inside a rollout (a promoted split keeps its id), once per period', async () => {
    const clock = { now: T0 };
    const processor = new BehaviorSpanProcessor({ now: () => clock.now });
    const source = processorBehaviorSource(processor);
    // After the promotion of r1 the flag serves v2 to everyone as r1's canary cohort; a
    // few users were served v2 without a rollout id before, and one is served both ways.
    for (let i = 0; i < 10; i += 1)
      processor.record(turn('heavy', { rolloutId: 'r1', cohort: 'canary', refusal: i === 3 }));
    processor.record(turn('light', { rolloutId: 'r1', cohort: 'canary', topic: 'refunds' }));
    processor.record(turn('heavy', { topic: 'billing' }));
    processor.record(turn('before'));
    const read = await source.read({ release: 'v2', sinceMillis: T0, untilMillis: T0 + HOUR });
    expect(read).toMatchObject({
      ok: true,
      window: { turns: 13, users: 3, turnUsers: 3, usersWith: { refusal: 1 }, firstTopics: { refunds: 1, billing: 1 } },
    });
    // The next period counts the heavy user again, once.
    clock.now += HOUR;
    for (let i = 0; i < 5; i += 1) processor.record(turn('heavy', { rolloutId: 'r1', cohort: 'canary' }));
    const next = await source.read({ release: 'v2', sinceMillis: T0 + HOUR, untilMillis: T0 + 2 * HOUR });
    expect(next).toMatchObject({ ok: true, window: { turns: 5, users: 1, turnUsers: 1 } });
  });
});
