import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoutingSplit } from '@agent-canary/conventions';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedRoutingAdapter } from './adapter.js';
import { bucketFor, cohortFor } from './bucket.js';
import { EmbeddedProvider } from './provider.js';
import { readRoutingStateSync } from './state-file.js';
import { startEvaluatingChild } from './testing-fixtures/child.js';

const split: RoutingSplit = {
  flagKey: 'agent-release',
  rolloutId: 'r1',
  canaryRelease: 'v2',
  stableRelease: 'v1',
  canaryBasisPoints: 2_000,
  controlBasisPoints: 2_000,
};
const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
const dirs: string[] = [];
let domain = 0;

afterEach(async () => {
  await OpenFeature.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ac-routing-'));
  dirs.push(dir);
  return join(dir, 'routing.json');
}

async function clientFor(provider: EmbeddedProvider) {
  const name = `routing-test-${domain++}`;
  await OpenFeature.setProviderAndWait(name, provider);
  return OpenFeature.getClient(name);
}

describe('EmbeddedProvider (in-process, real OpenFeature SDK)', () => {
  it('resolves the release per sticky cohort, with variant, reason and metadata', async () => {
    const adapter = new EmbeddedRoutingAdapter();
    await adapter.apply(split);
    const client = await clientFor(new EmbeddedProvider({ adapter }));
    const counts = { canary: 0, control: 0, stable: 0 };
    for (const targetingKey of users) {
      const details = await client.getStringDetails('agent-release', 'fallback', { targetingKey });
      const cohort = cohortFor(bucketFor('agent-release', targetingKey), split);
      counts[cohort]++;
      expect(details).toMatchObject({
        value: cohort === 'canary' ? 'v2' : 'v1',
        variant: cohort,
        reason: 'SPLIT',
        flagMetadata: { cohort, rolloutId: 'r1', release: cohort === 'canary' ? 'v2' : 'v1' },
      });
    }
    expect(counts.canary).toBeGreaterThan(40);
    expect(counts.control).toBeGreaterThan(40);
    expect(counts.stable).toBeGreaterThan(160);
  });

  it('serves stable without a targeting key, and the default for unknown flags or other types', async () => {
    const adapter = new EmbeddedRoutingAdapter();
    await adapter.apply(split);
    const client = await clientFor(new EmbeddedProvider({ adapter }));
    expect(await client.getStringDetails('agent-release', 'fallback')).toMatchObject({
      value: 'v1',
      variant: 'stable',
      reason: 'DEFAULT',
    });
    expect(await client.getStringDetails('other-flag', 'fallback', { targetingKey: 'u' })).toMatchObject({
      value: 'fallback',
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    });
    expect(await client.getBooleanDetails('agent-release', false, { targetingKey: 'u' })).toMatchObject({
      value: false,
      errorCode: 'TYPE_MISMATCH',
    });
  });

  it('sees a rollback at once and emits PROVIDER_CONFIGURATION_CHANGED', async () => {
    const adapter = new EmbeddedRoutingAdapter();
    await adapter.apply(split);
    const client = await clientFor(new EmbeddedProvider({ adapter }));
    const changed: string[][] = [];
    client.addHandler(ProviderEvents.ConfigurationChanged, (event) => changed.push(event?.flagsChanged ?? []));
    const canaryUser = users.find((u) => cohortFor(bucketFor('agent-release', u), split) === 'canary') as string;
    expect(await client.getStringValue('agent-release', 'x', { targetingKey: canaryUser })).toBe('v2');
    await adapter.apply({ ...split, canaryBasisPoints: 0, controlBasisPoints: 0 });
    expect(await client.getStringValue('agent-release', 'x', { targetingKey: canaryUser })).toBe('v1');
    expect(changed).toEqual([['agent-release']]);
  });
});

describe('EmbeddedRoutingAdapter + EmbeddedProvider over a state file', () => {
  it('writes atomically with a version counter, idempotently, and reads back', async () => {
    const path = tempFile();
    const adapter = new EmbeddedRoutingAdapter({ path, clock: () => 42 });
    const first = await adapter.apply(split);
    expect(first).toMatchObject({ acknowledged: true, attempts: 1, version: 1, acknowledgedAtMillis: 42 });
    const inode = statSync(path).ino;
    const again = await adapter.apply(split);
    expect(again.version).toBe(1);
    expect(statSync(path).ino).toBe(inode);
    const wider = await adapter.apply({ ...split, canaryBasisPoints: 5_000, controlBasisPoints: 5_000 });
    expect(wider.version).toBe(2);
    expect(statSync(path).ino).not.toBe(inode);
    expect(readRoutingStateSync(path)).toMatchObject({
      version: 2,
      flags: { 'agent-release': { canaryBasisPoints: 5_000, version: 2 } },
    });
    expect(await new EmbeddedRoutingAdapter({ path }).read('agent-release')).toMatchObject({
      canaryBasisPoints: 5_000,
    });
  });

  it('reports a file it cannot read as a RoutingError naming it, and does not acknowledge writes over it', async () => {
    const path = tempFile();
    writeFileSync(path, '{"flags": "edited by hand"}');
    const adapter = new EmbeddedRoutingAdapter({ path, retry: { maxAttempts: 2, sleep: async () => {} } });
    await expect(adapter.read('agent-release')).rejects.toMatchObject({
      name: 'RoutingError',
      code: 'AGENT_CANARY_ROUTING_FLAG_SHAPE',
      provider: 'embedded',
    });
    expect(await adapter.apply(split)).toMatchObject({ acknowledged: false, attempts: 2 });
  });

  it('re-reads the file lazily at most once per refresh interval, and keeps the last good state on a bad file', async () => {
    const path = tempFile();
    const adapter = new EmbeddedRoutingAdapter({ path });
    await adapter.apply(split);
    let now = 0;
    const provider = new EmbeddedProvider({ path, watch: false, refreshIntervalMillis: 15, monotonicNow: () => now });
    const client = await clientFor(provider);
    const canaryUser = users.find((u) => cohortFor(bucketFor('agent-release', u), split) === 'canary') as string;
    expect(await client.getStringValue('agent-release', 'x', { targetingKey: canaryUser })).toBe('v2');
    await adapter.apply({ ...split, canaryBasisPoints: 0, controlBasisPoints: 0 });
    now = 10;
    // Within the interval: the cached split still answers.
    expect(await client.getStringValue('agent-release', 'x', { targetingKey: canaryUser })).toBe('v2');
    now = 16;
    expect(await client.getStringValue('agent-release', 'x', { targetingKey: canaryUser })).toBe('v1');
    expect(provider.stateVersion).toBe(2);
    writeFileSync(path, '{"half": ');
    now = 40;
    expect(await client.getStringValue('agent-release', 'x', { targetingKey: canaryUser })).toBe('v1');
    expect(provider.stateVersion).toBe(2);
  });

  it('reloads on the fs.watch hint and emits PROVIDER_CONFIGURATION_CHANGED', async () => {
    const path = tempFile();
    const adapter = new EmbeddedRoutingAdapter({ path });
    await adapter.apply(split);
    // A frozen clock: only the watch can trigger the reload.
    const provider = new EmbeddedProvider({ path, monotonicNow: () => 0 });
    const client = await clientFor(provider);
    const changed = new Promise<string[]>((resolve) =>
      client.addHandler(ProviderEvents.ConfigurationChanged, (event) => resolve(event?.flagsChanged ?? [])),
    );
    await adapter.apply({ ...split, canaryBasisPoints: 0, controlBasisPoints: 0 });
    expect(await changed).toEqual(['agent-release']);
    expect(provider.stateVersion).toBe(2);
  });

  it('a separate agent process sees the rollback', async () => {
    const path = tempFile();
    const adapter = new EmbeddedRoutingAdapter({ path });
    await adapter.apply(split);
    const canaryUsers = users.filter((u) => cohortFor(bucketFor('agent-release', u), split) === 'canary').slice(0, 3);
    const child = startEvaluatingChild(path, 'agent-release', canaryUsers);
    try {
      const ready = await child.next((m) => m.type === 'ready');
      expect(ready).toEqual({ type: 'ready', values: Object.fromEntries(canaryUsers.map((u) => [u, 'v2|canary'])) });
      await adapter.apply({ ...split, canaryBasisPoints: 0, controlBasisPoints: 0 });
      for (const key of canaryUsers) {
        expect(await child.next((m) => m.type === 'change' && m.key === key)).toMatchObject({
          value: 'v1',
          variant: 'stable',
        });
      }
    } finally {
      await child.stop();
    }
  });
});
