/**
 * One rollout per flag: the checks across the rollouts of a flag that keep a new rollout,
 * or a rollback of an ended one, from hiding or overwriting another rollout's routing.
 */
import { CONTROLLER_ERROR_CODE, ControllerError } from '../errors.js';
import type { RolloutRecord } from '../store/records.js';
import type { RolloutStore } from '../store/store.js';

/**
 * Why a new rollout of `flagKey` may not start: another one is still running
 * (`rolloutActive`), or has a routing write the flag system has not acknowledged
 * (`routingPending`). Undefined when it may start.
 */
export function startRefusal(store: RolloutStore, flagKey: string): ControllerError | undefined {
  const active = store.listRollouts({ activeOnly: true, flagKey });
  if (active.length > 0) {
    return new ControllerError(
      CONTROLLER_ERROR_CODE.rolloutActive,
      `rollout ${active[0]?.id} of flag ${flagKey} is still ${active[0]?.state.phase}; finish or abort it first`,
    );
  }
  const unsettled = store.listRollouts({ routingPending: true, flagKey })[0];
  if (unsettled !== undefined) {
    return new ControllerError(
      CONTROLLER_ERROR_CODE.routingPending,
      `rollout ${unsettled.id} of flag ${flagKey} (${unsettled.state.phase}) has a routing write the flag system has not acknowledged; ` +
        'a controller running it retries until it lands (or re-assert it with a rollback); start the new rollout after that',
    );
  }
  return undefined;
}

/**
 * Why the ended rollout `record` may not be rolled back again: re-asserting its stable
 * split would overwrite the routing of a newer rollout of the flag that is still running.
 * Undefined when nothing newer runs.
 */
export function staleRollbackRefusal(store: RolloutStore, record: RolloutRecord): ControllerError | undefined {
  const newer = store
    .listRollouts({ activeOnly: true, flagKey: record.flagKey })
    .find((other) => other.id !== record.id);
  if (newer === undefined) return undefined;
  return new ControllerError(
    CONTROLLER_ERROR_CODE.rolloutActive,
    `cannot rollback: rollout ${record.id} is ${record.state.phase} and rollout ${newer.id} of flag ${record.flagKey} is ${newer.state.phase}; roll back ${newer.id} instead`,
  );
}
