/**
 * examples/vercel-ai end to end: a real AI SDK 6 `ToolLoopAgent` (mock model, built-in
 * telemetry), routed by the real OpenFeature SDK through the embedded provider, its spans
 * tagged and aggregated by our processors, and a short rollout of the regressed prompt that
 * the gate rolls back.
 */
import { ATTR_COHORT, ATTR_RELEASE_ID } from '@agent-canary/conventions';
import type { ExampleResult, ToolCallCounts } from '@agent-canary/example-rollout';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import { CANARY_RELEASE, REWORDED_RELEASE, STABLE_RELEASE } from '../examples/vercel-ai/src/agent.js';
import { runExample } from '../examples/vercel-ai/src/example.js';

/** Scope of the framework's spans. */
const SCOPE = 'ai';
/** How this framework marks a tool-call span, and where it puts the tool name. */
const isToolSpan = (span: ReadableSpan) => span.attributes['ai.operationId'] === 'ai.toolCall';
const toolNameOf = (span: ReadableSpan) => String(span.attributes['ai.toolCall.name']);
const USERS_AFTER = 40;

// Keeps every finished span (an InMemorySpanExporter forgets them when the provider shuts down).
const spans: ReadableSpan[] = [];
const collector: SpanProcessor = {
  onStart: () => {},
  onEnd: (span) => void spans.push(span),
  forceFlush: async () => {},
  shutdown: async () => {},
};
let result: ExampleResult;

/** Tool calls per release and tool, counted straight from the framework's tool spans. */
function countToolSpans(all: readonly ReadableSpan[]): Record<string, Record<string, ToolCallCounts>> {
  const counts: Record<string, Record<string, { ok: number; error: number }>> = {};
  for (const span of all.filter(isToolSpan)) {
    const release = String(span.attributes[ATTR_RELEASE_ID]);
    const tools = counts[release] ?? {};
    counts[release] = tools;
    const entry = tools[toolNameOf(span)] ?? { ok: 0, error: 0 };
    tools[toolNameOf(span)] = entry;
    if (span.status.code === SpanStatusCode.ERROR) entry.error++;
    else entry.ok++;
  }
  return counts;
}

beforeAll(async () => {
  result = await runExample({ spanProcessors: [collector], usersAfter: USERS_AFTER });
}, 120_000);

describe('examples/vercel-ai', () => {
  it('rolls the regressed prompt back at the first step, naming the failing check', () => {
    expect(result.phase).toBe('rolled_back');
    expect(result.decisions.map((decision) => decision.to)).toEqual(['canary@10%', 'rolled_back']);
    expect(result.failedChecks.length).toBeGreaterThan(0);
    for (const check of result.failedChecks) expect(['tool_mix', 'tool_success_rate']).toContain(check);
    expect(result.decisions.at(-1)?.reason).toContain(result.failedChecks[0]);
  });

  it('counts per-release tool calls from the framework spans: the canary called the wrong tool', () => {
    expect(Object.keys(result.toolCallsByRelease).sort()).toEqual([STABLE_RELEASE, CANARY_RELEASE]);
    expect(Object.keys(result.toolCallsByRelease[CANARY_RELEASE] ?? {})).toEqual(['web_search']);
    expect(Object.keys(result.toolCallsByRelease[STABLE_RELEASE] ?? {})).toEqual(['get_weather']);
    const canaryCalls = result.toolCallsByRelease[CANARY_RELEASE]?.['web_search'];
    expect(canaryCalls?.ok).toBe(0);
    expect(canaryCalls?.error).toBe(result.turnsByRelease[CANARY_RELEASE]);
    const stableCalls = result.toolCallsByRelease[STABLE_RELEASE]?.['get_weather'];
    // One call per turn; one question in eight asks about an unknown city, whatever the release.
    const stableTotal = (stableCalls?.ok ?? 0) + (stableCalls?.error ?? 0);
    expect(stableTotal).toBe(result.turnsByRelease[STABLE_RELEASE]);
    expect((stableCalls?.error ?? 0) / stableTotal).toBeGreaterThan(0.05);
    expect((stableCalls?.error ?? 0) / stableTotal).toBeLessThan(0.25);
    // The processor's counts are exactly what the raw framework spans say.
    expect(result.toolCallsByRelease).toEqual(countToolSpans(spans));
  });

  it("tags every one of the framework's spans with its release and cohort", () => {
    expect(new Set(spans.map((span) => span.instrumentationScope.name))).toEqual(new Set([SCOPE]));
    for (const span of spans) {
      expect([STABLE_RELEASE, CANARY_RELEASE], span.name).toContain(span.attributes[ATTR_RELEASE_ID]);
      expect(['stable', 'canary', 'control'], span.name).toContain(span.attributes[ATTR_COHORT]);
    }
    // One trace per request, one turn per trace.
    const roots = spans.filter((span) => span.parentSpanContext === undefined);
    expect(roots.length).toBe(result.requests + USERS_AFTER);
    const turns = Object.values(result.turnsByRelease).reduce((sum, count) => sum + count, 0);
    expect(turns).toBe(roots.length);
    expect(result.spanCounts).toMatchObject({ received: spans.length, withoutRelease: 0, failed: 0 });
    const canaryRoots = roots.filter((span) => span.attributes[ATTR_COHORT] === 'canary');
    expect(canaryRoots.length).toBe(result.turnsByRelease[CANARY_RELEASE]);
  });

  it('sends every request to the stable release after the rollback', () => {
    expect(result.releasesAfter).toEqual({ [STABLE_RELEASE]: USERS_AFTER });
  });

  // The same gate lets a harmless prompt change through: the rollback above is the
  // regression's doing, not a gate that fails everything.
  it('promotes a harmless rewording of the prompt through every step', async () => {
    const benign = await runExample({ canaryRelease: REWORDED_RELEASE, usersAfter: 10 });
    expect(benign.phase).toBe('promoted');
    expect(benign.decisions.map((decision) => decision.to)).toEqual(['canary@10%', 'canary@50%', 'promoted']);
    expect(benign.failedChecks).toEqual([]);
    expect(Object.keys(benign.toolCallsByRelease[REWORDED_RELEASE] ?? {})).toEqual(['get_weather']);
    expect(benign.releasesAfter).toEqual({ [REWORDED_RELEASE]: 10 });
  }, 60_000);
});
