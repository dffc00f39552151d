import { alignBucketCounts, type BucketCounts, bucketQuantile, ksDriftTest } from '@agent-canary/stats';
import { baselineDkwBand, baselineQuantileUpper, currentQuantileLower } from './bounds.js';
import { noData, round, type SignalContext, statusOf, tooFew, total, verdictText } from './signal-verdict.js';
import { MONITOR_UNIT, SIGNAL_EFFECT, type SignalEvaluation } from './types.js';

/** Quantiles the tail-latency signal watches. */
export const TAIL_QUANTILES: readonly number[] = Object.freeze([0.95, 0.99]);

/**
 * @internal Answer length and latency over users (each user's first turn of the period): the KS
 * distance minus the window's time-uniform DKW band (at alpha) and the baseline's
 * fixed-sample band (at baselineAlpha) must exceed `ksTolerance`.
 */
export function distributionSignal(
  context: SignalContext,
  noun: string,
  baseline: BucketCounts | undefined,
  current: BucketCounts | undefined,
): SignalEvaluation {
  const tolerance = context.config.ksTolerance;
  const effect = SIGNAL_EFFECT.ksDistance;
  if (baseline === undefined || current === undefined) {
    return noData(context, effect, tolerance, 0, 0, `no per-user ${noun} data from the source`);
  }
  const baselineUsers = total(baseline);
  const users = total(current);
  const few = tooFew(context, users, baselineUsers);
  if (few !== undefined) return noData(context, effect, tolerance, users, baselineUsers, few);
  const aligned = alignBucketCounts(baseline, [current]);
  // ksDriftTest splits its alpha over the two bands: 2·alpha gives the window's band at alpha.
  const test = ksDriftTest({
    reference: aligned.reference,
    observed: aligned.counts[0] ?? [],
    alpha: Math.min(0.5, 2 * context.alpha),
    tolerance,
  });
  const baselineBand = baselineDkwBand(baselineUsers, context.periods, context.config.baselineAlpha);
  const bound = test.ks - test.observedBand - baselineBand;
  const status = statusOf(context, users, baselineUsers, bound > tolerance, test.ks, tolerance);
  const baselineMedian = bucketQuantile(baseline, 0.5);
  const currentMedian = bucketQuantile(current, 0.5);
  return {
    signal: context.signal,
    status,
    unit: MONITOR_UNIT,
    subject: 'distribution',
    baselineValue: baselineMedian,
    currentValue: currentMedian,
    effect,
    effectSize: test.ks,
    effectBound: bound,
    tolerance,
    alpha: context.alpha,
    baselineAlpha: context.config.baselineAlpha,
    users,
    baselineUsers,
    reason:
      `users' first-turn ${noun}: median ${round(baselineMedian, 0)} over ${baselineUsers} baseline users -> ` +
      `${round(currentMedian, 0)} over ${users} users; KS ${round(test.ks)}, at least ${round(Math.max(0, bound))} ` +
      `(confidence bound) vs a tolerance of ${tolerance}: ${verdictText(status, test.ks, tolerance)}`,
  };
}

/**
 * @internal Tail latency over users: for p95 and p99 (each at half the budgets), the lower bound
 * of the window's quantile over the upper bound of the baseline's must exceed
 * `maxTailLatencyRatio`. Sees a slower tail under an unchanged median, which the KS
 * distance of the whole distribution does not.
 */
export function tailSignal(
  context: SignalContext,
  baseline: BucketCounts | undefined,
  current: BucketCounts | undefined,
): SignalEvaluation {
  const tolerance = context.config.maxTailLatencyRatio;
  const effect = SIGNAL_EFFECT.quantileRatio;
  if (baseline === undefined || current === undefined) {
    return noData(context, effect, tolerance, 0, 0, 'no per-user latency data from the source');
  }
  const baselineUsers = total(baseline);
  const users = total(current);
  const few = tooFew(context, users, baselineUsers);
  if (few !== undefined) return noData(context, effect, tolerance, users, baselineUsers, few);
  const parts = TAIL_QUANTILES.length;
  let best = { quantile: 0, bound: Number.NEGATIVE_INFINITY, baselineValue: Number.NaN, currentValue: Number.NaN };
  let largest = 0;
  for (const quantile of TAIL_QUANTILES) {
    const lower = currentQuantileLower(current, quantile, context.alpha / parts);
    const upper = baselineQuantileUpper(baseline, quantile, context.periods, context.config.baselineAlpha / parts);
    const bound = Number.isFinite(upper) && upper > 0 ? lower / upper : 0;
    const baselineValue = bucketQuantile(baseline, quantile);
    const currentValue = bucketQuantile(current, quantile);
    const ratio = baselineValue > 0 ? currentValue / baselineValue : Number.NaN;
    if (Number.isFinite(ratio)) largest = Math.max(largest, ratio);
    if (bound > best.bound) best = { quantile, bound, baselineValue, currentValue };
  }
  const status = statusOf(context, users, baselineUsers, best.bound > tolerance, largest, tolerance);
  const name = `p${Math.round(best.quantile * 100)}`;
  return {
    signal: context.signal,
    status,
    unit: MONITOR_UNIT,
    subject: name,
    baselineValue: best.baselineValue,
    currentValue: best.currentValue,
    effect,
    effectSize: largest,
    effectBound: best.bound,
    tolerance,
    alpha: context.alpha,
    baselineAlpha: context.config.baselineAlpha,
    users,
    baselineUsers,
    reason:
      `users' first-turn latency ${name}: ${round(best.baselineValue, 0)} ms over ${baselineUsers} baseline users -> ` +
      `${round(best.currentValue, 0)} ms over ${users} users (×${round(best.currentValue / best.baselineValue, 2)}); ` +
      `at least ×${round(Math.max(0, best.bound), 2)} (confidence bound) vs a tolerance of ×${tolerance}: ` +
      verdictText(status, largest, tolerance),
  };
}
