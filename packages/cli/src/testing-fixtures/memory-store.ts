/** An in-memory `CliStore` over fixed synthetic rollouts (for the command tests). */
import type { SyntheticRollout } from '@agent-canary/server/testing';
import type { ActionOutcome, CliStore, ManualAction } from '../store.js';

/** A read-mostly in-memory `CliStore` over fixed rollouts; actions follow `onAct`. */
export function memoryStore(
  rollouts: readonly SyntheticRollout[],
  onAct: (rolloutId: string, action: ManualAction) => ActionOutcome = () => ({ accepted: true, reason: 'ok' }),
): CliStore & { closed: number } {
  const byId = new Map(rollouts.map((rollout) => [rollout.summary.id, rollout]));
  return {
    closed: 0,
    async start() {
      throw new Error('memoryStore does not start rollouts');
    },
    async get(rolloutId) {
      return byId.get(rolloutId)?.summary;
    },
    async list() {
      return rollouts.map((rollout) => rollout.summary);
    },
    async act(rolloutId, action) {
      return onAct(rolloutId, action);
    },
    async history(rolloutId) {
      return byId.get(rolloutId)?.history;
    },
    async close() {
      this.closed++;
    },
  };
}
