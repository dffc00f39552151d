import type { BucketCounts } from '@agent-canary/gate';

/**
 * Behaviour of one release over a time range, as counts and bucketed distributions
 * only (no content): what the monitor compares. Every field adds across time ranges
 * and replicas.
 */
export interface MonitorWindow {
  /** Agent turns served. */
  readonly turns: number;
  /** Turns that ended in error. */
  readonly errors: number;
  /** Turns flagged as refusals. */
  readonly refusals: number;
  /** Tool calls per tool name. */
  readonly toolCalls: Readonly<Record<string, number>>;
  /** Classified turns per topic (from the app's pluggable classifier; empty without one). */
  readonly topics: Readonly<Record<string, number>>;
  /** User feedback events per kind (`thumbs_down`, `regenerate`, `human_takeover`, ...). */
  readonly feedback: Readonly<Record<string, number>>;
  /** Turn duration, ms. */
  readonly latencyMillis: BucketCounts;
  /** Final answer length, characters. */
  readonly outputLength: BucketCounts;
}

/** What a {@link BehaviorWindowSource} is asked for. */
export interface BehaviorWindowQuery {
  readonly release: string;
  readonly sinceMillis: number;
  readonly untilMillis: number;
}

/** A source answers with a window, or with the reason it could not (never rejects). */
export type BehaviorWindowResult =
  | { readonly ok: true; readonly window: MonitorWindow }
  | { readonly ok: false; readonly reason: string };

/** Where the monitor reads a release's behaviour from (in-process processor, metrics backend, ...). */
export interface BehaviorWindowSource {
  /** Short name for evidence and logs. */
  readonly name: string;
  read(query: BehaviorWindowQuery): Promise<BehaviorWindowResult>;
}

/** The frozen reference behaviour of a release. */
export interface BehaviorBaseline {
  readonly release: string;
  /** Range the baseline was measured over: monitoring windows start at or after `untilMillis`. */
  readonly sinceMillis: number;
  readonly untilMillis: number;
  readonly frozenAtMillis: number;
  /** Why it was frozen (promotion of a rollout, on demand by someone, ...). */
  readonly reason: string;
  readonly actor: string;
  readonly window: MonitorWindow;
}

/** Signals the monitor watches. */
export const MONITOR_SIGNAL = {
  toolMix: 'tool_mix',
  topicMix: 'topic_mix',
  responseLength: 'response_length',
  latency: 'latency',
  refusalRate: 'refusal_rate',
  errorRate: 'error_rate',
  thumbsDownRate: 'thumbs_down_rate',
  regenerateRate: 'regenerate_rate',
  humanTakeoverRate: 'human_takeover_rate',
} as const;
/** One of {@link MONITOR_SIGNAL}. */
export type MonitorSignal = (typeof MONITOR_SIGNAL)[keyof typeof MONITOR_SIGNAL];
/** Every {@link MonitorSignal}, in a fixed order. */
export const MONITOR_SIGNALS: readonly MonitorSignal[] = Object.freeze(Object.values(MONITOR_SIGNAL));

/** Outcome of one signal's evaluation. */
export const SIGNAL_STATUS = {
  /** Both the anytime-valid test and the effect-size threshold say "drifted". */
  alarm: 'alarm',
  /** Enough data, and the effect size is within its threshold. */
  clear: 'clear',
  /** Too little data on one side, or a change not (yet) both proven and material. */
  undecided: 'undecided',
} as const;
/** One of {@link SIGNAL_STATUS}. */
export type SignalStatus = (typeof SIGNAL_STATUS)[keyof typeof SIGNAL_STATUS];

/** The evidence of one signal at one evaluation: which signal, how far, on how many samples. */
export interface SignalEvaluation {
  readonly signal: MonitorSignal;
  readonly status: SignalStatus;
  /** What moved most: a tool or topic name, or the quantity of the distribution. */
  readonly subject?: string;
  /** Baseline value of `subject` (share, rate, median). NaN without data. */
  readonly baselineValue: number;
  /** Current value of `subject`. NaN without data. */
  readonly currentValue: number;
  /** Name of the effect size: `max_share_change`, `ks_distance`, `rate_increase`. */
  readonly effect: string;
  readonly effectSize: number;
  readonly effectThreshold: number;
  /** Name of the anytime-valid statistic: `e_value` (≥ boundary rejects) or `ks_lower_bound` (> boundary alarms). */
  readonly statistic: string;
  readonly statisticValue: number;
  readonly boundary: number;
  /** Type-I error spent on this signal in this window. */
  readonly alpha: number;
  readonly samples: number;
  readonly baselineSamples: number;
  /** One sentence for humans. */
  readonly reason: string;
}

/** Evidence attached to a drift alert. */
export interface DriftEvidence extends SignalEvaluation {
  readonly release: string;
  /** Monitoring window the evaluation covered. */
  readonly windowSinceMillis: number;
  readonly windowUntilMillis: number;
  /** When the alarm was first seen (the alert's "since when"). */
  readonly firstSeenAtMillis: number;
  readonly baselineFrozenAtMillis: number;
  readonly baselineSinceMillis: number;
  readonly baselineUntilMillis: number;
}

/** Alert bookkeeping of one signal (deduplication and re-arming). */
export interface SignalAlertState {
  /** Id of the open alert; absent while armed. */
  readonly alertId?: number;
  readonly raisedAtMillis?: number;
  /** Consecutive closed windows judged clear since the alert was raised. */
  readonly cleanWindows: number;
}

/** Everything the monitor persists between ticks (plain JSON). */
export interface MonitorState {
  readonly v: 1;
  readonly monitorId: string;
  /** The release watched. */
  readonly release?: string;
  readonly baseline?: BehaviorBaseline;
  /** A baseline being collected (after a promotion): frozen once long and large enough. */
  readonly pendingBaseline?: {
    readonly release: string;
    readonly sinceMillis: number;
    readonly reason: string;
    readonly actor: string;
  };
  /** Index of the current window; window k covers [baseline.untilMillis + k·W, … + W). */
  readonly windowIndex: number;
  readonly signals: Readonly<Partial<Record<MonitorSignal, SignalAlertState>>>;
  readonly updatedAtMillis: number;
}

/** A drift alert as stored. */
export interface MonitorAlertRecord {
  readonly id: number;
  readonly monitorId: string;
  readonly release: string;
  readonly signal: MonitorSignal;
  readonly raisedAtMillis: number;
  readonly clearedAtMillis?: number;
  readonly clearReason?: string;
  readonly evidence: DriftEvidence;
}
