/**
 * The framework-independent part of the framework examples, shared by all of them:
 * one process, virtual time. OpenFeature routes each user to a release through the embedded
 * provider (sticky buckets), the tagging processor stamps release and cohort on every span
 * the framework emits, the behaviour processor turns those spans into per-release counts, and
 * the rollout controller widens the canary step by step — or rolls it back.
 */

import { createEmbeddedCanary, type EmbeddedCanary } from '@agent-canary/embedded';
import { withRelease } from '@agent-canary/instrumentation';
import type { SpanCounts } from '@agent-canary/processor';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

export { CANARY_RELEASE, isKnownCity, questionFor, STABLE_RELEASE, WEATHER_PROMPTS } from './weather.js';

/** The OpenFeature flag the agent reads its release from. */
export const FLAG_KEY = 'weather-agent.release';

/** The agent under test, wired to the tracer provider by the framework example. */
export interface AgentHarness {
  /** Serves one request with the given release (called inside the release context). */
  answer(release: string, userIndex: number): Promise<unknown>;
  /** Flushes and unregisters the telemetry the harness installed. */
  shutdown(): Promise<void>;
}

/** Options of {@link runRollout}. */
export interface RolloutExampleOptions {
  readonly stableRelease: string;
  readonly canaryRelease: string;
  /**
   * Builds the agent and its telemetry; `spanProcessors` (release tagger, behaviour processor
   * and any extra ones) go on the tracer provider the framework reports to.
   */
  readonly install: (spanProcessors: readonly SpanProcessor[]) => AgentHarness | Promise<AgentHarness>;
  /** New users served between two controller ticks. @default 40 */
  readonly usersPerTick?: number;
  /** Most controller ticks before the example stops, decided or not. @default 60 */
  readonly maxTicks?: number;
  /** Requests served after the rollout ended, to show where traffic goes then. @default 40 */
  readonly usersAfter?: number;
  /** Extra span processors (an exporter to Langfuse or an OTLP backend; an in-memory one in tests). @default [] */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/** Successful and failed calls of one tool. */
export interface ToolCallCounts {
  readonly ok: number;
  readonly error: number;
}

/** One rollout decision, as the controller recorded it. */
export interface Decision {
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  /** Milliseconds since the rollout started (virtual time). */
  readonly afterMillis: number;
}

/** What {@link runRollout} observed. */
export interface ExampleResult {
  /** Final phase of the rollout: `rolled_back` for a regressed release. */
  readonly phase: string;
  /** Why the rollout is in that phase (the controller's last reason). */
  readonly reason: string;
  readonly decisions: readonly Decision[];
  /** Checks that failed in the gate evaluation behind the last decision. */
  readonly failedChecks: readonly string[];
  /** Per release, per tool: calls counted by the behaviour processor from the framework's spans. */
  readonly toolCallsByRelease: Readonly<Record<string, Readonly<Record<string, ToolCallCounts>>>>;
  /** Per release: agent turns counted from the framework's spans. */
  readonly turnsByRelease: Readonly<Record<string, number>>;
  /** Users served during the rollout. */
  readonly requests: number;
  /** Releases that served the requests after the rollout ended. */
  readonly releasesAfter: Readonly<Record<string, number>>;
  /** What the behaviour processor saw. */
  readonly spanCounts: SpanCounts;
}

const START_MILLIS = Date.UTC(2026, 0, 1);
const TICK_MILLIS = 10_000;
const FINAL_PHASES = new Set(['promoted', 'rolled_back', 'aborted']);

/** Runs a short rollout of `canaryRelease` against `stableRelease` with the harness's agent. */
export async function runRollout(options: RolloutExampleOptions): Promise<ExampleResult> {
  const usersPerTick = options.usersPerTick ?? 40;
  const maxTicks = options.maxTicks ?? 60;
  // Virtual time: the processor's buckets, the gate and the controller all read this clock,
  // so minutes of rollout run in about a second.
  let now = START_MILLIS;
  const canary = await createEmbeddedCanary({
    flagKey: FLAG_KEY,
    stableRelease: options.stableRelease,
    canaryRelease: options.canaryRelease,
    id: `${FLAG_KEY}:${options.canaryRelease}`,
    // Short steps; production keeps the defaults (5% -> 20% -> 50% -> 100%, 15 min to 1 h each).
    steps: [
      { percent: 10, minDurationMillis: 60_000, minCanaryRequests: 30 },
      { percent: 50, minDurationMillis: 60_000, minCanaryRequests: 30 },
      { percent: 100 },
    ],
    tickIntervalMillis: TICK_MILLIS,
    warmup: { minDurationMillis: 20_000, minStableRequests: 50, minCanaryRequests: 10 },
    gate: {
      minSamples: 20,
      // Promotion needs this much canary exposure (or tight bounds on every critical rate):
      // sized for a one-minute step; the default is 3000 canary requests.
      maxExposureRequests: 150,
      warmup: { minMillis: 20_000, minStableRequests: 50, minCanaryRequests: 10 },
      checks: {
        // One question in eight names an unknown city: even the good prompt fails 12.5% of its tool calls.
        toolSuccessRate: { limit: 0.8 },
        // The mock model answers in microseconds: latency here is scheduler noise, not behaviour.
        latencyP99: { enabled: false },
      },
    },
    clock: () => now,
    env: {},
  });
  let harness: AgentHarness | undefined;
  let user = 0;
  try {
    harness = await options.install([...canary.spanProcessors, ...(options.spanProcessors ?? [])]);
    const agent = harness;
    const serve = async (): Promise<string> => {
      const userIndex = user++;
      const assignment = await canary.resolve(`user-${userIndex}`);
      await withRelease(assignment, () => agent.answer(assignment.release, userIndex));
      return assignment.release;
    };
    await canary.start('example');
    for (let tick = 0; tick < maxTicks; tick++) {
      for (let i = 0; i < usersPerTick; i++) await serve();
      now += TICK_MILLIS;
      const { status } = await canary.tick();
      if (FINAL_PHASES.has(status.phase)) break;
    }
    const requests = user;
    const releasesAfter: Record<string, number> = {};
    for (let i = 0; i < (options.usersAfter ?? 40); i++) {
      const release = await serve();
      releasesAfter[release] = (releasesAfter[release] ?? 0) + 1;
    }
    return { ...summarize(canary), requests, releasesAfter };
  } finally {
    await canary.close();
    await harness?.shutdown();
  }
}

function summarize(canary: EmbeddedCanary): Omit<ExampleResult, 'requests' | 'releasesAfter'> {
  const status = canary.status();
  const transitions = canary.store.transitions(status.rolloutId);
  const started = status.startedAtMillis ?? START_MILLIS;
  const decisions = transitions.map((record) => ({
    from: record.from,
    to: record.to,
    reason: record.reason,
    afterMillis: record.atMillis - started,
  }));
  const failedChecks = (transitions.at(-1)?.evidence?.checks ?? [])
    .filter((check) => check.verdict === 'fail')
    .map((check) => check.check);
  const toolCallsByRelease: Record<string, Record<string, ToolCallCounts>> = {};
  const turnsByRelease: Record<string, number> = {};
  // Stable and control cohorts run the same release: add their series up per release.
  for (const series of canary.behavior.window().series) {
    const tools = toolCallsByRelease[series.release] ?? {};
    toolCallsByRelease[series.release] = tools;
    for (const [name, counts] of Object.entries(series.toolCalls)) {
      const previous = tools[name] ?? { ok: 0, error: 0 };
      tools[name] = { ok: previous.ok + counts.ok, error: previous.error + counts.error };
    }
    turnsByRelease[series.release] = (turnsByRelease[series.release] ?? 0) + series.turns;
  }
  return {
    phase: status.phase,
    reason: status.reason,
    decisions,
    failedChecks,
    toolCallsByRelease,
    turnsByRelease,
    spanCounts: canary.behavior.spanCounts(),
  };
}

/** A plain-text report of a run, for `main.ts`. */
export function formatResult(result: ExampleResult): string {
  const lines = [`rollout: ${result.phase} after ${result.requests} requests`];
  // A final decision's reason is printed with the decision below.
  if (!FINAL_PHASES.has(result.phase)) lines.push(`  still ${result.phase}: ${result.reason}`);
  for (const decision of result.decisions) {
    lines.push(`  +${decision.afterMillis / 1000}s ${decision.from} -> ${decision.to}: ${decision.reason}`);
  }
  lines.push('tool calls per release (from the framework spans):');
  for (const [release, tools] of Object.entries(result.toolCallsByRelease)) {
    const text = Object.entries(tools)
      .map(([name, counts]) => `${name} ${counts.ok} ok / ${counts.error} failed`)
      .join(', ');
    lines.push(`  ${release}: ${result.turnsByRelease[release] ?? 0} turns; ${text}`);
  }
  const after = Object.entries(result.releasesAfter)
    .map(([release, count]) => `${release} x${count}`)
    .join(', ');
  lines.push(`after the rollout: ${after}`);
  return lines.join('\n');
}
