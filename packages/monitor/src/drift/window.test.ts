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
  it("counts the release's users once per subject period, outside rollouts, and says its period", async () => {
    const clock = { now: T0 };
    const processor = new BehaviorSpanProcessor({ now: () => clock.now });
    const source = processorBehaviorSource(processor);
    expect(source.subjectPeriodMillis).toBe(HOUR);
    for (let i = 0; i < 20; i += 1) processor.record(turn('heavy', { topic: 'billing', refusal: i === 5 }));
    processor.record(turn('light', { topic: 'refunds' }));
    processor.record({ ...turn('tooler'), kind: AGENT_SPAN_KIND.toolCall, toolName: 'search' });
    // Another release, and the same release inside a rollout: not this window's users.
    processor.record(turn('other', { release: 'v1' }));
    processor.record(turn('canary-user', { rolloutId: 'r9', cohort: 'control' }));
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

  it('says why there are no users when the release is served inside a rollout (a promoted split keeps its id)', async () => {
    const processor = new BehaviorSpanProcessor({ now: () => T0 });
    processor.record(turn('u1', { rolloutId: 'r1', cohort: 'canary' }));
    const read = await processorBehaviorSource(processor).read({
      release: 'v2',
      sinceMillis: T0,
      untilMillis: T0 + HOUR,
    });
    expect(read).toMatchObject({ ok: false });
    if (read.ok) return;
    expect(read.reason).toMatch(/carries a rollout id \(r1\).*once per rollout/);
  });
});
