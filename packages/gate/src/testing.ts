/** Test doubles of the gate and its metric-source port (`@agent-canary/gate/testing`). */
import type { Cohort, Verdict } from '@agent-canary/conventions';
import type { GateContext, GateEvaluation, GateEvaluator, JsonValue } from './evaluator.js';
import type { GateResult } from './types.js';
import type { CohortWindows, MetricQuery, MetricReadResult, MetricSource } from './windows.js';

/** A GateResult with sensible passing defaults. */
export function gateResult(
  overrides: Partial<Omit<GateResult, 'requests'>> & { requests?: Partial<Record<Cohort, number>> } = {},
): GateResult {
  const { requests, ...rest } = overrides;
  const verdict: Verdict = rest.verdict ?? 'pass';
  return {
    verdict,
    sequentialFailure: false,
    thresholdFailure: false,
    sampleRatioMismatch: false,
    requests: { stable: 5_000, canary: 1_000, control: 1_000, ...requests },
    subjects: { stable: 500, canary: 100, control: 100 },
    checks: [],
    reason: `scripted ${verdict}`,
    evaluatedAtMillis: 0,
    ...rest,
  };
}

/**
 * A deterministic gate whose answer depends only on its persisted state (an evaluation
 * counter) and the context: the same inputs give the same decisions after a restart.
 */
export class ScriptedGate implements GateEvaluator {
  readonly contexts: GateContext[] = [];
  snapshots = 0;

  constructor(private readonly script: (n: number, context: GateContext) => GateResult) {}

  async evaluate(context: GateContext): Promise<GateEvaluation> {
    this.contexts.push(context);
    const previous = context.state as { n?: number } | undefined;
    const n = (previous?.n ?? 0) + 1;
    const result = { ...this.script(n, context), evaluatedAtMillis: context.nowMillis };
    return { result, state: { n } };
  }

  async snapshot(context: GateContext): Promise<JsonValue> {
    this.snapshots++;
    return { cohorts: ['stable', 'canary', 'control'], at: context.nowMillis, state: context.state ?? null };
  }
}

/**
 * A metric source answering with windows you set: for tests, replays and demos.
 * `read` returns the last windows given to `set` (whatever the query's time range), or
 * the failure given to `fail`.
 *
 * @example
 * const source = new InMemoryMetricSource();
 * source.set(windows);
 * const gate = createGate(resolveGateConfig(), source);
 */
export class InMemoryMetricSource implements MetricSource {
  readonly name = 'in-memory';
  private answer: MetricReadResult = { ok: false, reason: 'no windows set yet' };
  /** Queries received, most recent last (bounded to the last 100). */
  readonly queries: MetricQuery[] = [];

  /** Answer the next reads with these windows. */
  set(windows: CohortWindows): void {
    this.answer = { ok: true, windows };
  }

  /** Answer the next reads with a failure. */
  fail(reason: string): void {
    this.answer = { ok: false, reason };
  }

  async read(query: MetricQuery): Promise<MetricReadResult> {
    this.queries.push(query);
    if (this.queries.length > 100) this.queries.shift();
    return this.answer;
  }
}
