/**
 * flagd sync mode end to end: the controller's flagd adapter writes the flag file and a
 * FlagdSyncServer pushes it over flagd's own gRPC sync protocol to the real
 * `@openfeature/flagd-provider` 0.16.1 (in-process resolver, `host`/`port`, no flagd daemon,
 * no file on the app side) through the real OpenFeature SDK, in this process and in app
 * replica processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoutingSplit } from '@agent-canary/conventions';
import { resolveRelease } from '@agent-canary/instrumentation';
import { bucketFor, cohortFor } from '@agent-canary/routing';
import { createFlagdAdapter, type FlagdSyncServer, startFlagdSyncServer } from '@agent-canary/routing-flagd';
import { FlagdProvider } from '@openfeature/flagd-provider';
import { type Client, type Logger, OpenFeature } from '@openfeature/server-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Replica, startSyncReplica } from '../packages/routing-flagd/src/testing-fixtures/replica.js';

const FLAG = 'support-agent.release';
const USERS = Array.from({ length: 2000 }, (_, i) => `user-${i}`);

function split(canaryBasisPoints: number, controlBasisPoints = 0, rolloutId = 'rollout-7'): RoutingSplit {
  return {
    flagKey: FLAG,
    rolloutId,
    canaryRelease: 'prompt-v2',
    stableRelease: 'prompt-v1',
    canaryBasisPoints,
    controlBasisPoints,
  };
}

/** Users in the canary at 50%: still canary at any wider split, stable after a rollback. */
const CANARY_USERS = USERS.filter((user) => cohortFor(bucketFor(FLAG, user), split(5000)) === 'canary').slice(0, 3);

// The provider logs reconnection attempts; keep them out of the test output but available.
const logged: string[] = [];
const logger: Logger = {
  error: (...args: unknown[]) => logged.push(args.map(String).join(' ')),
  warn: (...args: unknown[]) => logged.push(args.map(String).join(' ')),
  info: () => {},
  debug: () => {},
};

let dir: string;
let path: string;
const cleanup: (() => unknown)[] = [];

beforeAll(() => {
  OpenFeature.setLogger(logger);
  dir = mkdtempSync(join(tmpdir(), 'routing-flagd-sync-'));
});

