/**
 * A throwaway npm registry on loopback (Verdaccio 6.8, the last line that runs on Node 20)
 * standing in for the npm registry as far as `@agent-canary/*` goes: what `pnpm release`
 * publishes to it is what the apps installed from it get. Config, storage, users, the npm
 * cache and the apps live in one temporary directory outside the repository, removed by
 * `stop()`.
 *
 * The user configuration it hands out (`npm_config_userconfig`) sends the `@agent-canary`
 * scope to this registry and everything else to the npm registry, as a user's npm does.
 * (Verdaccio also proxies the npm registry for other packages, but it fetches full
 * package documents one by one: an install through it took 85 s where the same
 * resolution straight from the npm registry took 14 s.)
 *
 * better-sqlite3 (the controller's store) downloads a prebuilt binary from GitHub at install
 * time and compiles from source when that fails. GitHub is out of reach here, so a second
 * loopback server hands out the binary this workspace built, at the address
 * prebuild-install asks for (`npm_config_better_sqlite3_binary_host`): installs take what a
 * user's take, not a minute of compiling each.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { freePort } from './prometheus.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
/** The npm registry the local one proxies for third-party packages. */
export const UPSTREAM_REGISTRY = 'https://registry.npmjs.org/';

/** Why the registry tests cannot run here, or undefined when they can. */
export async function registryUnavailableReason(): Promise<string | undefined> {
  const verdaccio = join(REPO_ROOT, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
  if (!existsSync(verdaccio)) return 'verdaccio is not installed (pnpm install)';
  try {
    const response = await fetch(`${UPSTREAM_REGISTRY}-/ping`, { signal: AbortSignal.timeout(10_000) });
    return response.ok ? undefined : `${UPSTREAM_REGISTRY} answered ${response.status}`;
  } catch (error) {
    return `${UPSTREAM_REGISTRY} is unreachable (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** What a finished command printed. */
export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly millis: number;
}

/** Options of {@link LocalRegistry.run}. */
export interface RunOptions {
  readonly cwd: string;
  /** Kills the command after this long. @default 300_000 */
  readonly timeoutMillis?: number;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Resolve with a non-zero status instead of throwing. @default false */
  readonly allowFailure?: boolean;
}

/** A running registry. */
export interface LocalRegistry {
  /** e.g. `http://127.0.0.1:40123/` */
  readonly url: string;
  /** The temporary directory holding everything (outside the repository). */
  readonly dir: string;
  /**
   * The environment of a user's shell pointed at this registry: no variable of the workspace's
   * package manager, nothing of the repository on PATH, a fresh npm cache.
   */
  readonly env: Readonly<Record<string, string>>;
  /** A new empty directory under {@link dir}. */
  newDir(name: string): string;
  /** Runs a command (no shell) with {@link env}; throws with its output when it fails. */
  run(command: string, args: readonly string[], options: RunOptions): Promise<CommandResult>;
  /** Runs a shell line as a user types it (`npm install a b`). */
  sh(line: string, options: RunOptions): Promise<CommandResult>;
  /** Verdaccio's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** A user's environment: this process's, without the package manager's variables or the repository on PATH. */
function userEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(npm_|pnpm_|PNPM_|VITEST|NODE_OPTIONS$|TSX_|INIT_CWD$)/i.test(key)) continue;
    env[key] = value;
  }
  // Nothing of the repository, of its node_modules or of the package manager running the tests.
  env['PATH'] = (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter(
      (entry) =>
        entry !== '' &&
        !entry.startsWith(REPO_ROOT) &&
        !entry.includes(join('node_modules', '.bin')) &&
        !entry.includes(join('@npmcli', 'run-script')),
    )
    .join(delimiter);
  return env;
}

/** The prebuilt better-sqlite3 binary of this workspace, packed the way its releases on GitHub are. */
function betterSqlitePrebuild(dir: string): { file: string; name: string } | undefined {
  try {
    const requireFromController = createRequire(join(REPO_ROOT, 'packages', 'controller', 'package.json'));
    const packageJson = requireFromController.resolve('better-sqlite3/package.json');
    const root = dirname(packageJson);
    const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
    if (!existsSync(join(root, 'build', 'Release', 'better_sqlite3.node'))) return undefined;
    const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    const file = join(dir, name);
    execFileSync('tar', ['-czf', file, '-C', root, 'build/Release/better_sqlite3.node']);
    return { file, name };
  } catch {
    return undefined;
  }
}

function serveFile(file: { file: string; name: string } | undefined, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    if (file !== undefined && request.method === 'GET' && basename(request.url ?? '') === file.name) {
      response.writeHead(200, { 'content-type': 'application/gzip' });
      response.end(readFileSync(file.file));
      return;
    }
    response.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function collect(child: ChildProcess, started: number, timeoutMillis: number): Promise<CommandResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // The command runs in its own process group: end it and whatever it started.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }
      stderr += `\n[killed after ${timeoutMillis} ms]`;
    }, timeoutMillis);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, millis: Date.now() - started });
    });
  });
}

