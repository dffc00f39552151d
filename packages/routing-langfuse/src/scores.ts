import {
  COHORT,
  type Cohort,
  type ReleaseAssignment,
  type RetryOptions,
  type Verdict,
  withRetry,
} from '@agent-canary/conventions';
import type { LangfuseClient } from '@langfuse/client';
import { diag } from '@opentelemetry/api';

/** Name of the score agent-canary posts on traces. */
export const VERDICT_SCORE_NAME = 'agent_canary.verdict';

/** Options of {@link RecentTraces}. */
export interface RecentTracesOptions {
  /** Trace ids kept per rollout and cohort (oldest dropped first). @default 50 */
  readonly capacityPerCohort?: number;
}

/**
 * The rollout's traces, practically: the most recent trace ids this process served
 * under each rollout and cohort. The app records one per request (next to
 * `resolveRelease`); the verdict notifier scores them. Bounded memory, no I/O.
 *
 * @example
 * const recent = new RecentTraces();
 * recent.record(trace.getActiveSpan()?.spanContext().traceId ?? '', assignment);
 */
export class RecentTraces {
  private readonly capacity: number;
  private readonly byKey = new Map<string, string[]>();

  constructor(options: RecentTracesOptions = {}) {
    this.capacity = Math.max(1, Math.floor(options.capacityPerCohort ?? 50));
  }

  /** Remembers a trace served under `assignment` (ignored without a rollout id or trace id). */
  record(traceId: string, assignment: Pick<ReleaseAssignment, 'cohort' | 'rolloutId'>): void {
    if (traceId === '' || /^0+$/.test(traceId) || assignment.rolloutId === undefined) return;
    const key = `${assignment.rolloutId}\u0000${assignment.cohort}`;
    let list = this.byKey.get(key);
    if (list === undefined) {
      list = [];
      this.byKey.set(key, list);
    }
    list.push(traceId);
    if (list.length > this.capacity) list.splice(0, list.length - this.capacity);
  }

  /** Recent trace ids of a rollout, canary and control by default (the cohorts the gate compares). */
  traceIds(rolloutId: string, cohorts: readonly Cohort[] = [COHORT.canary, COHORT.control]): string[] {
    return cohorts.flatMap((cohort) => this.byKey.get(`${rolloutId}\u0000${cohort}`) ?? []);
  }

  /** Forgets a finished rollout. */
  forget(rolloutId: string): void {
    for (const key of this.byKey.keys()) if (key.startsWith(`${rolloutId}\u0000`)) this.byKey.delete(key);
  }
}

/** One verdict to post. */
export interface VerdictScore {
  readonly verdict: Verdict;
  /** Why (the gate's reason); becomes the score comment. */
  readonly reason: string;
  readonly traceIds: readonly string[];
  /** Extra score metadata (rollout id, releases, ...). */
  readonly metadata?: Readonly<Record<string, string | number | boolean>>;
}

/** Options of {@link postVerdictScores}. */
export interface PostVerdictScoresOptions {
  /** @default 'agent_canary.verdict' */
  readonly scoreName?: string;
  /** Backoff per score. @default { maxAttempts: 3, initialDelayMillis: 200 } */
  readonly retry?: RetryOptions;
}

/** Outcome of {@link postVerdictScores}. */
export interface PostVerdictScoresResult {
  readonly posted: number;
  readonly failed: number;
  readonly attempts: number;
  readonly errors: readonly string[];
}

/**
 * Posts the verdict as a categorical Langfuse score (`POST /api/public/scores`) on each
 * trace, with the reason as comment, retrying each with backoff. Never throws.
 *
 * @example
 * await postVerdictScores(langfuse, { verdict: 'fail', reason: 'error rate 4.1% > 2%', traceIds: recent.traceIds('r-42') });
 */
