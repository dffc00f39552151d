import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CohortWindow,
  emptyCohortWindow,
  type MetricQuery,
  type MetricReadResult,
  type MetricSource,
} from '@agent-canary/gate';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_CODE } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { type RunDependencies, run } from '../program.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 10, 12);

/**
 * The stable release serves one turn per second, each from a user not seen before in the
 * hour (so users, the monitor's unit, equal turns); from `driftAtMillis` on, the share of
 * the `search` tool falls from 40% to 10% and the two other tools share the rest (a model
 * update under the same name, say).
 */
function driftingSource(driftAtMillis: number): MetricSource & { queries: MetricQuery[] } {
  const queries: MetricQuery[] = [];
  const calls = (seconds: number, share: number) => Math.round(seconds * share);
  return {
    name: 'drifting-test-source',
    queries,
    async read(query): Promise<MetricReadResult> {
      queries.push(query);
      const before = Math.max(0, Math.min(query.untilMillis, driftAtMillis) - query.sinceMillis) / 1000;
      const after = Math.max(0, query.untilMillis - Math.max(query.sinceMillis, driftAtMillis)) / 1000;
      const toolsByName = {
        search: { calls: calls(before, 0.4) + calls(after, 0.1), failures: 0 },
        database: { calls: calls(before, 0.3) + calls(after, 0.45), failures: 0 },
        email: { calls: calls(before, 0.3) + calls(after, 0.45), failures: 0 },
      };
      const empty = emptyCohortWindow();
      const turns = Math.round(before + after);
      const stable: CohortWindow = {
        ...empty,
        requests: turns,
        subjects: turns,
        toolCalls: turns,
        toolCallsByName: toolsByName,
        subjectFirsts: { ...(empty.subjectFirsts ?? emptyCohortWindow().subjectFirsts!), turns, toolsByName },
      };
      return {
        ok: true,
        windows: {
          sinceMillis: query.sinceMillis,
          untilMillis: query.untilMillis,
          cohorts: { stable, control: emptyCohortWindow(), canary: emptyCohortWindow() },
        },
      };
    },
  };
}

function setup(dependencies: RunDependencies = {}, env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'agent-canary-monitor-'));
  const out = { stdout: '', stderr: '' };
  const clock = { now: T0 };
  const io: CliIo = {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    env: { AGENT_CANARY_ACTOR: 'alice', ...env },
    isTTY: false,
    cwd,
  };
  const cli = async (argv: string[], extra: RunDependencies = {}) => {
    out.stdout = '';
    out.stderr = '';
    return run([...argv, '--store', 's.db'], io, { now: () => clock.now, ...dependencies, ...extra });
  };
  return { out, cli, clock };
}

