import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, RolloutStore, STORE_SCHEMA_VERSION } from '@agent-canary/controller';
import { ConfigError } from '@agent-canary/conventions';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import { gateResult, ScriptedGate } from '@agent-canary/gate/testing';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRelease,
  currentStableRelease,
  listReleases,
  markRelease,
  releaseConfigReader,
  showRelease,
} from './registry.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const stores: RolloutStore[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fixture() {
  const store = new RolloutStore();
  stores.push(store);
  let now = T0;
  const clock = () => now;
  const controller = new RolloutController({
    store,
    routing: new InMemoryRoutingAdapter(),
    gate: new ScriptedGate(() => gateResult()),
    clock,
    env: {},
  });
  return { store, controller, clock, advance: (millis: number) => (now += millis) };
}

describe('release registry', () => {
  it('registers a release with its prompt and model configuration', () => {
    const { store, clock } = fixture();
    const record = createRelease(
      store,
      {
        id: 'v1',
        promptHash: 'sha256:aa11',
        prompt: { name: 'support-agent', version: 3, label: 'production' },
        model: 'gpt-4.1-mini',
        provider: 'openai',
        parameters: { temperature: 0.2, max_tokens: 800 },
        description: 'first release',
        status: 'stable',
      },
      { clock, actor: 'ana' },
    );
    expect(record).toMatchObject({
      id: 'v1',
      promptHash: 'sha256:aa11',
      model: 'gpt-4.1-mini',
      parameters: { temperature: 0.2, max_tokens: 800 },
      createdAtMillis: T0,
      createdBy: 'ana',
      status: 'stable',
    });
    expect(releaseConfigReader(store).getReleaseConfig('v1')).toEqual({
      id: 'v1',
      promptHash: 'sha256:aa11',
      prompt: { name: 'support-agent', version: 3, label: 'production' },
      model: 'gpt-4.1-mini',
      provider: 'openai',
      parameters: { temperature: 0.2, max_tokens: 800 },
    });
    expect(releaseConfigReader(store).getReleaseConfig('nope')).toBeUndefined();
  });

  it('refuses invalid options and duplicate ids with the field path', () => {
    const { store } = fixture();
    createRelease(store, { id: 'v1', promptHash: 'h', model: 'm' });
    expect(() => createRelease(store, { id: 'v1', promptHash: 'h', model: 'm' })).toThrow(
      /at id: expected an id not registered/,
    );
    expect(() => createRelease(store, { id: 'v2', promptHash: '', model: 'm' })).toThrow(ConfigError);
    expect(() =>
      createRelease(store, { id: 'v2', promptHash: 'h', model: 'm', parameters: { t: Number.NaN } }),
    ).toThrow(/parameters\.t/);
    expect(() => createRelease(store, { id: 'bad id', promptHash: 'h', model: 'm' })).toThrow(/at id/);
  });

  it('derives the status history from rollouts: canary, then stable; the old stable retires', async () => {
    const { store, controller, clock, advance } = fixture();
    createRelease(store, { id: 'v1', promptHash: 'h1', model: 'm', status: 'stable' }, { clock });
    advance(MIN);
    createRelease(store, { id: 'v2', promptHash: 'h2', model: 'm' }, { clock });
    expect(showRelease(store, 'v2')?.status).toBe('draft');
    advance(MIN);
    await controller.start({ id: 'r1', flagKey: 'agent', canaryRelease: 'v2', stableRelease: 'v1' });
    expect(showRelease(store, 'v2')?.status).toBe('canary');
    advance(MIN);
    await controller.promote({ actor: 'ana', reason: 'looks good' });
    const v2 = showRelease(store, 'v2');
    expect(v2?.statusHistory.map((change) => change.status)).toEqual(['draft', 'canary', 'stable']);
    expect(v2?.statusHistory[2]).toMatchObject({ rolloutId: 'r1', actor: 'controller', atMillis: T0 + 3 * MIN });
    expect(showRelease(store, 'v1')?.statusHistory.map((change) => change.status)).toEqual(['stable', 'retired']);
    expect(listReleases(store).map((release) => [release.id, release.status])).toEqual([
      ['v2', 'stable'],
      ['v1', 'retired'],
    ]);
    expect(listReleases(store, { status: 'stable' }).map((release) => release.id)).toEqual(['v2']);
    expect(currentStableRelease(store, 'agent')).toEqual({ release: 'v2', sinceMillis: T0 + 3 * MIN, rolloutId: 'r1' });
  });

  it('records a rollback, and a release marked stable by hand wins over an older promotion', async () => {
    const { store, controller, clock, advance } = fixture();
    createRelease(store, { id: 'v1', promptHash: 'h1', model: 'm', status: 'stable' }, { clock });
    createRelease(store, { id: 'v2', promptHash: 'h2', model: 'm' }, { clock });
    advance(MIN);
    await controller.start({ id: 'r1', flagKey: 'agent', canaryRelease: 'v2', stableRelease: 'v1' });
    advance(MIN);
    await controller.rollback({ actor: 'bo', reason: 'refusals up' });
    expect(showRelease(store, 'v2')?.status).toBe('rolled_back');
    expect(showRelease(store, 'v1')?.status).toBe('stable');
    expect(currentStableRelease(store, 'agent')?.release).toBe('v1');
    advance(MIN);
    createRelease(store, { id: 'v3', promptHash: 'h3', model: 'm' }, { clock });
    expect(markRelease(store, 'v3', { status: 'stable', reason: 'hotfix deployed by hand' }, { clock })?.status).toBe(
      'stable',
    );
    expect(currentStableRelease(store, 'agent')?.release).toBe('v3');
    expect(markRelease(store, 'missing', { status: 'stable', reason: 'x' })).toBeUndefined();
  });

  it('migrates a version-1 store file and keeps its rollouts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ac-registry-'));
    dirs.push(dir);
    const path = join(dir, 'v1.db');
    const raw = new Database(path);
    raw.exec(`CREATE TABLE rollouts (id TEXT PRIMARY KEY, flag_key TEXT NOT NULL, phase TEXT NOT NULL, config_json TEXT NOT NULL,
      state_json TEXT NOT NULL, gate_state_json TEXT, applied_split_json TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
    // Later migrations alter the audit log, so the version-1 file needs it too.
    raw.exec(`CREATE TABLE transitions (rollout_id TEXT NOT NULL, seq INTEGER NOT NULL, at_millis INTEGER NOT NULL,
      from_state TEXT NOT NULL, to_state TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL, trigger TEXT NOT NULL,
      evidence_json TEXT, PRIMARY KEY (rollout_id, seq))`);
    // Reading a rollout looks for its unfinished routing writes: the version-1 outbox.
    raw.exec(
      'CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT NOT NULL, effect_json TEXT NOT NULL)',
    );
    raw.pragma('user_version = 1');
    raw.close();
    const store = new RolloutStore({ path });
    stores.push(store);
    expect(store.schemaVersion).toBe(STORE_SCHEMA_VERSION);
    expect(STORE_SCHEMA_VERSION).toBe(3);
    createRelease(store, { id: 'v1', promptHash: 'h', model: 'm' });
    expect(listReleases(store).map((release) => release.id)).toEqual(['v1']);
  });
});
