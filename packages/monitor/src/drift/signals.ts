/**
 * The monitor's signals, judged over users: every count is users (each once per subject
 * period), and every signal alarms only when a CONFIDENCE BOUND of its effect is past its
 * tolerance — never on a point estimate. The bound combines the current window's
 * anytime-valid bound (at the signal's share of `alphaPerWindow`) with the frozen
 * baseline's fixed-sample bound (at `baselineAlpha`): a union bound, valid however the
 * baseline and the window are correlated (they share heavy users).
 */
import { alignBucketCounts, type BucketCounts, bucketQuantile, ksDriftTest, OTHER_CATEGORY } from '@agent-canary/stats';
import {
  baselineDkwBand,
  baselineQuantileUpper,
  baselineShareBounds,
  currentLowerBound,
  currentQuantileLower,
  currentUpperBound,
  provenAbove,
  type ShareBounds,
} from './bounds.js';
import type { BehaviorMonitorConfig } from './config.js';
import {
  MONITOR_SIGNAL,
  MONITOR_UNIT,
  type MonitorSignal,
  type MonitorWindow,
  SIGNAL_EFFECT,
  SIGNAL_STATUS,
  type SignalEffect,
  type SignalEvaluation,
  USER_EVENT,
  type UserEvent,
} from './types.js';

/** A frozen baseline as the signals read it: its window and the subject periods it spans. */
export interface BaselineSample {
  readonly window: MonitorWindow;
  readonly periods: number;
}

/** Quantiles the tail-latency signal watches. */
export const TAIL_QUANTILES: readonly number[] = Object.freeze([0.95, 0.99]);

/** Categories with a baseline share below this are lumped into `other` (as the gate's tool mix does). */
const MIN_CATEGORY_SHARE = 0.01;

/**
 * Evaluates every enabled signal of `current` against `baseline`. `alpha` is the
 * current window's error budget of each signal; `config.baselineAlpha` the baseline's.
 */
export function evaluateSignals(
  baseline: BaselineSample,
  current: MonitorWindow,
  config: BehaviorMonitorConfig,
  alpha: number,
): SignalEvaluation[] {
  return config.signals.map((signal) => evaluateSignal(signal, baseline, current, config, alpha));
}

function evaluateSignal(
  signal: MonitorSignal,
  baseline: BaselineSample,
  current: MonitorWindow,
  config: BehaviorMonitorConfig,
  alpha: number,
): SignalEvaluation {
  const base = baseline.window;
  const context = { signal, config, alpha, periods: baseline.periods };
  switch (signal) {
    case MONITOR_SIGNAL.toolMix:
      return mixSignal(context, 'tool', base.firstTools, current.firstTools, config.maxToolShareChange);
    case MONITOR_SIGNAL.topicMix:
      return mixSignal(context, 'topic', base.firstTopics, current.firstTopics, config.maxTopicShareChange);
    case MONITOR_SIGNAL.responseLength:
      return distributionSignal(context, 'answer length (chars)', base.outputLength, current.outputLength);
    case MONITOR_SIGNAL.latency:
      return distributionSignal(context, 'latency (ms)', base.latencyMillis, current.latencyMillis);
    case MONITOR_SIGNAL.latencyTail:
      return tailSignal(context, base.latencyMillis, current.latencyMillis);
    case MONITOR_SIGNAL.refusalRate:
      return rateSignal(context, USER_EVENT.refusal, base.turnUsers, base, current.turnUsers, current);
    case MONITOR_SIGNAL.errorRate:
      return rateSignal(context, USER_EVENT.turnError, base.turnUsers, base, current.turnUsers, current);
    case MONITOR_SIGNAL.thumbsDownRate:
      return rateSignal(context, USER_EVENT.thumbsDown, base.users, base, current.users, current);
    case MONITOR_SIGNAL.regenerateRate:
      return rateSignal(context, USER_EVENT.regenerate, base.users, base, current.users, current);
    case MONITOR_SIGNAL.humanTakeoverRate:
      return rateSignal(context, USER_EVENT.humanTakeover, base.users, base, current.users, current);
  }
}

interface SignalContext {
  readonly signal: MonitorSignal;
  readonly config: BehaviorMonitorConfig;
  readonly alpha: number;
  readonly periods: number;
}

function round(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  const scale = 10 ** digits;
  return String(Math.round(value * scale) / scale);
}

function points(share: number): string {
  return Number.isFinite(share) ? `${round(share * 100, 1)}%` : String(share);
}

function sum(counts: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const count of Object.values(counts)) total += count;
  return total;
}

function total(buckets: BucketCounts): number {
  let count = 0;
  for (const bucket of buckets) count += bucket.count;
  return count;
}

/**
 * The status of a signal: alarm when its test proved a change beyond the tolerance (its
 * confidence bound is past it), clear when the point estimate is within the tolerance
 * (clearing only re-arms an alert, so a point estimate may decide it).
 */
