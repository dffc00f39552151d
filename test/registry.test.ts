/**
 * What a user gets from a registry, outside this repository. A local Verdaccio receives
 * every package through the release path (`pnpm release`: build, pack, publint, Are The
 * Types Wrong, publish); then apps in a temporary directory install by name with plain
 * npm (no workspace, no tsx, nothing of the checkout on PATH) and run what the docs say:
 *
 * - docs/getting-started.md: its install lines and its `first-canary.mjs`, on the embedded
 *   default (rolls out, writes its state, resumes), then the CLI it installs steering that
 *   rollout and running the demo (healthy ends promoted);
 * - examples/quickstart, built with TypeScript from its README (tag spans and export: no
 *   native module installed);
 * - `npx -y agent-canary` with nothing installed (the unscoped name runs @agent-canary/cli):
 *   the demo (hard-break ends rolled back) and `serve` answering /healthz;
 * - every other install line of the docs, resolved (`npm install --dry-run`) without conflict.
 *
 * Needs the npm registry for third-party packages: skipped with the reason when it is
 * unreachable, and failing instead under CI=true.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inPool, publicPackages } from '../scripts/release.js';
import { codeBlock, installLines, readDoc, shellLines, userDocs } from './helpers/docs.js';
import { type LocalRegistry, REPO_ROOT, registryUnavailableReason, startLocalRegistry } from './helpers/registry.js';

const MINUTE = 60_000;
const unavailable = await registryUnavailableReason();
// Locally an unreachable npm registry skips with the reason in the title; CI must reach it.
const skip = unavailable !== undefined && !process.env['CI'];
const title = skip ? `from a registry (skipped: ${unavailable})` : 'from a registry, outside the repository';

const GETTING_STARTED = 'docs/getting-started.md';
const QUICKSTART = 'examples/quickstart/README.md';
/** The routing packages the CLI brings, each loaded without its vendor SDK. */
const ADAPTERS = ['routing', 'routing-flagd', 'routing-unleash', 'routing-launchdarkly', 'routing-langfuse'].map(
  (name) => `@agent-canary/${name}`,
);
/** Vendor SDKs of the flag-provider adapters: optional peers, never installed with the CLI. */
const VENDOR_SDKS = [
  'unleash-client',
  '@launchdarkly/node-server-sdk',
  '@launchdarkly/openfeature-node-server',
  '@openfeature/flagd-provider',
  '@langfuse/client',
];

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function nativeModules(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.node') || entry.name === 'binding.gyp') found.push(child.slice(dir.length + 1));
    }
  };
  walk(dir);
  return found;
}

interface DemoJson {
  readonly ok: boolean;
  readonly scenario: string;
  readonly outcome: string;
  readonly reportPath: string;
  readonly decisions: ReadonlyArray<{ readonly to: string; readonly failedChecks: readonly string[] }>;
}

