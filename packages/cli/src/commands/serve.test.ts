import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bucketFor, cohortFor } from '@agent-canary/routing';
import { splitFromFlagdFlag } from '@agent-canary/routing-flagd';
import { FlagdProvider } from '@openfeature/flagd-provider';
import { type Logger, OpenFeature } from '@openfeature/server-sdk';
import { describe, expect, it } from 'vitest';
import { controllerStoreOpener } from '../controller-store.js';
import { EXIT_CODE } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { run } from '../program.js';
import { cliRoutingFactory } from '../routing.js';

const TOKEN = 'serve-cli-test-token-0123456789';

function setup(env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'agent-canary-serve-cli-'));
  const out = { stdout: '', stderr: '' };
  let printed: (() => void) | undefined;
  const firstOutput = new Promise<void>((resolve) => {
    printed = resolve;
  });
  const io: CliIo = {
    stdout: (text) => {
      out.stdout += text;
      printed?.();
    },
    stderr: (text) => {
      out.stderr += text;
    },
    env,
    isTTY: false,
    cwd,
  };
  return { cwd, out, io, firstOutput };
}

/** A TCP port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A user in the canary at the first step (5% canary, 5% control). */
function canaryUserAt5Percent(flagKey: string): string {
  for (let i = 0; ; i++) {
    if (cohortFor(bucketFor(flagKey, `user-${i}`), { canaryBasisPoints: 500, controlBasisPoints: 500 }) === 'canary')
      return `user-${i}`;
  }
}

