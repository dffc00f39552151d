import type { BucketCounts } from '@agent-canary/stats';
import type { BehaviorMonitorConfig } from './config.js';
import { MONITOR_UNIT, type MonitorSignal, SIGNAL_STATUS, type SignalEffect, type SignalEvaluation } from './types.js';

/** @internal What every signal reads besides its data: which signal, the config, its alpha, the baseline's periods. */
export interface SignalContext {
  readonly signal: MonitorSignal;
  readonly config: BehaviorMonitorConfig;
  readonly alpha: number;
  readonly periods: number;
}

/** @internal `value` rounded to `digits` decimals, as text. */
export function round(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  const scale = 10 ** digits;
  return String(Math.round(value * scale) / scale);
}

/** @internal A share as percentage text. */
export function points(share: number): string {
  return Number.isFinite(share) ? `${round(share * 100, 1)}%` : String(share);
}

/** @internal The total of a count record. */
export function sum(counts: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const count of Object.values(counts)) total += count;
  return total;
}

/** @internal The number of observations of a bucketed distribution. */
export function total(buckets: BucketCounts): number {
  let count = 0;
  for (const bucket of buckets) count += bucket.count;
  return count;
}

/**
 * @internal The status of a signal: alarm when its test proved a change beyond the tolerance (its
 * confidence bound is past it), clear when the point estimate is within the tolerance
 * (clearing only re-arms an alert, so a point estimate may decide it).
 */
export function statusOf(
  context: SignalContext,
  users: number,
  baselineUsers: number,
  proven: boolean,
  effectSize: number,
  tolerance: number,
) {
  const enough = users >= context.config.minUsers && baselineUsers >= context.config.minUsers;
  if (!enough) return SIGNAL_STATUS.undecided;
  if (proven) return SIGNAL_STATUS.alarm;
  return effectSize <= tolerance ? SIGNAL_STATUS.clear : SIGNAL_STATUS.undecided;
}

/** @internal The verdict of an evaluation, in words, for its reason. */
export function verdictText(status: string, effectSize: number, tolerance: number): string {
  if (status === SIGNAL_STATUS.alarm) return 'a change beyond the tolerance, proven';
  if (effectSize > tolerance) return 'past the tolerance, but not proven: could still be which users showed up';
  return 'within the tolerance';
}

/** @internal An undecided evaluation for lack of data, with why. */
export function noData(
  context: SignalContext,
  effect: SignalEffect,
  tolerance: number,
  users: number,
  baselineUsers: number,
  why: string,
): SignalEvaluation {
  return {
    signal: context.signal,
    status: SIGNAL_STATUS.undecided,
    unit: MONITOR_UNIT,
    baselineValue: Number.NaN,
    currentValue: Number.NaN,
    effect,
    effectSize: Number.NaN,
    effectBound: Number.NaN,
    tolerance,
    alpha: context.alpha,
    baselineAlpha: context.config.baselineAlpha,
    users,
    baselineUsers,
    reason: why,
  };
}

/** @internal Why there are not enough users on either side yet, or undefined. */
export function tooFew(context: SignalContext, users: number, baselineUsers: number): string | undefined {
  const need = context.config.minUsers;
  if (users >= need && baselineUsers >= need) return undefined;
  return `not enough users yet (${baselineUsers} in the baseline, ${users} in the window, need ${need} each)`;
}
