import { AGENT_SPAN_KIND, type AgentSpanFacts, type Cohort, SPAN_CONVENTION } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { BehaviorSpanProcessor } from './processor.js';
import { mergeSnapshots, PROCESSOR_SNAPSHOT_VERSION, type ProcessorSnapshotV1, selectSeries } from './snapshot.js';

const T0 = 1_700_000_000_000;
let spanCounter = 0;

function facts(kind: AgentSpanFacts['kind'], fields: Partial<AgentSpanFacts> & { cohort: Cohort }): AgentSpanFacts {
  spanCounter += 1;
  return {
    kind,
    convention: SPAN_CONVENTION.genAi,
    traceId: `t${spanCounter}`,
    spanId: `s${spanCounter}`,
    startTimeMillis: T0,
    durationMillis: 100,
    isError: false,
    rolloutId: 'r1',
    release: fields.cohort === 'canary' ? 'v2' : 'v1',
    ...fields,
  };
}

function setup(options: ConstructorParameters<typeof BehaviorSpanProcessor>[0] = {}) {
  const clock = { now: T0 };
  const processor = new BehaviorSpanProcessor({ now: () => clock.now, bucketMillis: 1000, ...options });
  const series = (cohort: Cohort) => selectSeries(processor.window({ since: 0 }), { cohort, rolloutId: 'r1' });
  return { clock, processor, series };
}

