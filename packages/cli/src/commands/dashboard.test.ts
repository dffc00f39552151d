import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedCanary, type EmbeddedCanary } from '@agent-canary/embedded';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_CODE } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { run } from '../program.js';

const TOKEN = 'dashboard-cli-token-0123456789';

function setup(cwd: string, env: Record<string, string> = {}) {
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
  return { out, io, firstOutput };
}

async function untilTrue(check: () => Promise<boolean>, timeoutMillis = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('dashboard (the embedded default: an app writes the store in its own process)', () => {
  const dirs: string[] = [];
  const apps: EmbeddedCanary[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function embeddedApp(): Promise<{ dir: string; app: EmbeddedCanary }> {
    const dir = mkdtempSync(join(tmpdir(), 'agent-canary-dashboard-cli-'));
    dirs.push(dir);
    const app = await createEmbeddedCanary({
      id: 'emb-1',
      flagKey: 'support',
      stableRelease: 'v1',
      canaryRelease: 'v2',
      stateDir: dir,
      routingRefreshMillis: 0,
      env: {},
    });
    apps.push(app);
    await app.start('alice');
    return { dir, app };
  }

  it('serves the state directory on loopback; a rollback from it reaches the app through routing.json', async () => {
    const { dir, app } = await embeddedApp();
    let canaryUser: string | undefined;
    for (let index = 0; canaryUser === undefined && index < 2000; index++) {
      if ((await app.resolve(`user-${index}`)).cohort === 'canary') canaryUser = `user-${index}`;
    }
    expect(canaryUser).toBeDefined();

    const { out, io, firstOutput } = setup(dir, { AGENT_CANARY_API_TOKEN: TOKEN });
    const shutdown = new AbortController();
    const serving = run(['dashboard', '--store', dir, '--port', '0', '--json'], io, { shutdown: shutdown.signal });
    await Promise.race([firstOutput, serving]);
    const started = JSON.parse(out.stdout) as { url: string; actions: boolean; routing: string; readAccess: string };
    expect(started).toMatchObject({
      ok: true,
      store: join(dir, 'state.db'),
      actions: true,
      routing: 'embedded',
      readAccess: 'open on this machine (loopback only)',
    });
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const list = (await (await fetch(`${started.url}dashboard/api/rollouts`)).json()) as { rollouts: { id: string }[] };
    expect(list.rollouts.map((rollout) => rollout.id)).toEqual(['emb-1']);
    expect(await (await fetch(started.url)).text()).toContain('data-actions="on"');

    const act = (action: string) =>
      fetch(`${started.url}v1/rollouts/emb-1/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ actor: 'ana', reason: 'refund answers are wrong' }),
      });
    const rollback = await act('rollback');
    expect(rollback.status).toBe(200);
    expect(await rollback.json()).toMatchObject({ ok: true, status: { phase: 'rolled_back', canaryBasisPoints: 0 } });
    // The app's controller reads the store; its provider reads the routing file the dashboard wrote.
    expect(app.status().phase).toBe('rolled_back');
    await untilTrue(async () => (await app.resolve(canaryUser ?? '')).cohort === 'stable');

    const refused = await act('promote');
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({
      ok: false,
      error: { message: 'rollout emb-1 already ended (rolled_back); `rollout rollback` re-applies the stable split' },
    });
    expect(app.store.manualActions('emb-1').map((entry) => `${entry.action}:${entry.accepted}:${entry.actor}`)).toEqual(
      ['rollback:true:ana', 'promote:false:ana'],
    );

    shutdown.abort();
    expect(await serving).toBe(EXIT_CODE.ok);
  });

  it('is read-only without an API token, and says why', async () => {
    const { dir } = await embeddedApp();
    const { out, io, firstOutput } = setup(dir);
    const shutdown = new AbortController();
    const serving = run(['dashboard', '--store', join(dir, 'state.db'), '--port', '0'], io, {
      shutdown: shutdown.signal,
    });
    await Promise.race([firstOutput, serving]);
    expect(out.stdout).toContain('actions  off: no API token (--token or AGENT_CANARY_API_TOKEN)');
    const url = /on (http:\/\/\S+)\n/.exec(out.stdout)?.[1] ?? '';
    expect(await (await fetch(url)).text()).toContain('data-actions="off"');
    expect((await fetch(`${url}dashboard/api/rollouts/emb-1`)).status).toBe(200);
    const action = await fetch(`${url}v1/rollouts/emb-1/pause`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'ana', reason: 'x' }),
    });
    expect(action.status).toBe(404);
    shutdown.abort();
    expect(await serving).toBe(EXIT_CODE.ok);
  });

  it('exits 3 when there is no store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-canary-dashboard-cli-'));
    dirs.push(dir);
    const { out, io } = setup(dir);
    expect(await run(['dashboard', '--store', join(dir, 'missing.db'), '--port', '0', '--json'], io)).toBe(
      EXIT_CODE.runtime,
    );
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: false, error: { code: 'store_not_found' } });
  });
});
