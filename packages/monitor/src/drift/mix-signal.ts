import { OTHER_CATEGORY } from '@agent-canary/stats';
import { baselineShareBounds, currentLowerBound, currentUpperBound, provenAbove, type ShareBounds } from './bounds.js';
import { noData, points, type SignalContext, statusOf, sum, tooFew, verdictText } from './signal-verdict.js';
import { MONITOR_UNIT, SIGNAL_EFFECT, type SignalEvaluation } from './types.js';

/** Categories with a baseline share below this are lumped into `other` (as the gate's tool mix does). */
const MIN_CATEGORY_SHARE = 0.01;

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
 * @internal Tool or topic mix over users: each user's first tool call (first classified topic) of
 * the period. For every category (baseline shares ≥ 1%, plus `other` for the rest and
 * for names the baseline never saw) and both directions, the lower bound of the share's
 * change — current bound minus the baseline's opposite bound, each side Bonferroni-split
 * over the 2K one-sided bounds — must exceed `tolerance` points.
 */
export function mixSignal(
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
