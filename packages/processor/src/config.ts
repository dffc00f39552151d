import { type AgentSpanFacts, ConfigError } from '@agent-canary/conventions';
import type { MeterProvider } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** Options of {@link BehaviorSpanProcessor}. All optional. */
export interface BehaviorSpanProcessorOptions {
  /**
   * Width of a time bucket, ms. Windows are unions of whole buckets.
   * @default 10_000
   */
  readonly bucketMillis?: number;
  /**
   * How long buckets are kept, ms (older ones are dropped).
   * @default 21_600_000 (6 h)
   */
  readonly retentionMillis?: number;
  /**
   * A series (rollout, release, cohort) not seen for this long is forgotten, with its
   * subject set; its buckets expire with the retention.
   * @default 86_400_000 (24 h)
   */
  readonly releaseIdleMillis?: number;
  /**
   * Most series kept at once; spans of further series are dropped (and counted). A
   * rollout's series has a twin outside rollouts (same release and cohort) that holds its
   * users per subject period: both count.
   * @default 64
   */
  readonly maxSeries?: number;
  /**
   * Most distinct subjects remembered per rollout, and per release and subject period;
   * past it, new subjects are not counted and windows show `subjectCapReached` (on the
   * rollout's series, or on the release's series outside rollouts). About 100 bytes each.
   * @default 200_000
   */
  readonly maxSubjectsPerRollout?: number;
  /**
   * In the series outside rollouts (the drift monitor's), each subject of a release is
   * counted once per period of this length, aligned to the epoch, ms — whether its spans
   * carry a rollout id or not.
   * @default 3_600_000 (1 h)
   */
  readonly subjectPeriodMillis?: number;
  /**
   * Most distinct tool names; further names count as `other`.
   * @default 50
   */
  readonly maxToolNames?: number;
  /**
   * Most distinct topics; further topics count as `other`.
   * @default 50
   */
  readonly maxTopics?: number;
  /**
   * Most distinct evaluator names; further scores count as `other`.
   * @default 20
   */
  readonly maxScoreNames?: number;
  /**
   * Traces remembered as "had a model-call span", so a turn's aggregate token counts are
   * not added on top of its model calls'.
   * @default 10_000
   */
  readonly maxTrackedTraces?: number;
  /** Clock, ms since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Where to emit the aggregates as OpenTelemetry metrics; none when absent. @default undefined */
  readonly meterProvider?: MeterProvider;
  /** File to persist snapshots to and restore from at start; none when absent. @default undefined */
  readonly snapshotPath?: string;
  /**
   * How often the snapshot is written, ms (also on `forceFlush` and `shutdown`).
   * @default 30_000
   */
  readonly snapshotIntervalMillis?: number;
  /** Span normaliser. @default normalizeSpan */
  readonly normalize?: (span: ReadableSpan) => AgentSpanFacts | undefined;
}

/** Resolved {@link BehaviorSpanProcessorOptions}. */
export interface BehaviorSpanProcessorConfig {
  readonly bucketMillis: number;
  readonly retentionMillis: number;
  readonly releaseIdleMillis: number;
  readonly maxSeries: number;
  readonly maxSubjectsPerRollout: number;
  readonly subjectPeriodMillis: number;
  readonly maxToolNames: number;
  readonly maxTopics: number;
  readonly maxScoreNames: number;
  readonly maxTrackedTraces: number;
  readonly now: () => number;
  readonly meterProvider: MeterProvider | undefined;
  readonly snapshotPath: string | undefined;
  readonly snapshotIntervalMillis: number;
}

/** Defaults of {@link BehaviorSpanProcessorOptions}. */
export const BEHAVIOR_PROCESSOR_DEFAULTS = Object.freeze({
  bucketMillis: 10_000,
  retentionMillis: 6 * 60 * 60 * 1000,
  releaseIdleMillis: 24 * 60 * 60 * 1000,
  maxSeries: 64,
  maxSubjectsPerRollout: 200_000,
  subjectPeriodMillis: 60 * 60 * 1000,
  maxToolNames: 50,
  maxTopics: 50,
  maxScoreNames: 20,
  maxTrackedTraces: 10_000,
  snapshotIntervalMillis: 30_000,
});

function positiveInteger(
  options: BehaviorSpanProcessorOptions,
  field: keyof typeof BEHAVIOR_PROCESSOR_DEFAULTS,
): number {
  const value = options[field] ?? BEHAVIOR_PROCESSOR_DEFAULTS[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError({ path: field, expected: 'a positive integer', received: value });
  }
  return value;
}

/**
 * Resolves options against {@link BEHAVIOR_PROCESSOR_DEFAULTS}.
 * @throws ConfigError naming the field when a value is invalid.
 */
export function resolveBehaviorProcessorConfig(
  options: BehaviorSpanProcessorOptions = {},
): BehaviorSpanProcessorConfig {
  const config: BehaviorSpanProcessorConfig = {
    bucketMillis: positiveInteger(options, 'bucketMillis'),
    retentionMillis: positiveInteger(options, 'retentionMillis'),
    releaseIdleMillis: positiveInteger(options, 'releaseIdleMillis'),
    maxSeries: positiveInteger(options, 'maxSeries'),
    maxSubjectsPerRollout: positiveInteger(options, 'maxSubjectsPerRollout'),
    subjectPeriodMillis: positiveInteger(options, 'subjectPeriodMillis'),
    maxToolNames: positiveInteger(options, 'maxToolNames'),
    maxTopics: positiveInteger(options, 'maxTopics'),
    maxScoreNames: positiveInteger(options, 'maxScoreNames'),
    maxTrackedTraces: positiveInteger(options, 'maxTrackedTraces'),
    snapshotIntervalMillis: positiveInteger(options, 'snapshotIntervalMillis'),
    now: options.now ?? Date.now,
    meterProvider: options.meterProvider,
    snapshotPath: options.snapshotPath,
  };
  if (config.retentionMillis < config.bucketMillis) {
    throw new ConfigError({
      path: 'retentionMillis',
      expected: `at least bucketMillis (${config.bucketMillis})`,
      received: config.retentionMillis,
    });
  }
  if (typeof config.now !== 'function')
    throw new ConfigError({ path: 'now', expected: 'a function', received: config.now });
  if (config.snapshotPath !== undefined && (typeof config.snapshotPath !== 'string' || config.snapshotPath === '')) {
    throw new ConfigError({ path: 'snapshotPath', expected: 'a non-empty file path', received: config.snapshotPath });
  }
  return Object.freeze(config);
}
