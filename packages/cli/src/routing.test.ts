import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@agent-canary/conventions';
import { type FlagdRoutingAdapter, splitFromFlagdFlag } from '@agent-canary/routing-flagd';
import { createLaunchDarklyAdapter } from '@agent-canary/routing-launchdarkly';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type LangfuseContractServer,
  startLangfuseContractServer,
} from '../../routing-langfuse/src/testing-fixtures/langfuse-server.js';
import {
  FakeLaunchDarkly,
  releaseFlagFixture,
} from '../../routing-launchdarkly/src/testing-fixtures/fake-launchdarkly.js';
import { controllerStoreOpener } from './controller-store.js';
import { EXIT_CODE } from './exit-codes.js';
import type { CliIo } from './io.js';
import { run } from './program.js';
import { cliRoutingFactory, createRoutingAdapter } from './routing.js';

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
  const cli = (argv: string[]) => run(argv, io, { openStore });
  return { cwd, io, out, cli };
}

const DEFINITION = 'rolloutId: r-7\nflagKey: support\ncanaryRelease: v2\nstableRelease: v1\n';
const START = ['rollout', 'start', '-c', 'rollout.yaml', '--store', 's.db'];
const ROLLBACK = ['rollout', 'rollback', 'r-7', '--reason', 'bad answers', '-c', 'rollout.yaml', '--store', 's.db'];

describe('the CLI with the embedded routing adapter', () => {
  it('writes the first step and a rollback to the routing state file the agents read', async () => {
    const { cwd, out, cli } = setup();
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      `${DEFINITION}routing: { provider: embedded, options: { path: routing.json } }\n`,
    );
    const flag = () => JSON.parse(readFileSync(join(cwd, 'routing.json'), 'utf8')).flags.support;

    expect(await cli(START)).toBe(EXIT_CODE.ok);
    expect(flag()).toMatchObject({
      rolloutId: 'r-7',
      canaryRelease: 'v2',
      canaryBasisPoints: 500,
      controlBasisPoints: 500,
    });

    expect(await cli(ROLLBACK)).toBe(EXIT_CODE.ok);
    expect(out.stdout).toContain('rollback: rollout r-7 is now rolled_back');
    expect(flag()).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0 });
  });

  it('uses AGENT_CANARY_ROUTING_FILE when the definition names no file', async () => {
    const { cwd, cli } = setup({ AGENT_CANARY_ROUTING_FILE: 'shared/routing.json' });
    writeFileSync(join(cwd, 'rollout.yaml'), DEFINITION);
    expect(await cli(START)).toBe(EXIT_CODE.ok);
    expect(JSON.parse(readFileSync(join(cwd, 'shared/routing.json'), 'utf8')).flags.support.canaryBasisPoints).toBe(
      500,
    );
  });

  it('refuses to start with no routing file, naming the field (exit 2)', async () => {
    const { cwd, out, cli } = setup();
    writeFileSync(join(cwd, 'rollout.yaml'), DEFINITION);
    expect(await cli(START)).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('routing.options.path: expected the routing state file the agents read');
  });
});