export async function postVerdictScores(
  client: LangfuseClient,
  score: VerdictScore,
  options: PostVerdictScoresOptions = {},
): Promise<PostVerdictScoresResult> {
  const name = options.scoreName ?? VERDICT_SCORE_NAME;
  const comment = score.reason.length > 500 ? `${score.reason.slice(0, 497)}...` : score.reason;
  const results = await Promise.all(
    [...new Set(score.traceIds)].map((traceId) =>
      withRetry(
        () =>
          client.api.scores.create(
            {
              traceId,
              name,
              value: score.verdict,
              dataType: 'CATEGORICAL',
              comment,
              ...(score.metadata === undefined ? {} : { metadata: { ...score.metadata } }),
            },
            { maxRetries: 0 },
          ),
        { maxAttempts: 3, initialDelayMillis: 200, ...options.retry },
      ),
    ),
  );
  const errors = results.flatMap((r) => (r.ok ? [] : [describe(r.error)]));
  if (errors.length > 0) diag.warn(`agent-canary: ${errors.length} Langfuse verdict score(s) failed: ${errors[0]}`);
  return {
    posted: results.length - errors.length,
    failed: errors.length,
    attempts: results.reduce((sum, r) => sum + r.attempts, 0),
    errors,
  };
}

/**
 * The fields of a controller notification this notifier reads (the controller's
 * `Notification` has them all; declared here so this package does not depend on the
 * controller).
 */
export interface VerdictNotification {
  readonly kind: string;
  readonly severity: string;
  readonly title: string;
  readonly reason: string;
  readonly verdict?: Verdict;
  readonly rolloutId: string;
  readonly flagKey: string;
  readonly canaryRelease: string;
  readonly stableRelease: string;
  readonly canaryBasisPoints: number;
}

/** A notifier as the controller calls it (structurally the controller's `Notifier`). */
export interface VerdictNotifier {
  readonly name: string;
  notify(notification: VerdictNotification): Promise<{ delivered: boolean; attempts: number; error?: string }>;
}

/** Options of {@link langfuseVerdictNotifier}. */
export interface LangfuseVerdictNotifierOptions {
  readonly client: LangfuseClient;
  /** The traces to score for a notification, e.g. `(n) => recent.traceIds(n.rolloutId)`. */
  readonly traceIds: (notification: VerdictNotification) => readonly string[] | Promise<readonly string[]>;
  /** @default 'agent_canary.verdict' */
  readonly scoreName?: string;
  /** @default { maxAttempts: 3, initialDelayMillis: 200 } */
  readonly retry?: RetryOptions;
}

/**
 * A controller `Notifier` that posts each notification carrying a gate verdict as a
 * Langfuse score on the rollout's traces (those `traceIds` returns), so the verdict and
 * its reason show next to the conversations it judged. Notifications without a verdict
 * (manual actions) are skipped. Never throws.
 *
 * @example
 * const recent = new RecentTraces();
 * const notifier = langfuseVerdictNotifier({ client: langfuse, traceIds: (n) => recent.traceIds(n.rolloutId) });
 */
export function langfuseVerdictNotifier(options: LangfuseVerdictNotifierOptions): VerdictNotifier {
  return {
    name: 'langfuse-scores',
    async notify(notification: VerdictNotification) {
      if (notification.verdict === undefined) return { delivered: true, attempts: 0 };
      let traceIds: readonly string[];
      try {
        traceIds = await options.traceIds(notification);
      } catch (error) {
        diag.warn('agent-canary: langfuseVerdictNotifier: traceIds() threw', error);
        return { delivered: false, attempts: 0, error: describe(error) };
      }
      if (traceIds.length === 0) return { delivered: true, attempts: 0 };
      const result = await postVerdictScores(
        options.client,
        {
          verdict: notification.verdict,
          reason: `${notification.title}: ${notification.reason}`,
          traceIds,
          metadata: {
            rolloutId: notification.rolloutId,
            flagKey: notification.flagKey,
            canaryRelease: notification.canaryRelease,
            stableRelease: notification.stableRelease,
            canaryBasisPoints: notification.canaryBasisPoints,
            kind: notification.kind,
            severity: notification.severity,
          },
        },
        {
          ...(options.scoreName === undefined ? {} : { scoreName: options.scoreName }),
          ...(options.retry === undefined ? {} : { retry: options.retry }),
        },
      );
      return result.failed === 0
        ? { delivered: true, attempts: result.attempts }
        : {
            delivered: false,
            attempts: result.attempts,
            error: `${result.failed} of ${traceIds.length} scores failed: ${result.errors[0]}`,
          };
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { statusCode?: unknown }).statusCode;
    return typeof status === 'number' ? `HTTP ${status}: ${error.message}` : error.message;
  }
  return String(error);
}
