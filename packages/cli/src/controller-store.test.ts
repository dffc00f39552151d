import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import { describe, expect, it } from 'vitest';
import { controllerStoreOpener } from './controller-store.js';

describe('controllerStoreOpener history', () => {
  it('reads each transition split from the store, not from its label', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'agent-canary-history-')), 's.db');
    const store = new RolloutStore({ path });
    const controller = new RolloutController({
      store,
      routing: new InMemoryRoutingAdapter(),
      gate: { evaluate: () => Promise.reject(new Error('not evaluated')) },
    });
    await controller.start({ flagKey: 'f', canaryRelease: 'v2', stableRelease: 'v1', id: 'r-1' }, 'ana');
    const record = store.getRollout('r-1');
    if (!record) throw new Error('no rollout');
    // A label that encodes no split: only the stored basis points can give 12.34%.
    store.commit({
      rolloutId: 'r-1',
      state: { ...record.state, canaryBasisPoints: 1_234, controlBasisPoints: 1_000, updatedAtMillis: Date.now() },
      transition: {
        atMillis: Date.now(),
        from: 'canary@5%',
        to: 'custom',
        reason: 'test',
        actor: 'ana',
        trigger: 'tick',
      },
    });
    store.close();

    const cli = await controllerStoreOpener()(path, {});
    const history = await cli.history('r-1');
    await cli.close();
    expect(history?.transitions.map((t) => [t.to, t.canaryPercent, t.controlPercent])).toEqual([
      ['canary@5%', 5, 5],
      ['custom', 12.34, 10],
    ]);
  });
});
