import {
  ATTR_COHORT,
  ATTR_ERROR_TYPE,
  ATTR_FEEDBACK_KIND,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  ATTR_SUBJECT,
  type Cohort,
  FEEDBACK_SPAN_NAME,
} from '@agent-canary/conventions';
import type { JsonValue } from '@agent-canary/gate';
import { createGate, resolveGateConfig, totalCount } from '@agent-canary/gate';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { type Attributes, context, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { inProcessSource } from './in-process.js';

const T0 = 1_700_000_003_000;

function harness() {
  const clock = { now: T0 };
  const processor = new BehaviorSpanProcessor({ now: () => clock.now });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('in-process-source-test');
  const turn = (spec: {
    cohort: Cohort;
    release: string;
    subject: string;
    error?: boolean;
    toolError?: boolean;
    rolloutId?: string;
  }) => {
    const assignment: Attributes = {
      [ATTR_RELEASE_ID]: spec.release,
      [ATTR_COHORT]: spec.cohort,
      [ATTR_SUBJECT]: spec.subject,
    };
    if (spec.rolloutId) assignment[ATTR_ROLLOUT_ID] = spec.rolloutId;
    const span = tracer.startSpan('invoke_agent a', {
      startTime: clock.now - 500,
      attributes: { ...assignment, [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent' },
    });
    const tool = tracer.startSpan(
      'execute_tool search',
      {
        attributes: { ...assignment, [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool', [ATTR_GEN_AI_TOOL_NAME]: 'search' },
      },
      trace.setSpan(context.active(), span),
    );
    if (spec.toolError) tool.setStatus({ code: SpanStatusCode.ERROR });
    tool.end();
    if (spec.error) {
      span.setAttribute(ATTR_ERROR_TYPE, 'boom');
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(clock.now);
  };
  const feedback = (cohort: Cohort, release: string, subject: string, kind: string) =>
    tracer
      .startSpan(FEEDBACK_SPAN_NAME, {
        attributes: {
          [ATTR_RELEASE_ID]: release,
          [ATTR_COHORT]: cohort,
          [ATTR_SUBJECT]: subject,
          [ATTR_FEEDBACK_KIND]: kind,
        },
      })
      .end();
  return { clock, processor, turn, feedback };
}

describe('inProcessSource', () => {
  it('maps the processor window of each cohort to the gate shape, counting subjects once', async () => {
    const { clock, processor, turn, feedback } = harness();
    turn({ cohort: 'canary', release: 'v2', subject: 'u1', error: true });
    turn({ cohort: 'canary', release: 'v2', subject: 'u1', error: true, toolError: true });
    turn({ cohort: 'canary', release: 'v2', subject: 'u2' });
    turn({ cohort: 'control', release: 'v1', subject: 'u3' });
    turn({ cohort: 'stable', release: 'v1', subject: 'u4' });
    // A canary of another release does not belong to this rollout's canary.
    turn({ cohort: 'canary', release: 'v9', subject: 'u5' });
    feedback('canary', 'v2', 'u1', 'thumbs_down');
    feedback('canary', 'v2', 'u2', 'thumbs_up');
    feedback('canary', 'v2', 'u2', 'regenerate');
    clock.now += 20_000;
    turn({ cohort: 'canary', release: 'v2', subject: 'u1', error: true });
    const source = inProcessSource(processor);
    // The rollout started mid-bucket: the bucket holding the start is included.
    const answer = await source.read({
      releases: { canary: 'v2', stable: 'v1' },
      sinceMillis: T0 - 1000,
      untilMillis: clock.now + 1,
    });
    if (!answer.ok) throw new Error(answer.reason);
    const canary = answer.windows.cohorts.canary;
    expect(canary.requests).toBe(4);
    expect(canary.errors).toBe(3);
    expect(canary.subjects).toBe(2);
    expect(canary.subjectsWithError).toBe(1);
    expect(canary.toolCalls).toBe(4);
    expect(canary.toolFailures).toBe(1);
    expect(canary.subjectsWithToolFailure).toBe(1);
    expect(canary.toolCallsByName).toEqual({ search: { calls: 4, failures: 1 } });
    expect(canary.feedback).toBe(2);
    expect(canary.thumbsDown).toBe(1);
    expect(canary.subjectsWithThumbsDown).toBe(1);
    expect(totalCount(canary.latencyMillis)).toBe(4);
    expect(totalCount(canary.subjectLatencyMillis ?? [])).toBe(2);
    expect(answer.windows.cohorts.control.requests).toBe(1);
    expect(answer.windows.cohorts.stable.requests).toBe(1);
  });

  it('filters on the rollout id only when spans carry it', async () => {
    const { clock, processor, turn } = harness();
    turn({ cohort: 'canary', release: 'v2', subject: 'a', rolloutId: 'r-1' });
    turn({ cohort: 'canary', release: 'v2', subject: 'b', rolloutId: 'r-0' });
    const source = inProcessSource(processor);
    const read = (rolloutId: string) =>
      source.read({
        rolloutId,
        releases: { canary: 'v2', stable: 'v1' },
        sinceMillis: T0 - 1,
        untilMillis: clock.now + 1,
      });
    const own = await read('r-1');
    const unknown = await read('r-unknown');
    expect(own.ok && own.windows.cohorts.canary.requests).toBe(1);
    expect(unknown.ok && unknown.windows.cohorts.canary.requests).toBe(2);
  });

  it('feeds the gate end to end: a canary failing 30% of turns is rolled back on real spans', async () => {
    const { clock, processor, turn } = harness();
    const gate = createGate(resolveGateConfig({ warmup: { minMillis: 20_000 } }), inProcessSource(processor));
    const startedAtMillis = clock.now;
    let state: JsonValue | undefined;
    let failed = false;
    let looks = 0;
    for (let second = 1; second <= 600 && !failed; second++) {
      clock.now += 1000;
      // 10 requests a second from 2,000 sticky users: 80% stable, 10% canary, 10% control.
      for (let i = 0; i < 10; i++) {
        const user = (second * 7919 + i * 104_729) % 2000;
        const bucket = user % 10;
        const cohort: Cohort = bucket === 0 ? 'canary' : bucket === 1 ? 'control' : 'stable';
        const error = cohort === 'canary' ? (second + i) % 10 < 3 : (second * 13 + i) % 200 === 0;
        turn({
          cohort,
          release: cohort === 'canary' ? 'v2' : 'v1',
          subject: `user-${user}`,
          error,
          rolloutId: 'r-e2e',
        });
      }
      if (second % 5 !== 0) continue;
      const { result, state: next } = await gate.evaluate({
        rolloutId: 'r-e2e',
        flagKey: 'agent.release',
        canaryRelease: 'v2',
        stableRelease: 'v1',
        startedAtMillis,
        nowMillis: clock.now,
        canaryBasisPoints: 1000,
        controlBasisPoints: 1000,
        ...(state === undefined ? {} : { state }),
      });
      state = next;
      looks++;
      if (result.sequentialFailure) {
        failed = true;
        const error = result.checks.find((c) => c.check === 'error_rate' && c.method === 'sequential');
        expect(error?.verdict).toBe('fail');
        expect(error?.effect?.lower).toBeGreaterThan(1);
        expect(result.requests.canary).toBeLessThan(600);
      }
    }
    expect(failed).toBe(true);
    expect(looks).toBeGreaterThan(4);
  });
});
