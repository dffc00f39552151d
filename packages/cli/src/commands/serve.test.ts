import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitFromFlagdFlag } from '@agent-canary/routing-flagd';
import { describe, expect, it } from 'vitest';
import { controllerStoreOpener } from '../controller-store.js';
import { EXIT_CODE } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { run } from '../program.js';

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

  it('refuses to serve the controller API without a token (exit 2)', async () => {
    const { cwd, out, io } = setup({ AGENT_CANARY_ROUTING_FILE: 'routing.json' });
    expect(await run(['serve', '--port', '0', '--store', join(cwd, 's.db')], io)).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('apiToken');
  });
});