afterEach(async () => {
  // Providers first: a flagd provider closed while its server is gone keeps a reconnect timer running.
  await OpenFeature.clearProviders();
  for (const step of cleanup.splice(0).reverse()) await step();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A controller side serving `path`: sync server (on `port`, 0 = any free one) and the adapter writing to it. */
async function controller(
  port = 0,
): Promise<{ sync: FlagdSyncServer; routing: ReturnType<typeof createFlagdAdapter> }> {
  const sync = await startFlagdSyncServer({ path, port });
  const routing = createFlagdAdapter({ path, sync });
  cleanup.push(() => routing.close());
  return { sync, routing };
}

/** The provider settings docs/routing/flagd.md recommends for sync mode. */
const RECOMMENDED = { retryBackoffMaxMs: 1000 } as const;

async function connect(
  domain: string,
  port: number,
  options: { retryBackoffMaxMs?: number; streamDeadlineMs?: number } = {},
): Promise<Client> {
  const provider = new FlagdProvider({ resolverType: 'in-process', host: '127.0.0.1', port, ...options }, logger);
  await OpenFeature.setProviderAndWait(domain, provider);
  return OpenFeature.getClient(domain);
}

async function variantOf(client: Client, user: string): Promise<string | undefined> {
  return (await client.getStringDetails(FLAG, 'fallback', { targetingKey: user })).variant;
}

async function eventually(check: () => Promise<boolean>, timeoutMillis = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`not reached within ${timeoutMillis} ms; provider log: ${logged.join(' | ')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('flagd sync mode with the real flagd provider', () => {
  it('assigns every user the cohort of our bucketing, the release of that cohort and the rollout id', async () => {
    path = join(dir, 'bucketing.json');
    const { sync, routing } = await controller();
    await routing.apply(split(2000, 2000));
    const client = await connect('sync-bucketing', sync.port);
    const list = await Promise.all(
      USERS.map((user) => resolveRelease(client, FLAG, user, { defaultRelease: 'fallback' })),
    );
    USERS.forEach((user, i) => {
      const expected = cohortFor(bucketFor(FLAG, user), split(2000, 2000));
      expect(list[i]).toMatchObject({
        flagKey: FLAG,
        cohort: expected,
        release: expected === 'canary' ? 'prompt-v2' : 'prompt-v1',
        rolloutId: 'rollout-7',
      });
    });
  });

  it('switches every app replica connected at once when the rollback is written', async () => {
    path = join(dir, 'replicas.json');
    const { sync, routing } = await controller();
    await routing.apply(split(5000));
    const replicas: Replica[] = Array.from({ length: 3 }, () =>
      startSyncReplica({ port: sync.port, flagKey: FLAG, subjects: CANARY_USERS }),
    );
    cleanup.push(() => Promise.all(replicas.map((replica) => replica.stop())));
    for (const replica of replicas) {
      const ready = await replica.next((message) => message.type === 'ready', 60_000);
      expect(ready.type === 'ready' && Object.values(ready.values)).toEqual(CANARY_USERS.map(() => 'prompt-v2|canary'));
    }
    expect(sync.status().streams).toBe(3);
    await routing.apply(split(0));
    for (const replica of replicas) {
      for (const user of CANARY_USERS) {
        const change = await replica.next((message) => message.type === 'change' && message.key === user);
        expect(change).toMatchObject({ value: 'prompt-v1', variant: 'stable' });
      }
    }
  });

  it('gives a provider that connects late the current split first', async () => {
    path = join(dir, 'late.json');
    const { sync, routing } = await controller();
    await routing.apply(split(10_000, 0, 'rollout-1'));
    await routing.apply(split(0, 0, 'rollout-2'));
    const client = await connect('sync-late', sync.port);
    // The first evaluation after the provider is ready already sees the last write.
    const details = await client.getStringDetails(FLAG, 'fallback', { targetingKey: CANARY_USERS[0] as string });
    expect(details).toMatchObject({ value: 'prompt-v1', variant: 'stable', flagMetadata: { rolloutId: 'rollout-2' } });
  });

  it('resyncs providers after a controller restart, with a rollback written while it was down', async () => {
    path = join(dir, 'restart.json');
    const first = await controller();
    const port = first.sync.port;
    await first.routing.apply(split(5000));
    const user = CANARY_USERS[0] as string;
    const client = await connect('sync-restart', port, RECOMMENDED);
    expect(await variantOf(client, user)).toBe('canary');
    await first.routing.close();
    // Down: the provider keeps evaluating the last split it received.
    expect(await variantOf(client, user)).toBe('canary');
    // The restarted controller rolls back before its sync server is up again.
    await createFlagdAdapter({ path }).apply(split(0));
    const second = await controller(port);
    expect(second.sync.port).toBe(port);
    await eventually(async () => (await variantOf(client, user)) === 'stable');
    // And keeps getting pushes from the new server.
    await second.routing.apply(split(5000, 0, 'rollout-8'));
    await eventually(async () => (await variantOf(client, user)) === 'canary');
  });

  it('keeps pushing to a provider across its periodic stream renewals', async () => {
    path = join(dir, 'renewal.json');
    const { sync, routing } = await controller();
    await routing.apply(split(5000));
    const user = CANARY_USERS[0] as string;
    // The provider ends its stream at streamDeadlineMs (10 min by default) and reopens it.
    const client = await connect('sync-renewal', sync.port, { ...RECOMMENDED, streamDeadlineMs: 300 });
    expect(await variantOf(client, user)).toBe('canary');
    await routing.apply(split(0));
    await eventually(async () => (await variantOf(client, user)) === 'stable');
    // Past several renewals, a write still reaches it.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await routing.apply(split(5000, 0, 'rollout-9'));
    await eventually(async () => (await variantOf(client, user)) === 'canary');
  });
});
