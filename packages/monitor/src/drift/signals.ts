/**
 * The monitor's signals, judged over users: every count is users (each once per subject
 * period), and every signal alarms only when a CONFIDENCE BOUND of its effect is past its
 * tolerance — never on a point estimate. The bound combines the current window's
 * anytime-valid bound (at the signal's share of `alphaPerWindow`) with the frozen
 * baseline's fixed-sample bound (at `baselineAlpha`): a union bound, valid however the
 * baseline and the window are correlated (they share heavy users).
 */
import type { BehaviorMonitorConfig } from './config.js';
import { distributionSignal, tailSignal } from './distribution-signals.js';
import { mixSignal } from './mix-signal.js';
import { rateSignal } from './rate-signal.js';
import { MONITOR_SIGNAL, type MonitorSignal, type MonitorWindow, type SignalEvaluation, USER_EVENT } from './types.js';

/** A frozen baseline as the signals read it: its window and the subject periods it spans. */
export interface BaselineSample {
  readonly window: MonitorWindow;
  readonly periods: number;
}

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
