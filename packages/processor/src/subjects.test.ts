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
    const control = processor.window({ since: 0 }).series.find((s) => s.cohort === 'control' && s.rolloutId === 'r1');
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
      // The other process's per-period scope of v2 (version 1's per-series sets outside rollouts are dropped).
      {
        periodStartMillis: T0 - (T0 % 3_600_000),
        capReached: false,
        lastSeenMillis: T0,
        entries: [['u2', 'v2', 'canary', 1, null]],
      },
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

describe('subjects per subject period: every user of a release, whichever rollout serves it', () => {
  const PERIOD = 60_000;
  const outside = (processor: BehaviorSpanProcessor, release: string, since = 0, until?: number) =>
    selectSeries(
      {
        ...processor.window({ since, ...(until === undefined ? {} : { until }) }),
        series: processor
          .window({ since, ...(until === undefined ? {} : { until }) })
          .series.filter((series) => series.rolloutId === undefined),
      },
      { release },
    );

  it('counts the users of a release served inside a rollout once per period in its series outside rollouts', () => {
    const { processor, clock, series } = setup({ subjectPeriodMillis: PERIOD });
    // A promoted rollout: the flag keeps routing everyone to the canary cohort with r1's id.
    const turn = (subject: string, fields: Partial<AgentSpanFacts> = {}) =>
      processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'canary', subject, ...fields }));
    turn('heavy', { durationMillis: 700, refusal: true });
    for (let i = 0; i < 5; i += 1) turn('heavy', { isError: true });
    turn('light', { topic: 'billing' });
    processor.record(facts(AGENT_SPAN_KIND.toolCall, { cohort: 'canary', subject: 'light', toolName: 'search' }));

    const rollout = series('canary');
    const firstPeriod = outside(processor, 'v2', T0, T0 + PERIOD);
    // The rollout's counts are the gate's: each user once for the whole rollout, requests there.
    expect(rollout).toMatchObject({ turns: 7, newSubjects: 2, subjectTurns: 2, subjectsWith: { refusal: 1 } });
    // Outside rollouts: the same users, once each in this period; no requests counted twice.
    expect(firstPeriod).toMatchObject({
      turns: 0,
      toolCalls: {},
      newSubjects: 2,
      subjectTurns: 2,
      subjectTurnRefusals: 1,
      subjectTools: { search: { ok: 1, error: 0 } },
      subjectTopics: { billing: 1 },
      subjectsWith: { refusal: 1, turn_error: 1 },
    });
    expect(firstPeriod.subjectLatencyMillis.count).toBe(2);

    // A new period counts them again outside rollouts, never again in the rollout.
    clock.now += PERIOD;
    turn('heavy');
    turn('heavy', { isError: true });
    const secondPeriod = outside(processor, 'v2', T0 + PERIOD);
    expect(secondPeriod).toMatchObject({ turns: 0, newSubjects: 1, subjectTurns: 1, subjectsWith: { turn_error: 1 } });
    expect(series('canary')).toMatchObject({
      turns: 9,
      newSubjects: 2,
      subjectTurns: 2,
      subjectsWith: { turn_error: 1 },
    });
  });

  it('counts a user once per period and release across rollouts and cohorts (a rollout starts, control widens)', () => {
    const { processor } = setup({ subjectPeriodMillis: PERIOD });
    // v1 is the stable release: served without a rollout id, then inside r1 as stable and control.
    processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'stable', subject: 'u1', rolloutId: undefined }));
    processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'stable', subject: 'u1' }));
    processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'control', subject: 'u1', isError: true }));
    processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'control', subject: 'u2' }));
    const v1 = outside(processor, 'v1');
    expect(v1).toMatchObject({ turns: 1, newSubjects: 2, subjectTurns: 2, subjectsWith: { turn_error: 1 } });
    // In the rollout, u1 entered as stable (no comparison) and u2 as control.
    expect(selectSeries(processor.window({ since: 0 }), { rolloutId: 'r1', cohort: 'control' })).toMatchObject({
      newSubjects: 1,
      subjectsWith: { turn_error: 0 },
    });
  });

  it('caps the users of a period per release and says so on the series outside rollouts', () => {
    const { processor } = setup({ subjectPeriodMillis: PERIOD, maxSubjectsPerRollout: 2 });
    for (const subject of ['a', 'b', 'c']) {
      processor.record(
        facts(AGENT_SPAN_KIND.turn, { cohort: 'canary', subject, rolloutId: subject === 'c' ? 'r2' : 'r1' }),
      );
    }
    const window = processor.window({ since: 0 });
    const outsideSeries = window.series.find((s) => s.rolloutId === undefined && s.release === 'v2');
    expect(outsideSeries).toMatchObject({ newSubjects: 2, subjectCapReached: true });
    // The rollouts' own scopes are not full: the gate's counts are whole.
    expect(window.series.find((s) => s.rolloutId === 'r2')).toMatchObject({ newSubjects: 1, subjectCapReached: false });
  });

  it('loads a snapshot that kept subject periods per release and cohort', () => {
    const { processor } = setup({ subjectPeriodMillis: PERIOD });
    const periodStartMillis = T0 - (T0 % PERIOD);
    const scope = (cohort: Cohort, subjects: string[]) => ({
      periodStartMillis,
      capReached: false,
      lastSeenMillis: T0,
      entries: subjects.map((subject) => [subject, 'v1', cohort, 1, null] as const),
    });
    processor.mergeSnapshot({
      v: PROCESSOR_SNAPSHOT_VERSION,
      takenAtMillis: T0,
      bucketMillis: 1000,
      buckets: [],
      subjects: [scope('stable', ['u1', 'u2']), scope('control', ['u1', 'u3'])],
      spans: { received: 0, aggregated: 0, unrecognised: 0, withoutRelease: 0, droppedSeriesCap: 0, failed: 0 },
    });
    expect(processor.snapshot().subjects).toEqual([
      {
        periodStartMillis,
        capReached: false,
        lastSeenMillis: T0,
        entries: [
          ['u1', 'v1', 'stable', 1, null],
          ['u2', 'v1', 'stable', 1, null],
          ['u3', 'v1', 'control', 1, null],
        ],
      },
    ]);
    for (const subject of ['u1', 'u2', 'u3', 'u4']) {
      processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'control', subject, rolloutId: undefined }));
    }
    expect(outside(processor, 'v1')).toMatchObject({ turns: 4, newSubjects: 1, subjectTurns: 1 });
  });

  it('a restarted processor remembers who was already counted in the period', () => {
    const first = setup({ subjectPeriodMillis: PERIOD });
    first.processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'canary', subject: 'u1' }));
    const snapshot = JSON.parse(JSON.stringify(first.processor.snapshot()));
    const second = setup({ subjectPeriodMillis: PERIOD });
    second.processor.mergeSnapshot(snapshot);
    expect(second.processor.snapshot().subjects).toEqual(first.processor.snapshot().subjects);
    second.processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'canary', subject: 'u1', isError: true }));
    second.processor.record(facts(AGENT_SPAN_KIND.turn, { cohort: 'canary', subject: 'u2' }));
    // u1 is not new again in the period (its first turn was counted before the restart); its first error is.
    expect(outside(second.processor, 'v2')).toMatchObject({
      newSubjects: 2,
      subjectTurns: 2,
      subjectsWith: { turn_error: 1 },
    });
  });
});
