/** Codes of {@link ControllerError}: why a manual action or a controller call was refused. */
export const CONTROLLER_ERROR_CODE = {
  /** The action is not allowed from the rollout's current state (e.g. promote after a rollback). */
  invalidTransition: 'AGENT_CANARY_INVALID_TRANSITION',
  /** `approve` while the rollout is not waiting for an approval. */
  notAwaitingApproval: 'AGENT_CANARY_NOT_AWAITING_APPROVAL',
  /** No rollout with this id in the store (or no rollout started yet). */
  rolloutNotFound: 'AGENT_CANARY_ROLLOUT_NOT_FOUND',
  /** `start` while another rollout of the same flag is still running. */
  rolloutActive: 'AGENT_CANARY_ROLLOUT_ACTIVE',
  /**
   * `start` while an earlier rollout of the same flag has a routing write the flag system has
   * not acknowledged (a rollback that has not landed): a new split would hide it.
   */
  routingPending: 'AGENT_CANARY_ROUTING_PENDING',
  /** The store was written by a newer schema than this code knows. */
  schemaTooNew: 'AGENT_CANARY_SCHEMA_TOO_NEW',
} as const;
/** One of {@link CONTROLLER_ERROR_CODE}. */
export type ControllerErrorCode = (typeof CONTROLLER_ERROR_CODE)[keyof typeof CONTROLLER_ERROR_CODE];

/**
 * A refused controller operation. Manual actions return it inside a result
 * (`{ ok: false, error }`) rather than throwing: a wrong button press is not a crash.
 */
export class ControllerError extends Error {
  readonly code: ControllerErrorCode;

  constructor(code: ControllerErrorCode, message: string) {
    super(message);
    this.name = 'ControllerError';
    this.code = code;
  }
}