function statusOf(
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

function verdictText(status: string, effectSize: number, tolerance: number): string {
  if (status === SIGNAL_STATUS.alarm) return 'a change beyond the tolerance, proven';
  if (effectSize > tolerance) return 'past the tolerance, but not proven: could still be which users showed up';
  return 'within the tolerance';
}

function noData(
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

function tooFew(context: SignalContext, users: number, baselineUsers: number): string | undefined {
  const need = context.config.minUsers;
  if (users >= need && baselineUsers >= need) return undefined;
  return `not enough users yet (${baselineUsers} in the baseline, ${users} in the window, need ${need} each)`;
}

/** Baseline categories of a mix (shares ≥ 1%), the rest and unseen names lumped into `other`. */
function categoriesOf(baseline: Readonly<Record<string, number>>): (name: string) => string {
  const total = sum(baseline);
  const kept = new Set<string>();
  for (const [name, count] of Object.entries(baseline)) {
    if (name !== OTHER_CATEGORY && total > 0 && count / total >= MIN_CATEGORY_SHARE) kept.add(name);
  }
  return (name) => (kept.has(name) ? name : OTHER_CATEGORY);
}

function lump(counts: Readonly<Record<string, number>>, categoryOf: (name: string) => string): Map<string, number> {
  const lumped = new Map<string, number>();
  for (const [name, count] of Object.entries(counts)) {
    const category = categoryOf(name);
    lumped.set(category, (lumped.get(category) ?? 0) + count);
  }
  return lumped;
}

/**
 * Tool or topic mix over users: each user's first tool call (first classified topic) of
 * the period. For every category (baseline shares ≥ 1%, plus `other` for the rest and
 * for names the baseline never saw) and both directions, the lower bound of the share's
 * change — current bound minus the baseline's opposite bound, each side Bonferroni-split
 * over the 2K one-sided bounds — must exceed `tolerance` points.
 */
function mixSignal(
  context: SignalContext,
  noun: string,
  baselineCounts: Readonly<Record<string, number>> | undefined,
  counts: Readonly<Record<string, number>> | undefined,
  tolerance: number,
): SignalEvaluation {
  const effect = SIGNAL_EFFECT.shareChange;
  if (baselineCounts === undefined || counts === undefined) {
    return noData(context, effect, tolerance, 0, 0, `no per-user ${noun} data from the source`);
  }
  const baselineUsers = sum(baselineCounts);
  const users = sum(counts);
  const few = tooFew(context, users, baselineUsers);
  if (few !== undefined) return noData(context, effect, tolerance, users, baselineUsers, few);
  const categoryOf = categoriesOf(baselineCounts);
  const baseline = lump(baselineCounts, categoryOf);
  const current = lump(counts, categoryOf);
  const categories = [...new Set([...baseline.keys(), ...current.keys(), OTHER_CATEGORY])].sort();
  const sides = 2 * categories.length;
  const currentAlpha = context.alpha / sides;
  const baselineAlpha = context.config.baselineAlpha / sides;
  // Decide on the tests (one per category and direction, at the baseline's bound shifted
  // by the tolerance); then bound the change of the category that alarms, or else of the
  // one that moved most, for the evidence.
  let alarming: MixMove | undefined;
  let moved: MixMove | undefined;
  for (const category of categories) {
    const baselineHits = baseline.get(category) ?? 0;
    const hits = current.get(category) ?? 0;
    const bounds = baselineShareBounds(baselineHits, baselineUsers, context.periods, baselineAlpha);
    const move: MixMove = { category, hits, baselineShare: baselineHits / baselineUsers, share: hits / users, bounds };
    const change = Math.abs(move.share - move.baselineShare);
    if (moved === undefined || change > Math.abs(moved.share - moved.baselineShare)) moved = move;
    const rise = provenAbove(hits, users, bounds.upper + tolerance, currentAlpha);
    const fall = !rise && provenAbove(users - hits, users, 1 - (bounds.lower - tolerance), currentAlpha);
    if ((rise || fall) && (alarming === undefined || change > Math.abs(alarming.share - alarming.baselineShare))) {
      alarming = move;
    }
  }
  const shown = alarming ??
    moved ?? { category: OTHER_CATEGORY, hits: 0, baselineShare: 0, share: 0, bounds: { lower: 0, upper: 1 } };
  const change = shown.share - shown.baselineShare;
  // Lower bound of the change in the direction the data point, seeded at the tolerance when proven.
  const bound =
    change >= 0
      ? currentLowerBound(shown.hits, users, currentAlpha, alarming ? shown.bounds.upper + tolerance : 0) -
        shown.bounds.upper
      : shown.bounds.lower -
        currentUpperBound(shown.hits, users, currentAlpha, alarming ? shown.bounds.lower - tolerance : 1);
  const status = statusOf(
    context,
    users,
    baselineUsers,
    alarming !== undefined,
    largestMove(baseline, current, baselineUsers, users),
    tolerance,
  );
  return {
    signal: context.signal,
    status,
    unit: MONITOR_UNIT,
    subject: shown.category,
    baselineValue: shown.baselineShare,
    currentValue: shown.share,
    effect,
    effectSize: Math.abs(change),
    effectBound: bound,
    tolerance,
    alpha: context.alpha,
    baselineAlpha: context.config.baselineAlpha,
    users,
    baselineUsers,
    reason:
      `share of users whose first ${noun} was ${shown.category}: ${points(shown.baselineShare)} of ${baselineUsers} ` +
      `baseline users -> ${points(shown.share)} of ${users} users (${change >= 0 ? '+' : ''}${points(change)}); ` +
      `the change is at least ${points(Math.max(0, bound))} (confidence bound) vs a tolerance of ${points(tolerance)}: ` +
      verdictText(status, Math.abs(change), tolerance),
  };
}

/** One category of a mix: its counts, shares and the baseline's bounds. */
interface MixMove {
  readonly category: string;
  readonly hits: number;
  readonly baselineShare: number;
  readonly share: number;
  readonly bounds: ShareBounds;
}

function largestMove(
  baseline: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
  baselineUsers: number,
  users: number,
): number {
  let largest = 0;
  for (const category of new Set([...baseline.keys(), ...current.keys()])) {
    largest = Math.max(
      largest,
      Math.abs((current.get(category) ?? 0) / users - (baseline.get(category) ?? 0) / baselineUsers),
    );
  }
  return largest;
}

/**
 * Answer length and latency over users (each user's first turn of the period): the KS
 * distance minus the window's time-uniform DKW band (at alpha) and the baseline's
 * fixed-sample band (at baselineAlpha) must exceed `ksTolerance`.
 */
function distributionSignal(
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
 * Tail latency over users: for p95 and p99 (each at half the budgets), the lower bound
 * of the window's quantile over the upper bound of the baseline's must exceed
 * `maxTailLatencyRatio`. Sees a slower tail under an unchanged median, which the KS
 * distance of the whole distribution does not.
 */
function tailSignal(
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

const EVENT_NOUN: Readonly<Record<UserEvent, string>> = {
  turn_error: 'an error',
  refusal: 'a refusal',
  thumbs_down: 'a thumbs-down',
  regenerate: 'a regeneration',
  human_takeover: 'a human takeover',
};

/**
 * Share of users with at least one such event in their subject period: the window's
 * lower bound over the baseline's upper bound must exceed `maxRateRatio`. Within a window
 * a user's "at least one so far" only grows, so looks before its end see a share no
 * larger than at its end: the anytime bound stays conservative for a rise.
 */
function rateSignal(
  context: SignalContext,
  event: UserEvent,
  baselineExposure: number,
  baseline: MonitorWindow,
  exposure: number,
  current: MonitorWindow,
): SignalEvaluation {
  const tolerance = context.config.maxRateRatio;
  const effect = SIGNAL_EFFECT.rateRatio;
  const baselineEvents = baseline.usersWith[event];
  const events = current.usersWith[event];
  const noun = EVENT_NOUN[event];
  if (baselineEvents === undefined || events === undefined) {
    return noData(context, effect, tolerance, 0, 0, `the source does not count users with ${noun}`);
  }
  const few = tooFew(context, exposure, baselineExposure);
  if (few !== undefined) return noData(context, effect, tolerance, exposure, baselineExposure, few);
  const baselineRate = Math.min(baselineEvents, baselineExposure) / baselineExposure;
  const rate = Math.min(events, exposure) / exposure;
  const upper = baselineShareBounds(
    baselineEvents,
    baselineExposure,
    context.periods,
    context.config.baselineAlpha,
  ).upper;
  const limit = tolerance * upper;
  const proven = provenAbove(events, exposure, limit, context.alpha);
  const lower = currentLowerBound(events, exposure, context.alpha, proven ? limit : 0);
  const bound = upper > 0 ? lower / upper : 0;
  const ratio = baselineRate > 0 ? rate / baselineRate : rate > 0 ? Number.POSITIVE_INFINITY : 1;
  const status = statusOf(context, exposure, baselineExposure, proven, ratio, tolerance);
  return {
    signal: context.signal,
    status,
    unit: MONITOR_UNIT,
    subject: event,
    baselineValue: baselineRate,
    currentValue: rate,
    effect,
    effectSize: ratio,
    effectBound: bound,
    tolerance,
    alpha: context.alpha,
    baselineAlpha: context.config.baselineAlpha,
    users: exposure,
    baselineUsers: baselineExposure,
    reason:
      `users with ${noun}: ${points(baselineRate)} of ${baselineExposure} baseline users -> ${points(rate)} of ` +
      `${exposure} users (×${round(ratio, 2)}); at least ×${round(bound, 2)} (confidence bound: ${points(lower)} ` +
      `vs the baseline's ${points(upper)}) vs a tolerance of ×${tolerance}: ${verdictText(status, ratio, tolerance)}`,
  };
}