describe('the CLI with the flagd adapter', () => {
  it('writes the fractional split into a real flag file, keeping other flags, and rolls back', async () => {
    const { cwd, cli } = setup();
    const other = { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' };
    writeFileSync(join(cwd, 'flags.json'), JSON.stringify({ flags: { 'dark-mode': other } }));
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      `${DEFINITION}routing: { provider: flagd, options: { path: flags.json } }\n`,
    );
    const file = () => JSON.parse(readFileSync(join(cwd, 'flags.json'), 'utf8'));

    expect(await cli(START)).toBe(EXIT_CODE.ok);
    expect(file().flags['dark-mode']).toEqual(other);
    expect(file().flags.support.targeting).toEqual({
      fractional: [
        ['canary', 500],
        ['control', 500],
        ['stable', 9000],
      ],
    });
    expect(splitFromFlagdFlag('support', file().flags.support)).toMatchObject({
      rolloutId: 'r-7',
      canaryRelease: 'v2',
      stableRelease: 'v1',
      canaryBasisPoints: 500,
    });

    expect(await cli(ROLLBACK)).toBe(EXIT_CODE.ok);
    expect(splitFromFlagdFlag('support', file().flags.support)).toMatchObject({
      canaryBasisPoints: 0,
      controlBasisPoints: 0,
    });
  });

  it('reads the flag file from AGENT_CANARY_FLAGD_FILE and reports a missing one by field and variables', async () => {
    const withEnv = setup({ AGENT_CANARY_FLAGD_FILE: 'env-flags.json' });
    writeFileSync(join(withEnv.cwd, 'rollout.yaml'), `${DEFINITION}routing: { provider: flagd }\n`);
    expect(await withEnv.cli(START)).toBe(EXIT_CODE.ok);
    expect(JSON.parse(readFileSync(join(withEnv.cwd, 'env-flags.json'), 'utf8')).flags.support).toBeDefined();

    const without = setup();
    writeFileSync(join(without.cwd, 'rollout.yaml'), `${DEFINITION}routing: { provider: flagd }\n`);
    expect(await without.cli(START)).toBe(EXIT_CODE.usage);
    expect(without.out.stderr).toContain(
      'routing.options.path: expected the flagd flag file path (option path or env AGENT_CANARY_FLAGD_FILE / FLAGD_OFFLINE_FLAG_SOURCE_PATH)',
    );
  });
});

describe('the CLI with the flagd adapter in sync mode', () => {
  const SYNC = (options: string) =>
    `${DEFINITION}routing: { provider: flagd, options: { path: flags.json, mode: sync${options} } }\n`;

  it('only writes the flag file in short-lived commands: the running serve pushes it', async () => {
    const { cwd, cli } = setup();
    writeFileSync(join(cwd, 'rollout.yaml'), SYNC(', syncPort: 8015'));
    expect(await cli(START)).toBe(EXIT_CODE.ok);
    const flag = JSON.parse(readFileSync(join(cwd, 'flags.json'), 'utf8')).flags.support;
    expect(splitFromFlagdFlag('support', flag)).toMatchObject({ canaryBasisPoints: 500 });
    const adapter = await createRoutingAdapter(
      { provider: 'flagd', options: { path: 'flags.json', mode: 'sync' } },
      { env: {}, cwd },
    );
    expect((adapter as FlagdRoutingAdapter).config.sync).toBeUndefined();
  });

  it('starts the sync server on the configured port when asked (serve), and stops it on close', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agent-canary-routing-'));
    const adapter = (await createRoutingAdapter(
      { provider: 'flagd', options: { path: 'flags.json', mode: 'sync', syncHost: '127.0.0.1' } },
      { env: { AGENT_CANARY_FLAGD_SYNC_PORT: '0' }, cwd, serveFlagdSync: true },
    )) as FlagdRoutingAdapter;
    const sync = adapter.config.sync;
    expect(sync?.config).toMatchObject({ path: join(cwd, 'flags.json'), host: '127.0.0.1' });
    expect(sync?.port).toBeGreaterThan(0);
    await adapter.close();
    // The port is free again.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(sync?.port, '127.0.0.1', () => resolve());
    });
    probe.close();
  });

  it('names the field of a wrong mode or sync option (exit 2)', async () => {
    const { cwd, out, cli } = setup();
    writeFileSync(join(cwd, 'rollout.yaml'), SYNC('').replace('mode: sync', 'mode: push'));
    expect(await cli(START)).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('routing.options.mode: expected file (providers read the flag file) or sync');
    writeFileSync(join(cwd, 'rollout.yaml'), SYNC('').replace('mode: sync', 'mode: file, syncPort: 9000'));
    expect(await cli(START)).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('routing.options.syncPort: expected nothing unless mode is sync');
    const serveLike = (options: Record<string, unknown>, env: Record<string, string> = {}) =>
      createRoutingAdapter(
        { provider: 'flagd', options: { path: 'flags.json', mode: 'sync', ...options } },
        { env, cwd, serveFlagdSync: true },
      );
    await expect(serveLike({ syncPort: 70_000 })).rejects.toMatchObject({ path: 'routing.options.syncPort' });
    await expect(serveLike({}, { AGENT_CANARY_FLAGD_SYNC_PORT: 'grpc' })).rejects.toMatchObject({
      path: 'routing.options.syncPort (env AGENT_CANARY_FLAGD_SYNC_PORT)',
    });
  });
});

