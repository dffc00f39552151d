import {
  ATTR_COHORT,
  ATTR_ERROR_TYPE,
  ATTR_EVAL_PREFIX,
  ATTR_FEEDBACK_KIND,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_TOOL_TYPE,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_OUTPUT_LENGTH,
  ATTR_REFUSAL,
  ATTR_RELEASE_ID,
  ATTR_SIMILARITY,
  ATTR_TOXICITY,
  FEEDBACK_KIND,
  FEEDBACK_SPAN_NAME,
  type FeedbackKind,
  type ReleaseAssignment,
} from '@agent-canary/conventions';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { beforeEach, describe, expect, it } from 'vitest';
import { CONTENT_KIND } from './content.js';
import { type Evaluator, lexicalSimilarity, refusalDetector, runEvaluators } from './evaluators.js';
import { recordFeedback } from './feedback.js';
import { withRelease } from './release-context.js';
import { traceAgentTurn, traceModelCall, traceToolCall } from './spans.js';
import { setupTracing } from './testing-fixtures/tracing.js';

const tracing = setupTracing();
const canary: ReleaseAssignment = { flagKey: 'agent.release', release: 'v2', cohort: 'canary' };
const SECRET = 'my card number is 4111 1111 1111 1111';

class ToolTimeoutError extends Error {}

beforeEach(() => tracing.reset());

/** One turn with a model call, a good tool, a failing tool and an output. */
async function runTurn(options: { captureContent?: boolean; mask?: (text: string, kind: string) => string } = {}) {
  return traceAgentTurn(
    { agentName: 'weather_agent', conversationId: 'conv-1', prompt: SECRET, ...options },
    async (turn) => {
      await traceModelCall({ model: 'mock-1', prompt: SECRET, ...options }, (call) =>
        call.recordResponse({
          model: 'mock-1-2025',
          inputTokens: 20,
          outputTokens: 15,
          finishReasons: ['tool_calls'],
          outputText: SECRET,
        }),
      );
      await traceToolCall(
        { toolName: 'get_weather', callId: 'call-1', arguments: { city: SECRET }, ...options },
        () => ({
          forecast: SECRET,
        }),
      );
      await traceToolCall({ toolName: 'failing_tool', callId: 'call-2', ...options }, () => {
        throw new ToolTimeoutError('tool exploded');
      }).catch(() => undefined);
      turn.recordOutput(SECRET);
      return turn.span.spanContext();
    },
  );
}

