import type { BucketCounts } from '@agent-canary/gate';

/** Adverse events the monitor counts per user (the processor's `subjectsWith` keys). */
export const USER_EVENT = {
  turnError: 'turn_error',
  refusal: 'refusal',
  thumbsDown: 'thumbs_down',
  regenerate: 'regenerate',
  humanTakeover: 'human_takeover',
} as const;
/** One of {@link USER_EVENT}. */
export type UserEvent = (typeof USER_EVENT)[keyof typeof USER_EVENT];

/**
 * Behaviour of one release over a time range, counted over USERS (subjects): within one
 * subject period each user is one observation — its first turn, first tool call, first
 * classified topic, and whether it had at least one adverse event of each kind — so the
 * tests hold however one user's calls are correlated (habits, heavy users). A range over
 * k subject periods counts a user at most k times. Counts and bucketed distributions
 * only (no content); every field adds across time ranges and replicas. A field the
 * source cannot tell is absent, and the signals that need it stay `undecided`.
 */
export interface MonitorWindow {
  /** Agent turns served (requests): context for humans, no test reads it. */
  readonly turns: number;
  /** Users seen (each once per subject period): the exposure of the feedback rates. */
  readonly users: number;
  /** Users whose first turn of the period fell in the range: the exposure of the error and refusal rates. */
  readonly turnUsers: number;
  /**
   * Users with at least one such event in their subject period (counted at their first
   * one), by kind. A kind the source cannot tell is absent.
   */
  readonly usersWith: Readonly<Partial<Record<UserEvent, number>>>;
  /** Each user's first tool call of the period, by tool. */
  readonly firstTools?: Readonly<Record<string, number>>;
  /** Topic of each user's first classified turn of the period (from the app's classifier). */
  readonly firstTopics?: Readonly<Record<string, number>>;
  /** Duration of each user's first turn of the period, ms. */
  readonly latencyMillis?: BucketCounts;
  /** Final answer length of each user's first turn of the period, characters. */
  readonly outputLength?: BucketCounts;
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
  /**
   * Length of the subject periods the source counts users over (each user once per
   * period, periods aligned to the epoch): the monitor's windows are these periods. A
   * source that does not say is trusted to count each user once per `windowMillis`.
   */
  readonly subjectPeriodMillis?: number;
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
  /** Subject periods the range spans: a user counts at most once per period, so up to this many times. */
  readonly periods: number;
  readonly window: MonitorWindow;
}

/** Signals the monitor watches. */
export const MONITOR_SIGNAL = {
  toolMix: 'tool_mix',
  topicMix: 'topic_mix',
  responseLength: 'response_length',
  latency: 'latency',
  latencyTail: 'latency_tail',
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
  /** The effect's confidence bound is past the tolerance: a material change, proven. */
  alarm: 'alarm',
  /** Enough users on both sides, and the effect's point estimate is within the tolerance. */
  clear: 'clear',
  /** Too few users on one side, no data for the signal, or an estimate past the tolerance without proof. */
  undecided: 'undecided',
} as const;
/** One of {@link SIGNAL_STATUS}. */
export type SignalStatus = (typeof SIGNAL_STATUS)[keyof typeof SIGNAL_STATUS];

/** What the effect of a signal measures. */
export const SIGNAL_EFFECT = {
  /** Largest change of one category's share among users, in points (0..1), either direction. */
  shareChange: 'share_change',
  /** Current share of users with the event over the baseline's. */
  rateRatio: 'rate_ratio',
  /** KS distance between the distributions of users' first turns. */
  ksDistance: 'ks_distance',
  /** Current p95 (or p99) of users' first-turn latency over the baseline's. */
  quantileRatio: 'quantile_ratio',
} as const;
/** One of {@link SIGNAL_EFFECT}. */
export type SignalEffect = (typeof SIGNAL_EFFECT)[keyof typeof SIGNAL_EFFECT];

/** The unit every monitor count is in: users, each once per subject period. */
export const MONITOR_UNIT = 'subject' as const;

/**
 * The evidence of one signal at one evaluation. Materiality is judged on a confidence
 * bound, never on a point estimate: the signal alarms exactly when `effectBound` — the
 * smallest effect the data leave plausible, with the current window's anytime-valid
 * bound at `alpha` and the baseline's fixed-sample bound at `baselineAlpha` — is past
 * `tolerance`.
 */
export interface SignalEvaluation {
  readonly signal: MonitorSignal;
  readonly status: SignalStatus;
  /** Unit of the counts: `subject` (users, each once per subject period). */
  readonly unit: typeof MONITOR_UNIT;
  /** What moved most: a tool or topic name, the event, `distribution`, or `p95` / `p99`. */
  readonly subject?: string;
  /** Baseline value of `subject` (share, rate, median or quantile in its unit). NaN without data. */
  readonly baselineValue: number;
  /** Current value of `subject`. NaN without data. */
  readonly currentValue: number;
  readonly effect: SignalEffect;
  /** Point estimate of the effect: shown to humans, never alarms on its own. NaN without data. */
  readonly effectSize: number;
  /** Confidence bound of the effect toward a drift (a lower bound of the change). NaN without data. */
  readonly effectBound: number;
  /** Materiality: the signal alarms when `effectBound` > `tolerance`. */
  readonly tolerance: number;
  /** Type-I error spent on the current window's side of this signal (anytime-valid within the window). */
  readonly alpha: number;
  /** Miscoverage of the baseline's side, once for the baseline's life. */
  readonly baselineAlpha: number;
  /** Users behind the current window's side (the signal's exposure). */
  readonly users: number;
  /** Users behind the baseline's side (summed over its subject periods). */
  readonly baselineUsers: number;
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
  /** 2: per-user windows aligned to subject periods (a version-1 state collects a new baseline). */
  readonly v: 2;
  readonly monitorId: string;
  /** The release watched. */
  readonly release?: string;
  readonly baseline?: BehaviorBaseline;
  /** A baseline being collected (after a promotion): frozen once long and large enough. */
  readonly pendingBaseline?: {
    readonly release: string;
    /** Start of the baseline: a window boundary. */
    readonly sinceMillis: number;
    readonly reason: string;
    readonly actor: string;
  };
  /**
   * Index of the current window; window k covers [origin + k·W, origin + (k+1)·W), where
   * origin is the first window boundary (a multiple of W since the epoch) at or after
   * the baseline's end.
   */
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