describe('the CLI with the LaunchDarkly adapter (local contract server)', () => {
  const TOKEN = 'api-test-token';
  let server: FakeLaunchDarkly;
  beforeEach(async () => {
    server = new FakeLaunchDarkly({
      accessToken: TOKEN,
      projectKey: 'support-project',
      environmentKey: 'production',
      flags: [releaseFlagFixture('support', { canaryRelease: 'v2', stableRelease: 'v1' }, 'production')],
    });
    await server.start();
  });
  afterEach(() => server.close());

  it('patches the fallthrough rollout through the REST API with the token from the environment', async () => {
    const { cwd, cli } = setup({ LAUNCHDARKLY_ACCESS_TOKEN: TOKEN });
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      `${DEFINITION}routing:\n  provider: launchdarkly\n  options: { projectKey: support-project, baseUrl: "${server.url}" }\n`,
    );
    const read = () =>
      createLaunchDarklyAdapter({ accessToken: TOKEN, projectKey: 'support-project', baseUrl: server.url }).read(
        'support',
      );

    expect(await cli(START)).toBe(EXIT_CODE.ok);
    expect(server.violations).toEqual([]);
    expect(server.requests.some((request) => request.method === 'PATCH')).toBe(true);
    expect(await read()).toMatchObject({ canaryRelease: 'v2', canaryBasisPoints: 500, controlBasisPoints: 500 });

    expect(await cli(ROLLBACK)).toBe(EXIT_CODE.ok);
    expect(await read()).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0 });
  });

  it('names the missing token and refuses an SDK key (exit 2)', async () => {
    const { cwd, out, cli } = setup();
    writeFileSync(join(cwd, 'rollout.yaml'), `${DEFINITION}routing: { provider: launchdarkly }\n`);
    expect(await cli(START)).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('routing.options.accessToken: expected a LaunchDarkly API access token');

    const sdkKey = setup({ LAUNCHDARKLY_ACCESS_TOKEN: 'sdk-123456' });
    writeFileSync(join(sdkKey.cwd, 'rollout.yaml'), `${DEFINITION}routing: { provider: launchdarkly }\n`);
    expect(await sdkKey.cli(START)).toBe(EXIT_CODE.usage);
    expect(sdkKey.out.stderr).toContain('not an SDK or mobile key');
  });
});

