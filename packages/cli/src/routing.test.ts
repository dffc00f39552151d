import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controllerStoreOpener } from './controller-store.js';
import { EXIT_CODE } from './exit-codes.js';
import type { CliIo } from './io.js';
import { run } from './program.js';
import { cliRoutingFactory } from './routing.js';

function setup(env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'agent-canary-routing-'));
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    env,
    isTTY: false,
    cwd,
  };
  const openStore = controllerStoreOpener({ env: {}, routing: cliRoutingFactory({ env, cwd }) });
  return { cwd, io, out, openStore };
}

const DEFINITION = 'rolloutId: r-7\nflagKey: support\ncanaryRelease: v2\nstableRelease: v1\n';

describe('the CLI with the embedded routing adapter', () => {
  it('writes the first step and a rollback to the routing state file the agents read', async () => {
    const { cwd, io, out, openStore } = setup();
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      `${DEFINITION}routing: { provider: embedded, options: { path: routing.json } }\n`,
    );
    const flag = () => JSON.parse(readFileSync(join(cwd, 'routing.json'), 'utf8')).flags.support;

    expect(await run(['rollout', 'start', '-c', 'rollout.yaml', '--store', 's.db'], io, { openStore })).toBe(
      EXIT_CODE.ok,
    );
    expect(flag()).toMatchObject({
      rolloutId: 'r-7',
      canaryRelease: 'v2',
      canaryBasisPoints: 500,
      controlBasisPoints: 500,
    });

    const rollback = ['rollout', 'rollback', 'r-7', '--reason', 'bad answers', '-c', 'rollout.yaml', '--store', 's.db'];
    expect(await run(rollback, io, { openStore })).toBe(EXIT_CODE.ok);
    expect(out.stdout).toContain('rollback: rollout r-7 is now rolled_back');
    expect(flag()).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0 });
  });

  it('uses AGENT_CANARY_ROUTING_FILE when the definition names no file', async () => {
    const { cwd, io, openStore } = setup({ AGENT_CANARY_ROUTING_FILE: 'shared/routing.json' });
    writeFileSync(join(cwd, 'rollout.yaml'), DEFINITION);
    expect(await run(['rollout', 'start', '-c', 'rollout.yaml', '--store', 's.db'], io, { openStore })).toBe(
      EXIT_CODE.ok,
    );
    expect(JSON.parse(readFileSync(join(cwd, 'shared/routing.json'), 'utf8')).flags.support.canaryBasisPoints).toBe(
      500,
    );
  });

  it('refuses to start with no routing file (exit 2), and with a provider it cannot write (exit 3)', async () => {
    const { cwd, io, out, openStore } = setup();
    writeFileSync(join(cwd, 'embedded.yaml'), DEFINITION);
    writeFileSync(join(cwd, 'flagd.yaml'), `${DEFINITION}routing: { provider: flagd }\n`);
    expect(await run(['rollout', 'start', '-c', 'embedded.yaml', '--store', 's.db'], io, { openStore })).toBe(
      EXIT_CODE.usage,
    );
    expect(out.stderr).toContain('routing.options.path: expected the routing state file the agents read');
    expect(await run(['rollout', 'start', '-c', 'flagd.yaml', '--store', 's.db'], io, { openStore })).toBe(
      EXIT_CODE.runtime,
    );
    expect(out.stderr).toContain('routing provider "flagd" is not available in the agent-canary CLI yet');
  });
});
