/**
 * Shared pieces of the rollback-latency benchmarks (`packages/routing*\/bench/`): a gate
 * that decides a rollback at once and records when, a wall clock comparable across
 * processes, and the quantile used in their tables.
 */
import type { GateContext, GateEvaluation, GateEvaluator, GateResult } from '@agent-canary/gate';

/** Epoch milliseconds with sub-millisecond resolution (comparable with a child process's). */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** Fails at once with a sequential failure (an immediate rollback) and records the decision time. */
export class SequentialFailureGate implements GateEvaluator {
  /** Wall-clock time of the last decision ({@link wallNow}). */
  decidedAtMillis = 0;

  async evaluate(context: GateContext): Promise<GateEvaluation> {
    const result: GateResult = {
      verdict: 'fail',
      sequentialFailure: true,
      thresholdFailure: false,
      sampleRatioMismatch: false,
      requests: { stable: 900, canary: 50, control: 50 },
      subjects: { stable: 900, canary: 50, control: 50 },
      checks: [],
      reason: 'bench: error rate e-value crossed 1/alpha',
      evaluatedAtMillis: context.nowMillis,
    };
    this.decidedAtMillis = wallNow();
    return { result, state: null };
  }
}

/** The `q` quantile (0..1) of `values` by the nearest-rank rule; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