describe('subjects: one observation per subject, in the cohort it entered', () => {
  it('counts first turn, first tool, second-tool switch, first feedback and first scores once per subject', () => {
    const { processor, series } = setup();
    const turn = (fields: Partial<AgentSpanFacts>) =>
      processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'canary', subject: 'u1', ...fields }));
    const tool = (toolName: string, isError = false) =>
      processor.record(facts(AGENT_SPAN_KIND.toolCall, { cohort: 'canary', subject: 'u1', toolName, isError }));
    tool('search', true);
    tool('db');
    tool('db');
    turn({ isError: true, durationMillis: 800, outputLength: 40, similarity: 0.5, toxicity: 0.2, refusal: true });
    turn({ isError: true, durationMillis: 900, similarity: 0.9 });
    processor.record(facts(AGENT_SPAN_KIND.feedback, { cohort: 'canary', subject: 'u1', feedbackKind: 'thumbs_down' }));
    processor.record(facts(AGENT_SPAN_KIND.feedback, { cohort: 'canary', subject: 'u1', feedbackKind: 'thumbs_up' }));
    const canary = series('canary');
    expect(canary).toMatchObject({
      turns: 2,
      turnErrors: 2,
      newSubjects: 1,
      subjectTurns: 1,
      subjectTurnErrors: 1,
      subjectTurnRefusals: 1,
      subjectTools: { search: { ok: 0, error: 1 } },
      subjectSecondTools: 1,
      subjectToolSwitches: 1,
      subjectFeedback: { thumbs_down: 1 },
      subjectsWith: { turn_error: 1, tool_error: 1, refusal: 1, thumbs_down: 1 },
      feedback: { thumbs_down: 1, thumbs_up: 1 },
    });
    expect(canary.subjectLatencyMillis.count).toBe(1);
    expect(canary.subjectSimilarity.count).toBe(1);
    expect(canary.subjectSimilarity.sum).toBeCloseTo(0.5, 2);
    expect(canary.subjectToxicity.count).toBe(1);
    expect(canary.toolCalls).toEqual({ db: { ok: 2, error: 0 }, search: { ok: 0, error: 1 } });
  });

  it('a repeat of the first tool on the second call is not a switch', () => {
    const { processor, series } = setup();
    for (const subject of ['a', 'b']) {
      for (const toolName of ['search', subject === 'a' ? 'search' : 'db']) {
        processor.record(facts(AGENT_SPAN_KIND.toolCall, { cohort: 'control', subject, toolName }));
      }
    }
    expect(series('control')).toMatchObject({ subjectSecondTools: 2, subjectToolSwitches: 1 });
  });

  it('keeps counting a subject in the cohort it entered after routing moves it (control widened into canary)', () => {
    const { processor, series } = setup();
    // u1 enters as control (5% control at the first step) ...
    processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'control', subject: 'u1' }));
    // ... then the canary widens over its bucket: it is served by the canary from now on.
    processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'canary', subject: 'u1', isError: true }));
    processor.record(facts(AGENT_SPAN_KIND.toolCall, { cohort: 'canary', subject: 'u1', toolName: 'db' }));
    const control = series('control');
    const canary = series('canary');
    // Requests count where they were served ...
    expect(canary.turns).toBe(1);
    expect(canary.turnErrors).toBe(1);
    // ... subject-level observations where the subject entered: its label at entry is the bet.
    expect(canary.newSubjects).toBe(0);
    expect(canary.subjectsWith.turn_error).toBe(0);
    expect(control).toMatchObject({ newSubjects: 1, subjectTurns: 1, subjectsWith: { turn_error: 1 } });
    expect(control.subjectTools).toEqual({ db: { ok: 1, error: 0 } });
  });

  it('outside rollouts, counts each subject once per subject period', () => {
    const { processor, clock } = setup({ subjectPeriodMillis: 60_000 });
    const turn = () =>
      processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'stable', subject: 'u1', rolloutId: undefined }));
    turn();
    turn();
    clock.now += 60_000;
    turn();
    const stable = selectSeries(processor.window({ since: 0 }), { cohort: 'stable' });
    expect(stable.turns).toBe(3);
    expect(stable.newSubjects).toBe(2);
    expect(stable.subjectTurns).toBe(2);
  });

  it("counts each subject's first topic once per subject period (the monitor's topic mix over users)", () => {
    const { processor, clock } = setup({ subjectPeriodMillis: 60_000 });
    const turn = (subject: string, topic?: string) =>
      processor.record(
        facts(AGENT_SPAN_KIND.turn, {
          cohort: 'stable',
          subject,
          rolloutId: undefined,
          ...(topic === undefined ? {} : { topic }),
        }),
      );
    // A heavy user asks about billing ten times, a light one once about shipping; an
    // unclassified first turn does not use up the subject's first topic.
    turn('heavy');
    for (let i = 0; i < 10; i += 1) turn('heavy', 'billing');
    turn('light', 'shipping');
    clock.now += 60_000;
    turn('heavy', 'refunds');
    turn('heavy', 'billing');
    const stable = selectSeries(processor.window({ since: 0 }), { cohort: 'stable' });
    expect(stable.topics.counts).toEqual({ billing: 11, shipping: 1, refunds: 1 });
    expect(stable.subjectTopics).toEqual({ billing: 1, refunds: 1, shipping: 1 });
    const restored = new BehaviorSpanProcessor({ now: () => clock.now, bucketMillis: 1000 });
    restored.mergeSnapshot(JSON.parse(JSON.stringify(processor.snapshot())));
    expect(selectSeries(restored.window({ since: 0 }), { cohort: 'stable' }).subjectTopics).toEqual(
      stable.subjectTopics,
    );
  });

  it('stops counting new subjects at the cap and says so', () => {
    const { processor, series } = setup({ maxSubjectsPerRollout: 1 });
    processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'canary', subject: 'a' }));
    processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'control', subject: 'b' }));
    expect(series('canary').newSubjects).toBe(1);
    expect(series('control').newSubjects).toBe(0);
    const control = processor.window({ since: 0 }).series.find((s) => s.cohort === 'control');
    expect(control?.subjectCapReached).toBe(true);
  });

  it('a restarted processor remembers subjects, their entry cohort and first tool', () => {
    const first = setup();
    first.processor.record(facts(AGENT_SPAN_KIND.toolCall, { cohort: 'control', subject: 'u1', toolName: 'db' }));
    const snapshot = JSON.parse(JSON.stringify(first.processor.snapshot()));
    expect(snapshot.v).toBe(PROCESSOR_SNAPSHOT_VERSION);
    const second = setup();
    second.processor.mergeSnapshot(snapshot);
    second.processor.record(facts(AGENT_SPAN_KIND.toolCall, { cohort: 'canary', subject: 'u1', toolName: 'search' }));
    expect(second.series('control')).toMatchObject({ newSubjects: 1, subjectSecondTools: 1, subjectToolSwitches: 1 });
    expect(second.series('canary').newSubjects).toBe(0);
  });

  it('reads version 1 snapshots (subjects per series) and merges subject sets of two processes', () => {
    const v1: ProcessorSnapshotV1 = {
      v: 1,
      takenAtMillis: T0,
      bucketMillis: 1000,
      buckets: [],
      subjects: [
        {
          rolloutId: 'r1',
          release: 'v1',
          cohort: 'control',
          capReached: false,
          lastSeenMillis: T0,
          entries: [['u1', 3]],
        },
        { release: 'v1', cohort: 'stable', capReached: false, lastSeenMillis: T0, entries: [['u9', 1]] },
      ],
      spans: { received: 0, aggregated: 0, unrecognised: 0, withoutRelease: 0, droppedSeriesCap: 0, failed: 0 },
    };
    const other = setup();
    other.processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'canary', subject: 'u2' }));
    const merged = mergeSnapshots(v1, other.processor.snapshot());
    expect(merged.v).toBe(PROCESSOR_SNAPSHOT_VERSION);
    expect(merged.subjects).toEqual([
      {
        rolloutId: 'r1',
        capReached: false,
        lastSeenMillis: T0,
        entries: [
          ['u1', 'v1', 'control', 3, null],
          ['u2', 'v2', 'canary', 1, null],
        ],
      },
    ]);
    const restored = setup();
    restored.processor.mergeSnapshot(merged);
    // u1 already had its first turn and first error counted: nothing new.
    restored.processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'control', subject: 'u1', isError: true }));
    expect(restored.series('control')).toMatchObject({
      newSubjects: 0,
      subjectTurns: 0,
      subjectsWith: { turn_error: 0 },
    });
  });
});