/** The getting-started guide, followed to the letter in a new app. */
async function gettingStarted(registry: LocalRegistry): Promise<void> {
  const guide = readDoc(GETTING_STARTED);
  const lines = installLines(guide);
  expect(lines.length, `install lines of ${GETTING_STARTED}`).toBeGreaterThanOrEqual(2);
  const app = registry.newDir('first-canary');
  writeJson(join(app, 'package.json'), { name: 'first-canary', private: true, type: 'module' });
  for (const line of lines) await registry.sh(line, { cwd: app, timeoutMillis: 5 * MINUTE });

  writeFileSync(join(app, 'first-canary.mjs'), codeBlock(guide, 'js first-canary.mjs', GETTING_STARTED));
  const first = await registry.run('node', ['first-canary.mjs'], { cwd: app, timeoutMillis: MINUTE });
  const rollout = /rollout (\S+): canary, canary at 5%/.exec(first.stdout)?.[1];
  expect(rollout, first.stdout).toBeDefined();
  const served = /served: (\d+) canary, (\d+) control, (\d+) stable/.exec(first.stdout);
  const [canary = 0, control = 0, stable = 0] = [1, 2, 3].map((index) => Number(served?.[index] ?? 0));
  expect(canary, first.stdout).toBeGreaterThan(0);
  expect(control).toBeGreaterThan(0);
  expect(stable).toBeGreaterThan(10 * canary);
  for (const file of ['state.db', 'routing.json', 'behavior.json']) {
    expect(existsSync(join(app, '.agent-canary', file)), file).toBe(true);
  }
  // A restart resumes the same rollout, and every user keeps their cohort.
  const again = await registry.run('node', ['first-canary.mjs'], { cwd: app, timeoutMillis: MINUTE });
  expect(again.stdout).toBe(first.stdout);

  // The CLI of the guide's last install line reads and steers the app's rollout.
  const status = await registry.run(
    'npx',
    ['agent-canary', 'rollout', 'status', '--store', '.agent-canary/state.db', '--json'],
    { cwd: app, timeoutMillis: MINUTE },
  );
  const rollouts = (JSON.parse(status.stdout) as { rollouts: Array<Record<string, unknown>> }).rollouts;
  expect(rollouts).toMatchObject([{ id: rollout, state: 'canary', canaryPercent: 5 }]);
  await registry.run(
    'npx',
    ['agent-canary', 'rollout', 'rollback', rollout ?? '', '--store', '.agent-canary/state.db', '--reason', 'test'],
    { cwd: app, timeoutMillis: MINUTE, env: { AGENT_CANARY_ROUTING_FILE: '.agent-canary/routing.json' } },
  );
  const routing = JSON.parse(readFileSync(join(app, '.agent-canary', 'routing.json'), 'utf8')) as {
    flags: Record<string, { canaryBasisPoints: number }>;
  };
  expect(routing.flags['support-agent.release']?.canaryBasisPoints).toBe(0);

  // Every adapter loads with the CLI's install, and no vendor SDK came with it.
  await registry.run(
    'node',
    ['--input-type=module', '-e', ADAPTERS.map((name) => `await import('${name}');`).join(' ')],
    { cwd: app, timeoutMillis: MINUTE },
  );
  for (const sdk of VENDOR_SDKS) expect(existsSync(join(app, 'node_modules', sdk)), sdk).toBe(false);
  // What needs a missing SDK says which package to install, as a configuration error.
  const unleashProvider = await registry.run(
    'node',
    [
      '--input-type=module',
      '-e',
      "const { UnleashProvider } = await import('@agent-canary/routing-unleash'); new UnleashProvider({ url: 'http://127.0.0.1:9', apiToken: 'token' });",
    ],
    { cwd: app, timeoutMillis: MINUTE, allowFailure: true },
  );
  expect(unleashProvider.status).not.toBe(0);
  expect(unleashProvider.stderr).toMatch(/ConfigError.*npm install unleash-client/);
  writeFileSync(
    join(app, 'langfuse.yaml'),
    [
      'flagKey: support-agent.release',
      'canaryRelease: support-v2',
      'stableRelease: support-v1',
      'routing:',
      '  provider: langfuse',
      '  options: { promptName: support, publicKey: pk-test, secretKey: sk-test, inner: { provider: embedded, options: { path: lf-routing.json } } }',
      '',
    ].join('\n'),
  );
  const langfuse = await registry.run(
    'npx',
    ['agent-canary', 'rollout', 'start', '--config', 'langfuse.yaml', '--store', 'lf.db'],
    { cwd: app, timeoutMillis: MINUTE, allowFailure: true },
  );
  expect(langfuse.status, langfuse.stderr).toBe(2);
  expect(langfuse.stderr).toContain('npm install @langfuse/client');

  const demo = await registry.run('npx', ['agent-canary', 'demo', '--scenario', 'healthy', '--json'], {
    cwd: app,
    timeoutMillis: 4 * MINUTE,
  });
  const healthy = JSON.parse(demo.stdout) as DemoJson;
  expect(healthy).toMatchObject({ ok: true, scenario: 'healthy', outcome: 'promoted' });
  expect(healthy.decisions.map((decision) => decision.to)).toEqual([
    'canary@5%',
    'canary@20%',
    'canary@50%',
    'promoted',
  ]);
  expect(existsSync(healthy.reportPath)).toBe(true);
}

/** examples/quickstart, from its README, outside the repository. */
async function quickstart(registry: LocalRegistry): Promise<void> {
  const readme = readDoc(QUICKSTART);
  const dir = registry.newDir('quickstart');
  writeJson(join(dir, 'package.json'), { name: 'quickstart', private: true, type: 'module' });
  for (const line of installLines(readme)) await registry.sh(line, { cwd: dir, timeoutMillis: 5 * MINUTE });
  for (const file of ['quickstart.ts', 'main.ts']) {
    cpSync(join(REPO_ROOT, 'examples', 'quickstart', 'src', file), join(dir, 'src', file));
  }
  const build = shellLines(readme).find((line) => line.startsWith('npx tsc '));
  const start = shellLines(readme).find((line) => line.startsWith('node '));
  expect(build, `a \`npx tsc\` line in ${QUICKSTART}`).toBeDefined();
  expect(start, `a \`node\` line in ${QUICKSTART}`).toBeDefined();
  await registry.sh(build ?? '', { cwd: dir, timeoutMillis: 2 * MINUTE });
  const run = await registry.sh(start ?? '', { cwd: dir, timeoutMillis: MINUTE });
  expect(run.stdout).toContain('every one labelled with its release and cohort');
  expect(run.stdout).toMatch(/canary\s+support@v2/);
  expect(nativeModules(join(dir, 'node_modules'))).toEqual([]);
}

/**
 * The CLI through `npx agent-canary` in an empty directory. An unscoped name is not covered
 * by the `@agent-canary` scope line of the user configuration: these commands take the local
 * registry for every package, as `npx` on a machine whose registry is the npm registry does.
 */
