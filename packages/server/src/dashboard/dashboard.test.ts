import { request as httpRequest } from 'node:http';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import { ConfigError } from '@agent-canary/conventions';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import { gateResult, InMemoryMetricSource, ScriptedGate } from '@agent-canary/gate/testing';
import { createRelease } from '@agent-canary/monitor';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ROLLOUT_VIEW_SCRIPT } from '../report/view-script.js';
import { type AgentCanaryServer, startServer } from '../server.js';
import { describeReadAccess, hostOfHeader, isLoopbackHost, ReadAccess } from './access.js';
import { DASHBOARD_APP_SCRIPT } from './app-script.js';
import { resolveDashboardConfig } from './config.js';
import { DASHBOARD_CSP } from './page.js';
import { VerdictCache } from './views.js';

const TOKEN = 'dashboard-api-token-0123456789';
const READ_TOKEN = 'dashboard-read-token-0123456789';
const HOSTILE = 'v2 <script>alert(1)</script>';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** A raw HTTP request (fetch would normalise the path and refuse to set Host). */
function send(
  server: AgentCanaryServer,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

/** A store with one running rollout (driven by the returned controller) and one rolled back. */
async function seededStore(): Promise<{ store: RolloutStore; controller: RolloutController }> {
  const store = new RolloutStore();
  createRelease(store, { id: 'v1', promptHash: 'a'.repeat(64), model: 'm', status: 'stable' });
  const failing = new ScriptedGate((n) =>
    gateResult({
      verdict: n >= 2 ? 'fail' : 'pass',
      sequentialFailure: n >= 2,
      checks: [
        {
          check: 'error_rate',
          method: 'sequential',
          verdict: n >= 2 ? 'fail' : 'pass',
          unit: 'subject',
          measurements: [{ cohort: 'canary', value: 0.2, samples: 90 }],
          statistic: { eValue: n >= 2 ? 900 : 1, boundary: 400, alpha: 0.0025 },
          reason: 'error_rate <b>up</b>',
        },
      ],
    }),
  );
  const old = new RolloutController({ store, routing: new InMemoryRoutingAdapter(), gate: failing, env: {} });
  await old.start({ id: 'old', flagKey: 'other', canaryRelease: 'o2', stableRelease: 'o1' });
  await old.tick();
  await old.tick();
  const controller = new RolloutController({
    store,
    routing: new InMemoryRoutingAdapter(),
    gate: new ScriptedGate(() => gateResult({ verdict: 'inconclusive' })),
    env: {},
  });
  await controller.start({ id: 'live/1', flagKey: 'agent', canaryRelease: HOSTILE, stableRelease: 'v1' });
  await controller.tick();
  return { store, controller };
}

describe('dashboard over HTTP', () => {
  const servers: AgentCanaryServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.shutdown()));
  });
  async function serve(options: Parameters<typeof startServer>[0]): Promise<AgentCanaryServer> {
    const server = await startServer({ port: 0, env: {}, ...options });
    servers.push(server);
    return server;
  }

  it('serves the page shell to anyone, with the Content-Security-Policy and no data in it', async () => {
    const { store } = await seededStore();
    const server = await serve({ dashboard: { store } });
    for (const path of ['/', '/rollouts/live%2F1', '/releases']) {
      const page = await send(server, path);
      expect(page.status, path).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toBe(DASHBOARD_CSP);
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.text).not.toContain('live/1');
      expect(page.text).not.toMatch(/<script>[^<]/);
      expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
      // Actions are off: no controller API on this server.
      expect(page.text).toContain('data-actions="off"');
    }
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain('unsafe');
  });

  it('serves its assets (Chart.js bundled) with validators, and nothing it does not have', async () => {
    const { store } = await seededStore();
    const server = await serve({ dashboard: { store } });
    const chart = await send(server, '/dashboard/assets/chart.js');
    expect(chart.status).toBe(200);
    expect(chart.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(chart.text).toMatch(/Chart\.js v4/);
    expect(chart.text).not.toContain('sourceMappingURL');
    const again = await send(server, '/dashboard/assets/chart.js', {
      headers: { 'if-none-match': String(chart.headers.etag) },
    });
    expect(again.status).toBe(304);
    for (const asset of ['view.js', 'app.js', 'style.css']) {
      expect((await send(server, `/dashboard/assets/${asset}`)).status, asset).toBe(200);
    }
    expect((await send(server, '/dashboard/assets/../../etc/passwd')).status).toBe(404);
    expect((await send(server, '/dashboard/assets/nope.js')).status).toBe(404);
    expect((await send(server, '/', { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('lists rollouts with their state, step, share, last verdict and failing checks, every status field included', async () => {
    const { store } = await seededStore();
    const server = await serve({ dashboard: { store } });
    const answer = await send(server, '/dashboard/api/rollouts');
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    const list = JSON.parse(answer.text) as { nowMillis: number; rollouts: Record<string, unknown>[] };
    expect(list.rollouts.map((rollout) => rollout['id']).sort()).toEqual(['live/1', 'old']);
    const old = list.rollouts.find((rollout) => rollout['id'] === 'old');
    expect(old).toMatchObject({
      state: 'rolled_back',
      outcome: 'rolled_back',
      lastVerdict: 'fail',
      failingChecks: ['error_rate'],
      status: { phase: 'rolled_back', canaryBasisPoints: 0 },
    });
    const live = list.rollouts.find((rollout) => rollout['id'] === 'live/1');
    expect(live).toMatchObject({ state: 'canary', canaryRelease: HOSTILE, stepIndex: 0, canaryPercent: 5 });
    expect(live?.['status']).toMatchObject({ awaitingApproval: false, alerts: [] });
    expect(live?.['status']).not.toHaveProperty('config');
  });

  it('answers one rollout with its report data, decoding its id safely', async () => {
    const { store } = await seededStore();
    const source = new InMemoryMetricSource();
    const server = await serve({ dashboard: { store, metricSource: source } });
    const answer = await send(server, '/dashboard/api/rollouts/live%2F1');
    expect(answer.status).toBe(200);
    const document = JSON.parse(answer.text) as { rollout: { id: string }; report: { rollout: { id: string } } };
    expect(document.rollout.id).toBe('live/1');
    expect(document.report.rollout.id).toBe('live/1');
    // The live tool mix came from the metric source, queried for this rollout since its start.
    expect(source.queries.at(-1)).toMatchObject({ rolloutId: 'live/1', releases: { canary: HOSTILE, stable: 'v1' } });
    expect((await send(server, '/dashboard/api/rollouts/%E0%A4%A')).status).toBe(400);
    expect((await send(server, '/dashboard/api/rollouts/%ZZ')).status).toBe(400);
    expect((await send(server, '/dashboard/api/rollouts/nope')).status).toBe(404);
    expect((await send(server, '/dashboard/api/nothing')).status).toBe(404);
  });

  it('answers 304 while a document is unchanged, and the new one after an evaluation', async () => {
    const { store, controller } = await seededStore();
    const server = await serve({ dashboard: { store, clock: () => 1_000 } });
    for (const path of ['/dashboard/api/rollouts/live%2F1', '/dashboard/api/rollouts', '/dashboard/api/releases']) {
      const first = await send(server, path);
      expect(first.status, path).toBe(200);
      const etag = String(first.headers.etag);
      expect((await send(server, path, { headers: { 'if-none-match': etag } })).status, path).toBe(304);
    }
    const first = await send(server, '/dashboard/api/rollouts/live%2F1');
    await controller.tick();
    const after = await send(server, '/dashboard/api/rollouts/live%2F1', {
      headers: { 'if-none-match': String(first.headers.etag) },
    });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(first.headers.etag);
    const evaluations = (answer: Answer) =>
      (JSON.parse(answer.text) as { report: { requests: unknown[] } }).report.requests;
    expect(evaluations(after)).toHaveLength(evaluations(first).length + 1);
  });

  it('answers the release registry, the stable release and the drift monitors', async () => {
    const { store } = await seededStore();
    const server = await serve({ dashboard: { store } });
    const releases = JSON.parse((await send(server, '/dashboard/api/releases')).text) as {
      releases: { id: string; status: string }[];
      stable: { flagKey?: string; release: string }[];
      monitors: unknown[];
    };
    expect(releases.releases).toMatchObject([{ id: 'v1', status: 'stable' }]);
    expect(releases.stable.map((entry) => entry.flagKey)).toEqual(['agent', 'other']);
    expect(releases.monitors).toEqual([]);
    // A monitor that persisted its state shows up, read without running it.
    store.commitMonitor({
      monitorId: 'monitor:agent',
      state: () => ({
        v: 1,
        monitorId: 'monitor:agent',
        release: 'v1',
        windowIndex: 0,
        signals: {},
        updatedAtMillis: 5,
      }),
    });
    const after = JSON.parse((await send(server, '/dashboard/api/releases')).text) as { monitors: unknown[] };
    expect(after.monitors).toEqual([
      {
        monitorId: 'monitor:agent',
        phase: 'collecting_baseline',
        release: 'v1',
        windowIndex: 0,
        openAlerts: [],
        recentAlerts: [],
      },
    ]);
  });

  it('lets a loopback client read without a token only when it names a loopback host', async () => {
    const { store } = await seededStore();
    const server = await serve({ dashboard: { store } });
    expect(
      (await send(server, '/dashboard/api/rollouts', { headers: { host: `localhost:${server.port}` } })).status,
    ).toBe(200);
    expect((await send(server, '/dashboard/api/rollouts', { headers: { host: `[::1]:${server.port}` } })).status).toBe(
      200,
    );
    const rebound = await send(server, '/dashboard/api/rollouts', { headers: { host: 'evil.example:4318' } });
    expect(rebound.status).toBe(401);
    expect(rebound.headers['www-authenticate']).toContain('Bearer');
    expect(JSON.parse(rebound.text)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('needs the read token or the API token for every read once a read token is set', async () => {
    const { store, controller } = await seededStore();
    const server = await serve({ controller, store, apiToken: TOKEN, dashboard: { store, readToken: READ_TOKEN } });
    const read = (authorization?: string) =>
      send(server, '/dashboard/api/rollouts', authorization ? { headers: { authorization } } : {});
    expect((await read()).status).toBe(401);
    expect((await read('Bearer wrong-token-000000000000')).status).toBe(401);
    expect((await read(`Bearer ${READ_TOKEN}`)).status).toBe(200);
    expect((await read(`Bearer ${TOKEN}`)).status).toBe(200);
    // The read token grants no action.
    const action = await send(server, '/v1/rollouts/live%2F1/pause', {
      method: 'POST',
      headers: { authorization: `Bearer ${READ_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'ana', reason: 'look' }),
    });
    expect(action.status).toBe(401);
    expect(store.getRollout('live/1')?.state.phase).toBe('canary');
    expect((await send(server, '/')).text).toContain('data-actions="on"');
  });

  it('needs a token to read when it listens beyond loopback and no read token is set', async () => {
    const { store } = await seededStore();
    const server = await serve({ host: '0.0.0.0', dashboard: { store } });
    expect(
      (await send(server, '/dashboard/api/rollouts', { headers: { host: `localhost:${server.port}` } })).status,
    ).toBe(401);
  });

  it('hands actions on rollouts its controller does not drive to the action handler', async () => {
    const { store } = await seededStore();
    const calls: string[] = [];
    const server = await serve({
      store,
      apiToken: TOKEN,
      actions: async (rolloutId, action, input) => {
        calls.push(`${rolloutId}:${action}:${input.actor}`);
        return rolloutId === 'old' ? { ok: false, error: { code: 'X', message: 'already ended' } } : undefined;
      },
      dashboard: { store },
    });
    const act = (id: string) =>
      send(server, `/v1/rollouts/${encodeURIComponent(id)}/rollback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ actor: 'ana', reason: 'why' }),
      });
    const refused = await act('old');
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.text)).toMatchObject({ ok: false, error: { message: 'already ended' } });
    expect((await act('gone')).status).toBe(404);
    expect(calls).toEqual(['old:rollback:ana', 'gone:rollback:ana']);
  });
});

describe('VerdictCache', () => {
  it('reads every verdict once, then only the new ones', async () => {
    const { store, controller } = await seededStore();
    const cache = new VerdictCache();
    const read = vi.spyOn(store, 'verdicts');
    expect(cache.verdicts(store, 'live/1')).toEqual(store.verdicts('live/1'));
    for (let tick = 0; tick < 70; tick++) await controller.tick();
    read.mockClear();
    const verdicts = cache.verdicts(store, 'live/1');
    expect(verdicts).toEqual(store.verdicts('live/1'));
    expect(verdicts).toHaveLength(71);
    // 70 new: the latest 64 were all new, so it read the latest 256 (never all of them).
    expect(read.mock.calls.slice(0, 2)).toEqual([
      ['live/1', 64],
      ['live/1', 256],
    ]);
    expect(cache.verdicts(store, 'old').map((verdict) => verdict.verdict)).toEqual(['pass', 'fail']);
  });
});

describe('read access', () => {
  it('knows loopback hosts and parses Host headers', () => {
    for (const host of ['localhost', '127.0.0.1', '127.8.9.10', '::1', '[::1]', 'app.localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', 'localhost.example.com', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
    expect(hostOfHeader('localhost:4318')).toBe('localhost');
    expect(hostOfHeader('[::1]:4318')).toBe('::1');
    expect(hostOfHeader('127.0.0.1')).toBe('127.0.0.1');
    expect(hostOfHeader('a:b:c')).toBeUndefined();
    expect(hostOfHeader(undefined)).toBeUndefined();
  });

  it('accepts any configured token, and refuses a malformed header', () => {
    const access = new ReadAccess([READ_TOKEN, undefined, TOKEN], false);
    expect(access.check({ authorization: `Bearer ${READ_TOKEN}` })).toEqual({ ok: true });
    expect(access.check({ authorization: `bearer ${TOKEN}` })).toEqual({ ok: true });
    expect(access.check({ authorization: `Basic ${TOKEN}` }).ok).toBe(false);
    expect(access.check({ authorization: 'Bearer' }).ok).toBe(false);
    expect(access.check({ host: 'localhost' }).ok).toBe(false);
    expect(describeReadAccess(undefined, '127.0.0.1')).toContain('loopback');
    expect(describeReadAccess(undefined, '0.0.0.0')).toContain('API token');
    expect(describeReadAccess(READ_TOKEN, '0.0.0.0')).toContain('dashboard token');
  });

  it('validates dashboard options, naming the field', () => {
    const store = new RolloutStore();
    expect(() => resolveDashboardConfig({ store, readToken: 'short' }, {})).toThrow(ConfigError);
    expect(() => resolveDashboardConfig({ store, pollIntervalMillis: 10 }, {})).toThrow(
      /dashboard\.pollIntervalMillis/,
    );
    expect(() => resolveDashboardConfig({ store: {} as RolloutStore }, {})).toThrow(/dashboard\.store/);
    expect(resolveDashboardConfig({ store }, { AGENT_CANARY_DASHBOARD_TOKEN: READ_TOKEN }).readToken).toBe(READ_TOKEN);
    expect(resolveDashboardConfig({ store }, {}).pollIntervalMillis).toBe(2000);
    store.close();
  });
});

describe('page scripts', () => {
  it('parse as JavaScript (a stray quote fails here, not only in a browser)', () => {
    // Compiling is enough: a syntax error throws before anything runs.
    for (const script of [DASHBOARD_APP_SCRIPT, ROLLOUT_VIEW_SCRIPT]) {
      expect(() => new Function(script)).not.toThrow();
    }
    expect(() => new Function(`${DASHBOARD_APP_SCRIPT}'`)).toThrow(SyntaxError);
  });
});