describe('span helpers', () => {
  it('write GenAI-convention spans with names, kinds and parentage', async () => {
    await withRelease(canary, () => runTurn());
    const turn = tracing.span('invoke_agent weather_agent');
    const chat = tracing.span('chat mock-1');
    const tool = tracing.span('execute_tool get_weather');
    expect(turn.kind).toBe(SpanKind.INTERNAL);
    expect(turn.attributes).toMatchObject({
      [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent',
      [ATTR_GEN_AI_AGENT_NAME]: 'weather_agent',
      [ATTR_GEN_AI_CONVERSATION_ID]: 'conv-1',
      [ATTR_OUTPUT_LENGTH]: SECRET.length,
      [ATTR_RELEASE_ID]: 'v2',
    });
    expect(chat.kind).toBe(SpanKind.CLIENT);
    expect(chat.attributes).toMatchObject({
      [ATTR_GEN_AI_OPERATION_NAME]: 'chat',
      [ATTR_GEN_AI_REQUEST_MODEL]: 'mock-1',
      [ATTR_GEN_AI_RESPONSE_MODEL]: 'mock-1-2025',
      [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 20,
      [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 15,
      [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['tool_calls'],
      [ATTR_COHORT]: 'canary',
    });
    expect(tool.attributes).toMatchObject({
      [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
      [ATTR_GEN_AI_TOOL_NAME]: 'get_weather',
      [ATTR_GEN_AI_TOOL_CALL_ID]: 'call-1',
      [ATTR_GEN_AI_TOOL_TYPE]: 'function',
    });
    expect(tool.status.code).toBe(SpanStatusCode.UNSET);
    for (const child of [chat, tool]) expect(child.parentSpanContext?.spanId).toBe(turn.spanContext().spanId);
  });

  it('record a throwing tool as error.type = class name, status ERROR and an exception, and rethrow', async () => {
    const thrown = traceToolCall({ toolName: 'failing_tool' }, () => {
      throw new ToolTimeoutError('tool exploded');
    });
    await expect(thrown).rejects.toThrow('tool exploded');
    const tool = tracing.span('execute_tool failing_tool');
    expect(tool.attributes[ATTR_ERROR_TYPE]).toBe('ToolTimeoutError');
    expect(tool.status).toEqual({ code: SpanStatusCode.ERROR, message: 'tool exploded' });
    expect(tool.events.map((event) => event.name)).toEqual(['exception']);
  });

  it('capture no prompt, output, argument or result text by default', async () => {
    await runTurn();
    // Without spans the checks below would pass vacuously.
    expect(tracing.spans().length).toBeGreaterThan(0);
    const exported = JSON.stringify(tracing.spans().map((span) => span.attributes));
    expect(exported).not.toContain('4111');
    for (const span of tracing.spans()) {
      expect(span.attributes[ATTR_GEN_AI_INPUT_MESSAGES]).toBeUndefined();
      expect(span.attributes[ATTR_GEN_AI_OUTPUT_MESSAGES]).toBeUndefined();
      expect(span.attributes[ATTR_GEN_AI_TOOL_CALL_ARGUMENTS]).toBeUndefined();
      expect(span.attributes[ATTR_GEN_AI_TOOL_CALL_RESULT]).toBeUndefined();
    }
  });

  it('capture content when opted in, through the mask hook', async () => {
    const kinds: string[] = [];
    await runTurn({
      captureContent: true,
      mask: (text, kind) => {
        kinds.push(kind);
        return text.replace(/\d{4}( \d{4}){3}/g, '[card]');
      },
    });
    const turn = tracing.span('invoke_agent weather_agent');
    expect(JSON.parse(String(turn.attributes[ATTR_GEN_AI_OUTPUT_MESSAGES]))).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'my card number is [card]' }] },
    ]);
    expect(String(tracing.span('execute_tool get_weather').attributes[ATTR_GEN_AI_TOOL_CALL_ARGUMENTS])).toBe(
      '{"city":"my card number is [card]"}',
    );
    expect(JSON.stringify(tracing.spans().map((span) => span.attributes))).not.toContain('4111');
    expect(new Set(kinds)).toEqual(new Set(Object.values(CONTENT_KIND)));
  });

  it('record nothing when the mask hook throws', async () => {
    await runTurn({
      captureContent: true,
      mask: () => {
        throw new Error('mask bug');
      },
    });
    expect(JSON.stringify(tracing.spans().map((span) => span.attributes))).not.toContain('4111');
    expect(tracing.span('invoke_agent weather_agent').attributes[ATTR_OUTPUT_LENGTH]).toBe(SECRET.length);
  });

  it('turn signals: refusal, scores, clamped similarity and toxicity; invalid values are skipped', async () => {
    await traceAgentTurn({ agentName: 'a' }, (turn) => {
      turn.recordRefusal();
      turn.recordScore('helpfulness', 0.7);
      turn.recordScore('broken', Number.NaN);
      turn.recordSimilarity(1.2);
      turn.recordToxicity(0.05);
    });
    const attributes = tracing.span('invoke_agent a').attributes;
    expect(attributes[ATTR_REFUSAL]).toBe(true);
    expect(attributes[`${ATTR_EVAL_PREFIX}helpfulness`]).toBe(0.7);
    expect(attributes[`${ATTR_EVAL_PREFIX}broken`]).toBeUndefined();
    expect(attributes[ATTR_SIMILARITY]).toBe(1);
    expect(attributes[ATTR_TOXICITY]).toBe(0.05);
  });
});

describe('runEvaluators', () => {
  it('puts each score on the turn and feeds the signal attributes; a failing evaluator is skipped', async () => {
    const failing: Evaluator = {
      name: 'judge',
      evaluate: () => Promise.reject(new Error('judge offline')),
    };
    const toxicity: Evaluator = { name: 'toxicity_model', signal: 'toxicity', evaluate: () => 0.2 };
    let scores: Readonly<Record<string, number>> = {};
    await traceAgentTurn({ agentName: 'a' }, async (turn) => {
      scores = await runEvaluators(turn, [lexicalSimilarity, refusalDetector, failing, toxicity], {
        output: "I'm sorry, but I can't help with that.",
        controlOutput: 'It is sunny in Paris.',
      });
    });
    const attributes = tracing.span('invoke_agent a').attributes;
    expect(Object.keys(scores).sort()).toEqual(['lexical_similarity', 'refusal', 'toxicity_model']);
    expect(attributes[ATTR_REFUSAL]).toBe(true);
    expect(attributes[`${ATTR_EVAL_PREFIX}refusal`]).toBe(1);
    expect(attributes[ATTR_SIMILARITY]).toBe(scores['lexical_similarity']);
    expect(attributes[ATTR_SIMILARITY]).toBeLessThan(0.2);
    expect(attributes[ATTR_TOXICITY]).toBe(0.2);
    expect(attributes[`${ATTR_EVAL_PREFIX}judge`]).toBeUndefined();
  });
});