describe('monitor', () => {
  it('freezes a baseline on demand, then raises one tool-mix alert when the mix drifts (exit 1)', async () => {
    const source = driftingSource(T0 + HOUR / 2);
    const { out, cli, clock } = setup({ metricSource: source });

    const freeze = ['monitor', '--release', 'v1', '--freeze-baseline', '--reason', 'new normal after model update'];
    expect(await cli(freeze)).toBe(EXIT_CODE.ok);
    expect(out.stdout).toContain('froze the baseline of v1: 3600 users (3600 turns) from 2026-01-10T11:00:00.000Z');

    clock.now = T0 + HOUR / 4;
    expect(await cli(['monitor', '--release', 'v1', '--once'])).toBe(EXIT_CODE.ok);
    expect(out.stdout).toContain('phase     monitoring, release v1');
    expect(out.stdout).toContain('alerts    0 open');

    clock.now = T0 + HOUR;
    expect(await cli(['monitor', '--release', 'v1', '--once', '--json'])).toBe(EXIT_CODE.rolledBack);
    const result = JSON.parse(out.stdout);
    expect(result.tick.raised.map((alert: { signal: string }) => alert.signal)).toEqual(['tool_mix']);
    expect(result.tick.raised[0].evidence).toMatchObject({ subject: 'search', release: 'v1' });
    expect(result.status.openAlerts).toHaveLength(1);
    expect(source.queries.every((query) => query.releases.stable === 'v1')).toBe(true);

    // The alert stays open without being raised again.
    clock.now = T0 + HOUR + 60_000;
    expect(await cli(['monitor', '--release', 'v1', '--once', '--json'])).toBe(EXIT_CODE.rolledBack);
    expect(JSON.parse(out.stdout).tick.raised).toEqual([]);
  });

  it('stays quiet when behaviour does not change (exit 0)', async () => {
    const { out, cli, clock } = setup({ metricSource: driftingSource(Number.POSITIVE_INFINITY) });
    expect(await cli(['monitor', '--release', 'v1', '--freeze-baseline', '--reason', 'start'])).toBe(EXIT_CODE.ok);
    clock.now = T0 + (3 * HOUR) / 4;
    expect(await cli(['monitor', '--release', 'v1', '--once', '--json'])).toBe(EXIT_CODE.ok);
    const result = JSON.parse(out.stdout);
    expect(result.tick.phase).toBe('monitoring');
    expect(result.tick.evaluations.find((e: { signal: string }) => e.signal === 'tool_mix').status).toBe('clear');
    expect(result.status.openAlerts).toEqual([]);
  });

  it('ticks every --interval until stopped, one line per tick', async () => {
    const shutdown = new AbortController();
    const { out, cli, clock } = setup({ metricSource: driftingSource(Number.POSITIVE_INFINITY) });
    let ticks = 0;
    const sleep = async (millis: number) => {
      expect(millis).toBe(30_000);
      clock.now += millis;
      if (++ticks === 3) shutdown.abort();
    };
    const code = await cli(['monitor', '--release', 'v1', '--interval', '30s', '--baseline', '5m'], {
      sleep,
      shutdown: shutdown.signal,
    });
    expect(code).toBe(EXIT_CODE.ok);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    // The release was already stable: its last whole window (an hour, `--baseline 5m` rounded up) is the baseline.
    expect(lines[0]).toContain('2026-01-10T12:00:00.000Z  monitoring v1');
    expect(out.stderr).toContain('monitoring v1 every 30s');
  });

  it('stops at once on shutdown, without waiting out the interval', async () => {
    const shutdown = new AbortController();
    const cwd = mkdtempSync(join(tmpdir(), 'agent-canary-monitor-'));
    const io: CliIo = {
      // Stop as soon as the first tick is printed; the loop is then in its 1 h wait.
      stdout: () => setImmediate(() => shutdown.abort()),
      stderr: () => {},
      env: {},
      isTTY: false,
      cwd,
    };
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const timersBefore = timers();
    const started = performance.now();
    const code = await run(['monitor', '--release', 'v1', '--interval', '1h', '--store', 's.db'], io, {
      metricSource: driftingSource(Number.POSITIVE_INFINITY),
      shutdown: shutdown.signal,
    });
    expect(code).toBe(EXIT_CODE.ok);
    expect(performance.now() - started).toBeLessThan(10_000);
    // The 1 h timer was cleared: nothing keeps a stopped process alive.
    expect(timers()).toBeLessThanOrEqual(timersBefore);
  });

  it('needs a Prometheus URL standalone, and a reason to freeze (exit 2)', async () => {
    const { out, cli } = setup();
    expect(await cli(['monitor', '--once'])).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('pass --prometheus <url> or set AGENT_CANARY_PROMETHEUS_URL');
    expect(await cli(['monitor', '--freeze-baseline', '--prometheus', 'http://127.0.0.1:9'])).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('--freeze-baseline needs --reason');
    expect(await cli(['monitor', '--flag', 'f', '--release', 'v1', '--once'])).toBe(EXIT_CODE.usage);
  });
});

describe('monitor against the Prometheus HTTP API', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('queries the URL from AGENT_CANARY_PROMETHEUS_URL and reports what it answered', async () => {
    const bodies: string[] = [];
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        bodies.push(`${request.method} ${request.url} ${body}`);
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'overloaded' }));
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { out, cli } = setup({}, { AGENT_CANARY_PROMETHEUS_URL: url });

    expect(await cli(['monitor', '--release', 'v1', '--freeze-baseline', '--reason', 'r', '--json'])).toBe(
      EXIT_CODE.rolledBack,
    );
    const result = JSON.parse(out.stdout);
    expect(result.ok).toBe(false);
    expect(result.error.message).toContain('Prometheus query failed (HTTP 503): overloaded');
    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies[0]).toMatch(/^POST \/api\/v1\/query query=/);
    expect(decodeURIComponent(bodies[0] ?? '')).toContain('agent_canary_release_id=~"v1"');
  });
});