async function operator(registry: LocalRegistry): Promise<void> {
  const dir = registry.newDir('operator');
  const npx = { npm_config_registry: registry.url };
  const demo = await registry.run('npx', ['-y', 'agent-canary', 'demo', '--scenario', 'hard-break', '--json'], {
    cwd: dir,
    env: npx,
    timeoutMillis: 5 * MINUTE,
  });
  const hardBreak = JSON.parse(demo.stdout) as DemoJson;
  expect(hardBreak).toMatchObject({ ok: true, scenario: 'hard-break', outcome: 'rolled_back' });
  expect(hardBreak.decisions.at(-1)?.failedChecks).toContain('tool_success_rate');
  expect(existsSync(hardBreak.reportPath)).toBe(true);

  const serve = spawn(
    'npx',
    ['-y', 'agent-canary', 'serve', '--routing', 'embedded', '--port', '0', '--store', 'serve/state.db', '--json'],
    {
      cwd: dir,
      env: {
        ...registry.env,
        ...npx,
        AGENT_CANARY_API_TOKEN: 'registry-test-token-0123456789',
        AGENT_CANARY_ROUTING_FILE: 'serve/routing.json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  serve.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  serve.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => serve.once('close', resolve));
  try {
    const deadline = Date.now() + 2 * MINUTE;
    let url: string | undefined;
    while (url === undefined && Date.now() < deadline && serve.exitCode === null) {
      url = /"url": "(http:\/\/127\.0\.0\.1:\d+)"/.exec(output)?.[1];
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(url, output).toBeDefined();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  } finally {
    if (serve.pid !== undefined && serve.exitCode === null) process.kill(-serve.pid, 'SIGTERM');
    await exited;
  }
}

/** `npm install --dry-run` of every install line of the docs; returns the lines that failed, with npm's output. */
async function unresolvedInstallLines(registry: LocalRegistry): Promise<string[]> {
  const lines = [...new Set(userDocs().flatMap((page) => installLines(readDoc(page))))];
  expect(lines.length).toBeGreaterThan(5);
  const results = await inPool(lines, 4, async (line) => {
    const dir = registry.newDir(`resolve-${lines.indexOf(line)}`);
    writeJson(join(dir, 'package.json'), { name: 'resolve', private: true, type: 'module' });
    // A resolution takes seconds; npm caught in an ERESOLVE loop never ends on its own.
    const result = await registry.sh(line.replace(/^npm (install|i) /, 'npm install --dry-run '), {
      cwd: dir,
      timeoutMillis: 2 * MINUTE,
      allowFailure: true,
    });
    return { line, ...result };
  });
  return results
    .filter((result) => result.status !== 0 || /ERESOLVE/.test(result.stderr))
    .map((result) => `${result.line}\n${result.stderr.slice(-1500)}`);
}

describe.skipIf(skip)(title, () => {
  let registry: LocalRegistry | undefined;
  /** The four flows run at once (they mostly wait on the network); each test awaits its own. */
  let flows: {
    gettingStarted: Promise<void>;
    quickstart: Promise<void>;
    operator: Promise<void>;
    installLines: Promise<string[]>;
  };

  beforeAll(async () => {
    if (unavailable !== undefined) throw new Error(`CI requires the registry test: ${unavailable}`);
    const started = await startLocalRegistry();
    registry = started;
    // The release path, with the user's npm cache (pnpm itself comes from it through npx),
    // publishing to the local registry: the scoped packages and the unscoped `agent-canary`.
    const release = await started.run('npx', ['-y', 'pnpm@12.4.2', 'release'], {
      cwd: REPO_ROOT,
      env: { npm_config_cache: join(homedir(), '.npm'), npm_config_registry: started.url },
      timeoutMillis: 10 * MINUTE,
    });
    for (const pkg of publicPackages()) expect(release.stdout).toContain(`published ${pkg.name}@${pkg.version}`);
    flows = {
      gettingStarted: gettingStarted(started),
      quickstart: quickstart(started),
      operator: operator(started),
      installLines: unresolvedInstallLines(started),
    };
    // Failures are reported by the test awaiting each flow.
    for (const flow of Object.values(flows)) flow.catch(() => undefined);
  }, 12 * MINUTE);

  afterAll(async () => {
    if (flows !== undefined) await Promise.allSettled(Object.values(flows));
    await registry?.stop();
  }, 12 * MINUTE);

  it(
    'the getting-started sample rolls out on the embedded default; the CLI it installs steers it and runs the demo (healthy: promoted)',
    async () => {
      await flows.gettingStarted;
    },
    12 * MINUTE,
  );

  it(
    'the quickstart example (tag spans and export) builds with TypeScript and runs, with no native module installed',
    async () => {
      await flows.quickstart;
    },
    12 * MINUTE,
  );

  it(
    'npx agent-canary with nothing installed: the demo rolls a hard break back, serve answers /healthz',
    async () => {
      await flows.operator;
    },
    12 * MINUTE,
  );

  it(
    'every install line of the docs resolves without a conflict',
    async () => {
      expect(await flows.installLines, 'install lines that do not resolve').toEqual([]);
    },
    12 * MINUTE,
  );
});