describe('recordFeedback', () => {
  it('emits a feedback span linked to the turn, with the kind and the release', async () => {
    const turnContext = await withRelease(canary, () => runTurn());
    // Feedback arrives later, in another request with no release active.
    expect(recordFeedback({ ...turnContext, kind: FEEDBACK_KIND.thumbsDown, assignment: canary })).toBe(true);
    const feedback = tracing.span(FEEDBACK_SPAN_NAME);
    expect(feedback.links[0]?.context).toMatchObject({ traceId: turnContext.traceId, spanId: turnContext.spanId });
    expect(feedback.attributes).toMatchObject({
      [ATTR_FEEDBACK_KIND]: 'thumbs_down',
      [ATTR_RELEASE_ID]: 'v2',
      [ATTR_COHORT]: 'canary',
    });
  });

  it('uses the active release when none is passed, and rejects bad ids or kinds without throwing', () => {
    const ids = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
    expect(withRelease(canary, () => recordFeedback({ ...ids, kind: FEEDBACK_KIND.regenerate }))).toBe(true);
    expect(tracing.span(FEEDBACK_SPAN_NAME).attributes[ATTR_RELEASE_ID]).toBe('v2');
    expect(recordFeedback({ traceId: 'nope', spanId: ids.spanId, kind: FEEDBACK_KIND.thumbsUp })).toBe(false);
    expect(recordFeedback({ ...ids, kind: 'meh' as FeedbackKind })).toBe(false);
    expect(tracing.spans()).toHaveLength(1);
  });
});

describe('injected clock (simulations and replays)', () => {
  it('takes start and end times from the clock, which the simulated work advances', async () => {
    const start = Date.UTC(2026, 0, 15, 9, 0, 0);
    let now = start;
    const clock = () => now;
    await traceAgentTurn({ agentName: 'sim', clock }, async () => {
      await traceModelCall({ model: 'sim-model', clock }, () => {
        now += 1_250;
      });
      await traceToolCall({ toolName: 'lookup', clock }, () => {
        now += 300;
      });
    });
    const millis = (time: readonly [number, number]) => time[0] * 1000 + time[1] / 1e6;
    const turn = tracing.span('invoke_agent sim');
    const call = tracing.span('chat sim-model');
    const tool = tracing.span('execute_tool lookup');
    expect(millis(turn.startTime)).toBe(start);
    expect(millis(turn.endTime)).toBe(start + 1_550);
    expect(millis(call.startTime)).toBe(start);
    expect(millis(call.endTime)).toBe(start + 1_250);
    expect(millis(tool.startTime)).toBe(start + 1_250);
    expect(millis(tool.duration)).toBe(300);
  });

  it('stamps feedback at the clock time; a broken clock falls back to the SDK time without throwing', async () => {
    const at = Date.UTC(2026, 0, 15, 10, 0, 0);
    const ids = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
    expect(recordFeedback({ ...ids, kind: FEEDBACK_KIND.thumbsUp, assignment: canary, clock: () => at })).toBe(true);
    const feedback = tracing.span(FEEDBACK_SPAN_NAME);
    expect(feedback.startTime[0] * 1000 + feedback.startTime[1] / 1e6).toBe(at);
    tracing.reset();
    const before = Date.now();
    const result = await traceToolCall(
      {
        toolName: 'broken_clock',
        clock: () => {
          throw new Error('no time');
        },
      },
      () => 42,
    );
    expect(result).toBe(42);
    const span = tracing.span('execute_tool broken_clock');
    expect(span.startTime[0] * 1000 + span.startTime[1] / 1e6).toBeGreaterThanOrEqual(before - 1);
  });
});