describe('the CLI with Langfuse prompt labels (local contract server)', () => {
  let server: LangfuseContractServer;
  beforeEach(async () => {
    server = await startLangfuseContractServer();
  });
  afterEach(() => server.close());

  const LANGFUSE_DEFINITION = 'rolloutId: r-7\nflagKey: support\ncanaryRelease: "2"\nstableRelease: "1"\n';

  it('moves the canary label and writes the split through the inner embedded adapter', async () => {
    const { cwd, cli } = setup({
      LANGFUSE_PUBLIC_KEY: server.publicKey,
      LANGFUSE_SECRET_KEY: server.secretKey,
      LANGFUSE_BASE_URL: server.baseUrl,
    });
    server.addVersion('support-prompt', 'You are helpful. (v1)', ['production']);
    server.addVersion('support-prompt', 'You are helpful and brief. (v2)');
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      `${LANGFUSE_DEFINITION}routing:\n  provider: langfuse\n  options:\n    promptName: support-prompt\n` +
        '    inner: { provider: embedded, options: { path: routing.json } }\n',
    );
    const split = () => JSON.parse(readFileSync(join(cwd, 'routing.json'), 'utf8')).flags.support;

    expect(await cli(START)).toBe(EXIT_CODE.ok);
    expect(server.labels('support-prompt')).toMatchObject({ canary: 2, production: 1 });
    expect(split()).toMatchObject({ canaryRelease: '2', canaryBasisPoints: 500 });
    expect(server.requests.every((request) => request.authorized)).toBe(true);

    expect(await cli(ROLLBACK)).toBe(EXIT_CODE.ok);
    expect(server.labels('support-prompt')).toMatchObject({ canary: 1, production: 1 });
    expect(split()).toMatchObject({ canaryBasisPoints: 0 });
  });

  it('names the missing keys, prompt and inner adapter (exit 2)', async () => {
    const cases: [Record<string, string>, string, string][] = [
      [{}, 'inner: embedded', 'routing.options.publicKey (env LANGFUSE_PUBLIC_KEY)'],
      [{ LANGFUSE_PUBLIC_KEY: 'pk', LANGFUSE_SECRET_KEY: 'sk' }, '{}', 'routing.options.inner: expected the adapter'],
      [
        { LANGFUSE_PUBLIC_KEY: 'pk', LANGFUSE_SECRET_KEY: 'sk', AGENT_CANARY_ROUTING_FILE: 'r.json' },
        'inner: embedded',
        'routing.options.promptName (env AGENT_CANARY_LANGFUSE_PROMPT)',
      ],
      [
        { LANGFUSE_PUBLIC_KEY: 'pk', LANGFUSE_SECRET_KEY: 'sk' },
        'inner: { provider: langfuse }',
        'routing.options.inner.provider: expected the adapter holding the split',
      ],
    ];
    for (const [env, options, message] of cases) {
      const { cwd, out, cli } = setup(env);
      writeFileSync(
        join(cwd, 'rollout.yaml'),
        `${LANGFUSE_DEFINITION}routing: { provider: langfuse, options: ${options.startsWith('{') ? options : `{ ${options} }`} }\n`,
      );
      expect(await cli(START), message).toBe(EXIT_CODE.usage);
      expect(out.stderr).toContain(message);
    }
  });
});

describe('routing adapters built from a definition', () => {
  const env = { UNLEASH_URL: 'http://127.0.0.1:4242/api/', UNLEASH_ADMIN_TOKEN: '*:*.secret' };

  it('builds the Unleash adapter from the environment, options winning', async () => {
    const adapter = await createRoutingAdapter(
      { provider: 'unleash', options: { project: 'agents', environment: 'staging' } },
      { env, cwd: '/' },
    );
    expect((adapter as unknown as { config: Record<string, unknown> }).config).toMatchObject({
      url: 'http://127.0.0.1:4242',
      adminToken: '*:*.secret',
      project: 'agents',
      environment: 'staging',
    });
    await adapter.close();
  });

  it('names the field of a missing or mistyped Unleash option', async () => {
    await expect(createRoutingAdapter({ provider: 'unleash', options: {} }, { env: {}, cwd: '/' })).rejects.toThrow(
      'routing.options.url (env UNLEASH_URL): expected the http(s) base URL of the Unleash server',
    );
    await expect(
      createRoutingAdapter({ provider: 'unleash', options: { url: 'http://u' } }, { env: {}, cwd: '/' }),
    ).rejects.toThrow('routing.options.adminToken (env UNLEASH_ADMIN_TOKEN)');
    await expect(
      createRoutingAdapter({ provider: 'unleash', options: { timeoutMillis: '5s' } }, { env, cwd: '/' }),
    ).rejects.toThrow('routing.options.timeoutMillis: expected a number, received "5s"');
    const error = await createRoutingAdapter(
      { provider: 'unleash', options: { projct: 'x' } },
      { env, cwd: '/' },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('routing.options.projct');
    expect((error as ConfigError).expected).toContain('one of the unleash options url, adminToken');
  });
});