/** Starts Verdaccio with its config and storage in a new temporary directory. */
export async function startLocalRegistry(): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-canary-registry-'));
  const [port, binaryPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}/`;
  const config = join(dir, 'verdaccio.yaml');
  writeFileSync(
    config,
    [
      `storage: ${join(dir, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${join(dir, 'htpasswd')}`,
      'uplinks:',
      '  npmjs:',
      `    url: ${UPSTREAM_REGISTRY}`,
      '    timeout: 60s',
      '    maxage: 30m',
      'packages:',
      // Ours come only from what the release published here, never from the upstream registry.
      "  '@agent-canary/*':",
      '    access: $all',
      '    publish: $authenticated',
      "  'agent-canary':",
      '    access: $all',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      '    proxy: npmjs',
      'web:',
      '  enable: false',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  const env = userEnvironment();
  const server = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules', 'verdaccio', 'bin', 'verdaccio'),
      '--config',
      config,
      '--listen',
      `127.0.0.1:${port}`,
    ],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  server.stdout?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  server.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const binaries = await serveFile(betterSqlitePrebuild(dir), binaryPort);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    server.kill('SIGTERM');
    // prebuild-install keeps its connection alive: close it, or close() waits for it.
    binaries.closeAllConnections();
    await new Promise<void>((resolve) => binaries.close(() => resolve()));
    // Hundreds of megabytes of installs: removed off the event loop (a synchronous removal
    // blocks the test worker long enough for its runner's RPC calls to time out).
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await fetch(`${url}-/ping`).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`Verdaccio did not start:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // A publisher account (htpasswd), as `npm adduser` creates it.
    const user = await fetch(`${url}-/user/org.couchdb.user:release`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'release', password: 'release-password', type: 'user', roles: [] }),
    });
    const { token } = (await user.json()) as { token?: string };
    if (!user.ok || token === undefined) throw new Error(`could not create a publisher on Verdaccio: ${user.status}`);
    const npmrc = join(dir, 'npmrc');
    writeFileSync(npmrc, `@agent-canary:registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
    Object.assign(env, {
      npm_config_userconfig: npmrc,
      npm_config_cache: join(dir, 'npm-cache'),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      npm_config_better_sqlite3_binary_host: `http://127.0.0.1:${binaryPort}`,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const run = (command: string, args: readonly string[], options: RunOptions): Promise<CommandResult> => {
    const started = Date.now();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return collect(child, started, options.timeoutMillis ?? 300_000).then((result) => {
      if (result.status !== 0 && options.allowFailure !== true) {
        throw new Error(
          `\`${[command, ...args].join(' ')}\` in ${options.cwd} exited ${result.status}:\n` +
            `${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
        );
      }
      return result;
    });
  };
  return {
    url,
    dir,
    env,
    newDir: (name) => {
      const path = join(dir, 'apps', name);
      mkdirSync(path, { recursive: true });
      return path;
    },
    run,
    sh: (line, options) => run('bash', ['-c', line], options),
    log: () => log,
    stop,
  };
}
