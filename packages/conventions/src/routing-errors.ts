/**
 * Codes of {@link RoutingError}: what is wrong with a flag system, so an operator can fix it.
 * "Not retryable" means an adapter stops retrying within one `apply`; none of them is final
 * for the controller, which keeps retrying an unacknowledged write (a rollback above all)
 * with back-off and alerts until an operator has fixed the cause.
 */
export const ROUTING_ERROR_CODE = {
  /** Credentials missing, wrong or without write permission (a token, file or directory permissions). Not retryable. */
  unauthorized: 'AGENT_CANARY_ROUTING_UNAUTHORIZED',
  /** The flag (or its project / environment / file or directory) does not exist. Not retryable. */
  flagNotFound: 'AGENT_CANARY_ROUTING_FLAG_NOT_FOUND',
  /** The flag exists but in a shape the adapter did not write and cannot read as a split (often a hand edit). Not retryable. */
  flagShape: 'AGENT_CANARY_ROUTING_FLAG_SHAPE',
  /** The flag system could not be reached or answered with a server error (retryable). */
  unavailable: 'AGENT_CANARY_ROUTING_UNAVAILABLE',
  /** The write went through but reading back never showed it within the retries. */
  notAcknowledged: 'AGENT_CANARY_ROUTING_NOT_ACKNOWLEDGED',
} as const;
/** One of {@link ROUTING_ERROR_CODE}. */
export type RoutingErrorCode = (typeof ROUTING_ERROR_CODE)[keyof typeof ROUTING_ERROR_CODE];

/** Options of {@link RoutingError}. */
export interface RoutingErrorOptions {
  readonly code: RoutingErrorCode;
  /** Flag system, e.g. `flagd`, `launchdarkly`, `embedded`. */
  readonly provider: string;
  readonly message: string;
  readonly flagKey?: string;
  readonly cause?: unknown;
}

/**
 * A routing adapter failure that names what is wrong. Adapters throw it from `read` (a
 * flag of the wrong shape: the controller then holds and alerts instead of guessing) and
 * from `apply` for what retrying within the call cannot fix; the controller never lets it
 * escape a tick, keeps the write pending and retries it later.
 *
 * @example
 * throw new RoutingError({ code: ROUTING_ERROR_CODE.unauthorized, provider: 'launchdarkly', message: 'API token rejected (401)' });
 */
export class RoutingError extends Error {
  readonly code: RoutingErrorCode;
  readonly provider: string;
  readonly flagKey?: string;

  constructor(options: RoutingErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RoutingError';
    this.code = options.code;
    this.provider = options.provider;
    if (options.flagKey !== undefined) this.flagKey = options.flagKey;
  }

  /** True for errors a retry within one `apply` may fix (`unavailable`, `notAcknowledged`); the others need an operator. */
  get retryable(): boolean {
    return this.code === ROUTING_ERROR_CODE.unavailable || this.code === ROUTING_ERROR_CODE.notAcknowledged;
  }
}
