import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gateResult } from '@agent-canary/gate/testing';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { rolloutStatusOf } from '../driver/status.js';
import { resolveRolloutConfig } from '../rollout/config.js';
import { initialRolloutState } from '../rollout/reducer.js';
import { STORE_SCHEMA_VERSION } from './schema.js';
import { RolloutStore } from './store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function seed(store: RolloutStore, id = 'r1') {
  const config = resolveRolloutConfig({ flagKey: 'agent', canaryRelease: 'v2', stableRelease: 'v1', id }, {});
  const state = initialRolloutState(id, 1_000);
  store.createRollout({ id, flagKey: 'agent', config, state, createdAtMillis: 1_000, updatedAtMillis: 1_000 });
  return { config, state };
}

describe('RolloutStore', () => {
  it('creates a rollout and commits its start in one transaction: all or nothing', () => {
    const store = new RolloutStore();
    const config = resolveRolloutConfig({ flagKey: 'agent', canaryRelease: 'v2', stableRelease: 'v1', id: 'r1' }, {});
    const state = initialRolloutState('r1', 1_000);
    const record = { id: 'r1', flagKey: 'agent', config, state, createdAtMillis: 1_000, updatedAtMillis: 1_000 };
    const started = { ...state, phase: 'canary' as const, canaryBasisPoints: 500, controlBasisPoints: 500 };
    // An effect that cannot be stored fails the start: the rollout is not created either.
    const unstorable = { type: 'applySplit', canaryBasisPoints: 1n } as unknown as never;
    expect(() => store.createRollout(record, { state: started, effects: [unstorable] })).toThrow();
    expect(store.getRollout('r1')).toBeUndefined();
    store.createRollout(record, {
      state: started,
      effects: [{ type: 'applySplit', canaryBasisPoints: 500, controlBasisPoints: 500, reason: 'start' }],
    });
    expect(store.getRollout('r1')?.state.phase).toBe('canary');
    expect(store.pendingEffects('r1')).toHaveLength(1);
    store.close();
  });

  it('migrates a new file to the current schema in WAL mode and reopens it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ac-store-'));
    dirs.push(dir);
    const path = join(dir, 'rollouts.db');
    const store = new RolloutStore({ path });
    expect(store.schemaVersion).toBe(STORE_SCHEMA_VERSION);
    seed(store);
    store.close();
    store.close();
    const raw = new Database(path);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const reopened = new RolloutStore({ path });
    expect(reopened.getRollout('r1')?.config.flagKey).toBe('agent');
    reopened.close();
  });

  it('refuses a file from a newer schema', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ac-store-'));
    dirs.push(dir);
    const path = join(dir, 'future.db');
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => new RolloutStore({ path })).toThrow(/newer than this controller/);
  });

  it('commits state, transition, verdict, manual action and effects together', () => {
    const store = new RolloutStore();
    const { state } = seed(store);
    const next = { ...state, phase: 'canary' as const, updatedAtMillis: 2_000 };
    const gate = gateResult({ evaluatedAtMillis: 2_000 });
    store.commit({
      rolloutId: 'r1',
      state: next,
      gateState: { n: 1 },
      transition: {
        atMillis: 2_000,
        from: 'draft',
        to: 'canary@5%',
        reason: 'go',
        actor: 'ana',
        trigger: 'start',
        evidence: gate,
      },
      verdict: gate,
      manualAction: { atMillis: 2_000, action: 'resume', actor: 'ana', reason: 'why', accepted: true, outcome: 'go' },
      effects: [{ type: 'snapshotPostMortem', reason: 'x' }],
    });
    expect(store.getRollout('r1')).toMatchObject({ state: { phase: 'canary' }, gateState: { n: 1 } });
    expect(store.transitions('r1')).toMatchObject([
      { seq: 1, from: 'draft', to: 'canary@5%', actor: 'ana', evidence: { verdict: 'pass' } },
    ]);
    expect(store.verdicts('r1')).toMatchObject([{ seq: 1, verdict: 'pass' }]);
    expect(store.manualActions('r1')).toMatchObject([{ actor: 'ana', reason: 'why', accepted: true }]);
    expect(store.pendingEffects('r1')).toHaveLength(1);
    expect(store.listRollouts({ activeOnly: true }).map((r) => r.id)).toEqual(['r1']);
    store.close();
  });

  it('rolls the whole commit back when one part fails', () => {
    const store = new RolloutStore();
    const { state } = seed(store);
    expect(() =>
      store.commit({
        rolloutId: 'missing',
        state,
        verdict: gateResult(),
        effects: [{ type: 'snapshotPostMortem', reason: 'x' }],
      }),
    ).toThrow(/no rollout missing/);
    expect(store.verdicts('missing')).toEqual([]);
    expect(store.pendingEffects('missing')).toEqual([]);
    store.close();
  });

  it('keeps the split each transition left in place, and migrates a schema-2 file without inventing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ac-store-'));
    dirs.push(dir);
    const path = join(dir, 'v2.db');
    const old = new RolloutStore({ path });
    const { state } = seed(old);
    old.close();
    // A file written by the schema-2 code: one transition row without the split columns.
    const raw = new Database(path);
    raw.exec('ALTER TABLE transitions DROP COLUMN canary_bp; ALTER TABLE transitions DROP COLUMN control_bp;');
    raw
      .prepare(
        `INSERT INTO transitions (rollout_id, seq, at_millis, from_state, to_state, reason, actor, trigger, evidence_json)
         VALUES ('r1', 1, 2000, 'draft', 'canary@5%', 'go', 'ana', 'start', NULL)`,
      )
      .run();
    raw.pragma('user_version = 2');
    raw.close();

    const store = new RolloutStore({ path });
    expect(store.schemaVersion).toBe(3);
    store.commit({
      rolloutId: 'r1',
      state: { ...state, phase: 'canary', stepIndex: 1, canaryBasisPoints: 2_000, controlBasisPoints: 2_000 },
      transition: {
        atMillis: 3_000,
        from: 'canary@5%',
        to: 'canary@20%',
        reason: 'advance',
        actor: 'controller',
        trigger: 'tick',
      },
    });
    const transitions = store.transitions('r1');
    expect(transitions[0]).not.toHaveProperty('canaryBasisPoints');
    expect(transitions[1]).toMatchObject({ seq: 2, canaryBasisPoints: 2_000, controlBasisPoints: 2_000 });
    store.close();
  });

  it('finds rollouts whose routing write is pending, in any phase, from the state or from the outbox alone', () => {
    const store = new RolloutStore();
    const { state } = seed(store, 'old');
    seed(store, 'new');
    seed(store, 'done');
    // A store written before the state kept `routingPending`: only the outbox says it.
    const rolledBack = { ...state, phase: 'rolled_back' as const, updatedAtMillis: 2_000 };
    store.commit({
      rolloutId: 'old',
      state: rolledBack,
      effects: [{ type: 'applySplit', canaryBasisPoints: 0, controlBasisPoints: 0, reason: 'rolled back' }],
    });
    store.commit({
      rolloutId: 'new',
      state: {
        ...rolledBack,
        rolloutId: 'new',
        routingPending: { canaryBasisPoints: 0, controlBasisPoints: 0, sinceMillis: 2_000, failedAttempts: 3 },
      },
    });
    store.commit({ rolloutId: 'done', state: { ...rolledBack, rolloutId: 'done' } });
    expect(store.listRollouts({ routingPending: true }).map((record) => record.id)).toEqual(['new', 'old']);
    expect(store.getRollout('old')?.routingWritePending).toBe(true);
    expect(rolloutStatusOf(store.getRollout('old')!)).toMatchObject({
      routingPending: true,
      routing: { pending: true },
    });
    expect(rolloutStatusOf(store.getRollout('new')!).routing).toMatchObject({ pending: true, failedAttempts: 3 });
    expect(rolloutStatusOf(store.getRollout('done')!)).toMatchObject({ routingPending: false });
  });
});
