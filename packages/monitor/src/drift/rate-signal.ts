import { baselineShareBounds, currentLowerBound, provenAbove } from './bounds.js';
import { noData, points, round, type SignalContext, statusOf, tooFew, verdictText } from './signal-verdict.js';
import { MONITOR_UNIT, type MonitorWindow, SIGNAL_EFFECT, type SignalEvaluation, type UserEvent } from './types.js';

const EVENT_NOUN: Readonly<Record<UserEvent, string>> = {
  turn_error: 'an error',
  refusal: 'a refusal',
  thumbs_down: 'a thumbs-down',
  regenerate: 'a regeneration',
  human_takeover: 'a human takeover',
};

/**
 * @internal Share of users with at least one such event in their subject period: the window's
 * lower bound over the baseline's upper bound must exceed `maxRateRatio`. Within a window
 * a user's "at least one so far" only grows, so looks before its end see a share no
 * larger than at its end: the anytime bound stays conservative for a rise.
 */
export function rateSignal(
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