describe('serve', () => {
  it('starts the definition rollout on flagd, serves OTLP and the API, and stops on shutdown', async () => {
    const { cwd, out, io, firstOutput } = setup({ AGENT_CANARY_API_TOKEN: TOKEN });
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      'rolloutId: r-serve\nflagKey: support\ncanaryRelease: v2\nstableRelease: v1\n' +
        'routing: { provider: flagd, options: { path: flags.json } }\n',
    );
    const shutdown = new AbortController();
    const serving = run(['serve', '-c', 'rollout.yaml', '--port', '0', '--store', 's.db', '--monitor', '--json'], io, {
      shutdown: shutdown.signal,
    });
    await Promise.race([firstOutput, serving]);
    const listening = JSON.parse(out.stdout);
    expect(listening).toMatchObject({
      ok: true,
      routing: 'flagd',
      rolloutId: 'r-serve',
      phase: 'canary',
      monitor: true,
    });
    expect(listening.otlpTracesUrl).toBe(`${listening.url}/v1/traces`);

    const flags = JSON.parse(readFileSync(join(cwd, 'flags.json'), 'utf8'));
    expect(splitFromFlagdFlag('support', flags.flags.support)).toMatchObject({ canaryBasisPoints: 500 });

    const unauthorized = await fetch(`${listening.url}/v1/rollouts/r-serve`);
    expect(unauthorized.status).toBe(401);
    const status = await fetch(`${listening.url}/v1/rollouts/r-serve`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ rolloutId: 'r-serve', phase: 'canary' });
    const traces = await fetch(listening.otlpTracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [] }),
    });
    expect(traces.status).toBe(200);

    shutdown.abort();
    expect(await serving).toBe(EXIT_CODE.ok);
    await expect(fetch(`${listening.url}/healthz`)).rejects.toThrow();

    // A second serve resumes the rollout from the store instead of starting another one.
    const again = setup({ AGENT_CANARY_API_TOKEN: TOKEN, AGENT_CANARY_FLAGD_FILE: join(cwd, 'flags.json') });
    const stop = new AbortController();
    const resumed = run(
      ['serve', '--routing', 'flagd', '--port', '0', '--store', join(cwd, 's.db'), '--json'],
      again.io,
      {
        shutdown: stop.signal,
      },
    );
    await Promise.race([again.firstOutput, resumed]);
    expect(JSON.parse(again.out.stdout)).toMatchObject({ rolloutId: 'r-serve', phase: 'canary' });
    stop.abort();
    expect(await resumed).toBe(EXIT_CODE.ok);

    const openStore = controllerStoreOpener();
    const status2 = setup();
    expect(await run(['rollout', 'status', 'r-serve', '--store', join(cwd, 's.db')], status2.io, { openStore })).toBe(
      EXIT_CODE.ok,
    );
    expect(status2.out.stdout).toContain('state     canary');
  });

  it('serves flagd sync mode: the real flagd provider gets the split, and a rollback by the CLI is pushed to it', async () => {
    const { cwd, out, io, firstOutput } = setup({ AGENT_CANARY_API_TOKEN: TOKEN });
    const syncPort = await freePort();
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      'rolloutId: r-sync\nflagKey: support\ncanaryRelease: v2\nstableRelease: v1\n' +
        `routing: { provider: flagd, options: { path: flags.json, mode: sync, syncPort: ${syncPort} } }\n`,
    );
    const shutdown = new AbortController();
    const serving = run(['serve', '-c', 'rollout.yaml', '--port', '0', '--store', 's.db', '--json'], io, {
      shutdown: shutdown.signal,
    });
    await Promise.race([firstOutput, serving]);
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: true, routing: 'flagd', rolloutId: 'r-sync', phase: 'canary' });
    const silent: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
    OpenFeature.setLogger(silent);
    await OpenFeature.setProviderAndWait(
      'serve-sync',
      new FlagdProvider({ resolverType: 'in-process', host: '127.0.0.1', port: syncPort }, silent),
    );
    const client = OpenFeature.getClient('serve-sync');
    const user = canaryUserAt5Percent('support');
    try {
      expect((await client.getStringDetails('support', 'x', { targetingKey: user })).variant).toBe('canary');
      // A separate, short-lived command writes the rollback to the file; serve's sync server pushes it.
      const cli = setup();
      const openStore = controllerStoreOpener({ routing: cliRoutingFactory({ env: {}, cwd }) });
      const rollback = ['rollout', 'rollback', 'r-sync', '--reason', 'bad', '-c', 'rollout.yaml', '--store', 's.db'];
      expect(await run(rollback, { ...cli.io, cwd }, { openStore })).toBe(EXIT_CODE.ok);
      const deadline = Date.now() + 10_000;
      while ((await client.getStringDetails('support', 'x', { targetingKey: user })).variant !== 'stable') {
        if (Date.now() > deadline) throw new Error('the rollback did not reach the provider');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await OpenFeature.clearProviders();
      shutdown.abort();
    }
    expect(await serving).toBe(EXIT_CODE.ok);
  });

  it('refuses to serve the controller API without a token (exit 2)', async () => {
    const { cwd, out, io } = setup({ AGENT_CANARY_ROUTING_FILE: 'routing.json' });
    expect(await run(['serve', '--port', '0', '--store', join(cwd, 's.db')], io)).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('apiToken');
  });

  it('restarts cleanly on a store whose fixed-id rollout already ended, and says how to start a new one', async () => {
    const { cwd, out, io, firstOutput } = setup({ AGENT_CANARY_API_TOKEN: TOKEN });
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      'rolloutId: r-fixed\nflagKey: support\ncanaryRelease: v2\nstableRelease: v1\n' +
        'routing: { provider: embedded, options: { path: routing.json } }\n',
    );
    const shutdown = new AbortController();
    const serving = run(['serve', '-c', 'rollout.yaml', '--port', '0', '--store', 's.db', '--json'], io, {
      shutdown: shutdown.signal,
    });
    await Promise.race([firstOutput, serving]);
    const { url } = JSON.parse(out.stdout) as { url: string };
    const rolledBack = await fetch(`${url}/v1/rollouts/r-fixed/rollback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'ana', reason: 'bad answers' }),
    });
    expect(rolledBack.status).toBe(200);
    shutdown.abort();
    expect(await serving).toBe(EXIT_CODE.ok);

    for (const json of [true, false]) {
      const again = setup({ AGENT_CANARY_API_TOKEN: TOKEN });
      const stop = new AbortController();
      const args = ['serve', '-c', join(cwd, 'rollout.yaml'), '--port', '0', '--store', join(cwd, 's.db')];
      const restarted = run(json ? [...args, '--json'] : args, again.io, { shutdown: stop.signal });
      await Promise.race([again.firstOutput, restarted]);
      if (json) {
        const listening = JSON.parse(again.out.stdout) as Record<string, unknown>;
        expect(listening).toMatchObject({ ok: true, rolloutId: 'r-fixed', phase: 'rolled_back', ended: true });
        expect(listening['note']).toMatch(/rollout r-fixed is over \(rolled_back at .*\).*new rolloutId/);
        // The ended rollout is still there to look at.
        const status = await fetch(`${listening['url']}/v1/rollouts/r-fixed`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        expect(await status.json()).toMatchObject({ phase: 'rolled_back' });
      } else {
        expect(again.out.stdout).toMatch(/rollout {11}rollout r-fixed is over/);
      }
      stop.abort();
      expect(await restarted, again.out.stderr).toBe(EXIT_CODE.ok);
    }
  });

  it("applies the definition's serve section below the environment, and the snapshot interval", async () => {
    const { cwd, out, io, firstOutput } = setup({
      AGENT_CANARY_API_TOKEN: TOKEN,
      AGENT_CANARY_MAX_OBJECTS_PER_REQUEST: '100000',
    });
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      'rolloutId: r-limits\nflagKey: support\ncanaryRelease: v2\nstableRelease: v1\n' +
        'routing: { provider: embedded, options: { path: routing.json } }\n' +
        'serve: { maxSpansPerRequest: 2, maxObjectsPerRequest: 1, bodyTimeout: 2s, snapshotInterval: 100ms }\n',
    );
    const shutdown = new AbortController();
    const serving = run(
      ['serve', '-c', 'rollout.yaml', '--port', '0', '--store', 's.db', '--snapshot', 'b.json', '--json'],
      io,
      { shutdown: shutdown.signal },
    );
    await Promise.race([firstOutput, serving]);
    const { otlpTracesUrl } = JSON.parse(out.stdout) as { otlpTracesUrl: string };
    const span = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      startTimeUnixNano: '1800000000000000000',
      endTimeUnixNano: '1800000000100000000',
    };
    const post = (count: number) =>
      fetch(otlpTracesUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: count }, () => span) }] }],
        }),
      });
    // maxSpansPerRequest from the file; maxObjectsPerRequest from the environment, above the file's 1.
    expect((await post(2)).status).toBe(200);
    const tooMany = await post(3);
    expect(tooMany.status).toBe(413);
    expect(await tooMany.json()).toMatchObject({ message: expect.stringMatching(/more than 2 spans/) });
    // The snapshot is written every 100 ms, not only at shutdown.
    const deadline = Date.now() + 5000;
    while (!existsSync(join(cwd, 'b.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(join(cwd, 'b.json'))).toBe(true);
    shutdown.abort();
    expect(await serving).toBe(EXIT_CODE.ok);
  });

  it('refuses to open the receiver beyond loopback without an ingest token (exit 2), and requires it once set', async () => {
    const refused = setup({ AGENT_CANARY_API_TOKEN: TOKEN, AGENT_CANARY_ROUTING_FILE: 'routing.json' });
    const code = await run(['serve', '--host', '0.0.0.0', '--port', '0', '--store', 's.db', '--json'], refused.io);
    expect(code).toBe(EXIT_CODE.usage);
    expect(JSON.parse(refused.out.stdout)).toMatchObject({
      ok: false,
      error: { code: 'invalid_config', message: expect.stringMatching(/ingestToken.*AGENT_CANARY_INGEST_TOKEN/) },
    });

    const ingestToken = 'ingest-cli-token-0123456789';
    const { out, io, firstOutput } = setup({
      AGENT_CANARY_API_TOKEN: TOKEN,
      AGENT_CANARY_INGEST_TOKEN: ingestToken,
      AGENT_CANARY_ROUTING_FILE: join(refused.cwd, 'routing.json'),
    });
    const shutdown = new AbortController();
    const serving = run(
      ['serve', '--host', '0.0.0.0', '--port', '0', '--store', join(refused.cwd, 's.db'), '--json'],
      io,
      { shutdown: shutdown.signal },
    );
    await Promise.race([firstOutput, serving]);
    const listening = JSON.parse(out.stdout) as { port?: number; url: string; ingestAuth: boolean };
    expect(listening.ingestAuth).toBe(true);
    const port = new URL(listening.url).port;
    const body = JSON.stringify({ resourceSpans: [] });
    const anonymous = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(anonymous.status).toBe(401);
    const authorized = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ingestToken}` },
      body,
    });
    expect(authorized.status).toBe(200);
    // The API token is not an ingest token.
    const apiToken = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body,
    });
    expect(apiToken.status).toBe(401);
    shutdown.abort();
    expect(await serving).toBe(EXIT_CODE.ok);
  });
});
