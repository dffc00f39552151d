import { type RetryOptions, withRetry } from '@agent-canary/conventions';
import { diag } from '@opentelemetry/api';
import type { NotificationDraft } from '../rollout/state.js';
import type { RolloutStore } from '../store/store.js';

/** A notification as sent: the reducer's draft plus the rollout's identity. */
export interface Notification extends NotificationDraft {
  readonly rolloutId: string;
  readonly flagKey: string;
  readonly canaryRelease: string;
  readonly stableRelease: string;
  /**
   * Canary share the flag system routes (what users get, not what was decided): the last
   * split it acknowledged, or what a read-back showed while a write is pending; 0 before
   * anything was acknowledged.
   */
  readonly canaryBasisPoints: number;
  /** Control share the flag system routes, like `canaryBasisPoints`. */
  readonly controlBasisPoints: number;
  /**
   * Present while the flag system has not acknowledged the controller's decision: the split
   * decided and since when (after a rollback: canary 0 while users still get the canary).
   */
  readonly pendingSplit?: {
    readonly canaryBasisPoints: number;
    readonly controlBasisPoints: number;
    readonly sinceMillis: number;
  };
  readonly atMillis: number;
}

/** Outcome of one delivery. */
export interface NotifyResult {
  readonly delivered: boolean;
  readonly attempts: number;
  readonly error?: string;
}

/** Where transitions, alerts and approval requests go. Implementations must not throw. */
export interface Notifier {
  /** Short name recorded with each delivery, e.g. `webhook`. */
  readonly name: string;
  notify(notification: Notification): Promise<NotifyResult>;
}

/** Options of {@link webhookNotifier}. */
export interface WebhookNotifierOptions {
  /** Endpoint receiving a JSON POST of the {@link Notification}. */
  readonly url: string;
  /** Extra headers (e.g. an auth token). @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** Retries after the first attempt on network errors and non-2xx answers. @default 3 */
  readonly retries?: number;
  /** Timeout of one attempt. @default 5000 */
  readonly timeoutMillis?: number;
  /** Backoff between attempts (and an injected sleep for tests). @default { initialDelayMillis: 200 } */
  readonly backoff?: Omit<RetryOptions, 'maxAttempts'>;
}

/** Defaults of {@link WebhookNotifierOptions}. */
export const WEBHOOK_DEFAULTS = Object.freeze({ retries: 3, timeoutMillis: 5_000, initialDelayMillis: 200 });

/**
 * Posts each notification as JSON to a URL (Slack/Teams relays, PagerDuty, your own hook),
 * retrying with backoff and jitter. Never throws: failures come back as a result and go to `diag`.
 *
 * @example
 * const notifier = webhookNotifier({ url: 'https://hooks.example.com/canary', retries: 3 });
 */
export function webhookNotifier(options: WebhookNotifierOptions): Notifier {
  const retries = options.retries ?? WEBHOOK_DEFAULTS.retries;
  const timeoutMillis = options.timeoutMillis ?? WEBHOOK_DEFAULTS.timeoutMillis;
  return {
    name: 'webhook',
    async notify(notification) {
      const body = JSON.stringify(notification);
      const result = await withRetry(
        async () => {
          const response = await fetch(options.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...options.headers },
            body,
            signal: AbortSignal.timeout(timeoutMillis),
          });
          // Drain the body so the connection can be reused.
          await response.arrayBuffer().catch(() => undefined);
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
        },
        { initialDelayMillis: WEBHOOK_DEFAULTS.initialDelayMillis, ...options.backoff, maxAttempts: retries + 1 },
      );
      if (result.ok) return { delivered: true, attempts: result.attempts };
      const error = describe(result.error);
      diag.warn(
        `agent-canary: webhook notification to ${options.url} failed after ${result.attempts} attempts: ${error}`,
      );
      return { delivered: false, attempts: result.attempts, error };
    },
  };
}

/** The logging surface {@link logNotifier} needs (a `DiagLogger`, pino, or console-like object). */
export interface NotificationLogger {
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

/**
 * Writes each notification to a logger at its severity.
 *
 * @example
 * const notifier = logNotifier(pino());
 */
export function logNotifier(logger: NotificationLogger): Notifier {
  return {
    name: 'log',
    async notify(notification) {
      try {
        const line = `[agent-canary] ${notification.flagKey} ${notification.rolloutId}: ${notification.title} (${notification.reason})`;
        logger[notification.severity](line, notification);
        return { delivered: true, attempts: 1 };
      } catch (error) {
        const message = describe(error);
        diag.warn(`agent-canary: log notifier failed: ${message}`);
        return { delivered: false, attempts: 1, error: message };
      }
    },
  };
}

/**
 * Sends one notification through every notifier in turn and records each delivery under
 * `recordId` (a rollout id or a monitor id). A notifier that throws (it must not) is
 * recorded as undelivered and reported to `diag` under `component`, never propagated.
 */
export async function deliverAndRecord(
  notifiers: readonly Notifier[],
  notification: Notification,
  store: Pick<RolloutStore, 'recordNotification'>,
  recordId: string,
  component: string,
): Promise<void> {
  for (const notifier of notifiers) {
    let outcome: NotifyResult;
    try {
      outcome = await notifier.notify(notification);
    } catch (error) {
      outcome = { delivered: false, attempts: 1, error: error instanceof Error ? error.message : String(error) };
      diag.error(`${component}: notifier ${notifier.name} threw`, error);
    }
    store.recordNotification({
      rolloutId: recordId,
      atMillis: notification.atMillis,
      kind: notification.kind,
      severity: notification.severity,
      title: notification.title,
      notifier: notifier.name,
      delivered: outcome.delivered,
      attempts: outcome.attempts,
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
      payload: notification,
    });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
