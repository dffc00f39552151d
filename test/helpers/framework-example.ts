/**
 * The assertions every framework example shares: a short rollout of the regressed prompt is
 * rolled back, the processor's per-release tool-call counts equal a direct count of the
 * framework's own tool spans, and every framework span carries release and cohort.
 */
import { ATTR_COHORT, ATTR_RELEASE_ID } from '@agent-canary/conventions';
import type { ExampleResult, RolloutExampleOptions, ToolCallCounts } from '@agent-canary/example-rollout';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';

/** What differs between the framework examples. */
export interface FrameworkExample {
  /** Name of the describe block, e.g. `examples/strands`. */
  readonly name: string;
  /** Instrumentation scope of the framework's spans. */
  readonly scope: string;
  readonly stableRelease: string;
  readonly canaryRelease: string;
  /** How this framework marks a tool-call span, and where it puts the tool name. */
  readonly isToolSpan: (span: ReadableSpan) => boolean;
  readonly toolNameOf: (span: ReadableSpan) => string;
  /** The example's `runExample`, with any framework-specific option already applied. */
  readonly run: (options: Pick<RolloutExampleOptions, 'spanProcessors' | 'usersAfter'>) => Promise<ExampleResult>;
}

const USERS_AFTER = 40;

/** Declares the shared tests of one framework example. */
export function describeFrameworkExample(example: FrameworkExample): void {
  const { canaryRelease: CANARY_RELEASE, stableRelease: STABLE_RELEASE, isToolSpan, toolNameOf } = example;
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
    result = await example.run({ spanProcessors: [collector], usersAfter: USERS_AFTER });
  }, 120_000);

  describe(example.name, () => {
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
      expect(new Set(spans.map((span) => span.instrumentationScope.name))).toEqual(new Set([example.scope]));
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
  });
}
