/**
 * A real `unleash-server` 7.5.1 on loopback for tests, against a throwaway PostgreSQL
 * (see `postgres.ts`), with an admin token and a backend (client SDK) token seeded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, type PostgresHandle, postgresUnavailableReason, startPostgres } from './postgres.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Environment the backend token reads and the tests write strategies to. */
export const UNLEASH_ENVIRONMENT = 'development';

/** A running Unleash with its database. */
export interface UnleashHandle {
  /** Base URL, e.g. `http://127.0.0.1:41234` (the client SDK wants `${url}/api`). */
  readonly url: string;
  /** Admin API token (`Authorization` header value). */
  readonly adminToken: string;
  /** Backend token for `unleash-client`, scoped to {@link UNLEASH_ENVIRONMENT}. */
  readonly clientToken: string;
  readonly environment: string;
  /** Stops Unleash, then PostgreSQL. Idempotent. */
  stop(): Promise<void>;
}

interface UnleashServerModule {
  start(options: Record<string, unknown>): Promise<{ stop(): Promise<void> }>;
}

/** Why Unleash cannot run here (no PostgreSQL binaries, or no unleash-server package), or undefined. */
export function unleashUnavailableReason(): string | undefined {
  const pg = postgresUnavailableReason();
  if (pg !== undefined) return pg;
  try {
    serverEntry();
    return undefined;
  } catch {
    return 'unleash-server is not installed (devDependency of packages/routing-unleash)';
  }
}

/** Skip message for `describe.skipIf`, or undefined when the tests must run. Under CI a missing service fails instead. */
export function unleashSkipReason(): string | undefined {
  const reason = unleashUnavailableReason();
  if (reason === undefined) return undefined;
  if (process.env['CI']) throw new Error(`Unleash tests cannot run under CI: ${reason}`);
  return reason;
}

function serverEntry(): string {
  // unleash-server is a devDependency of routing-unleash only, so resolve it from there.
  return createRequire(join(ROOT, 'packages', 'routing-unleash', 'package.json')).resolve('unleash-server');
}

const silent = { debug() {}, info() {}, warn() {}, error() {}, fatal() {} };

const ADMIN_TOKEN = '*:*.agent-canary-admin-secret';
const CLIENT_TOKEN = `*:${UNLEASH_ENVIRONMENT}.agent-canary-client-secret`;

/** Options of unleash-server's `start()` (but the logger) for a database and a port. */
function serverOptions(db: PostgresHandle, port: number): Record<string, unknown> {
  return {
    db: { user: db.user, password: '', host: db.host, port: db.port, database: db.database, ssl: false },
    // No signal handlers that call process.exit inside the test runner.
    server: { port, host: '127.0.0.1', gracefulShutdownEnable: false },
    // In-memory sessions: the database session store keeps a cleanup timer that outlives stop().
    session: { db: false },
    versionCheck: { enable: false },
    telemetry: false,
    // The scheduler must run: it bumps the revision (every 1 s) that invalidates the client-API cache.
    authentication: {
      initApiTokens: [
        { environment: '*', projects: ['*'], secret: ADMIN_TOKEN, type: 'admin', tokenName: 'admin' },
        {
          environment: UNLEASH_ENVIRONMENT,
          projects: ['*'],
          secret: CLIENT_TOKEN,
          type: 'client',
          tokenName: 'sdk',
        },
      ],
    },
  };
}

/** An Unleash that a test can take down and bring back (same port, same database). */
export interface RestartableUnleashHandle extends UnleashHandle {
  /** Kills the Unleash process: the Admin API stops answering at once. */
  stopServer(): Promise<void>;
  /** Starts Unleash again on the same port and database; resolves once `/health` answers. */
  startServer(): Promise<void>;
}

/**
 * Like {@link startUnleash}, with unleash-server in its own process (it cannot be started
 * twice in one process: its metrics register globally), so it can be stopped and started.
 */
export async function startRestartableUnleash(): Promise<RestartableUnleashHandle> {
  const db: PostgresHandle = await startPostgres({ database: 'unleash', user: 'unleash' });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const stopServer = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  const startServer = async () => {
    await stopServer();
    const started = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'unleash-process.ts'), JSON.stringify(serverOptions(db, port))],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    let stdout = '';
    let stderr = '';
    started.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const deadline = Date.now() + 90_000;
    while (!stdout.includes('"ready":true')) {
      if (started.exitCode !== null) throw new Error(`Unleash process exited ${started.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`Unleash did not start at ${url}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    await startServer();
  } catch (error) {
    await stopServer();
    await db.stop();
    throw error;
  }
  return {
    url,
    adminToken: ADMIN_TOKEN,
    clientToken: CLIENT_TOKEN,
    environment: UNLEASH_ENVIRONMENT,
    stopServer,
    startServer,
    async stop() {
      await stopServer();
      await db.stop();
    },
  };
}

/** Starts PostgreSQL and Unleash (migrations included: a few seconds) and waits for `/health`. */
export async function startUnleash(): Promise<UnleashHandle> {
  const db: PostgresHandle = await startPostgres({ database: 'unleash', user: 'unleash' });
  const adminToken = ADMIN_TOKEN;
  const clientToken = CLIENT_TOKEN;
  let server: { stop(): Promise<void> } | undefined;
  try {
    const module = (await import(pathToFileURL(serverEntry()).href)) as UnleashServerModule;
    const port = await freePort();
    // Unleash logs through its provider; a silent one keeps the test console clean.
    server = await module.start({ ...serverOptions(db, port), getLogger: () => silent });
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url);
    const running = server;
    let stopped = false;
    return {
      url,
      adminToken,
      clientToken,
      environment: UNLEASH_ENVIRONMENT,
      async stop() {
        if (stopped) return;
        stopped = true;
        await running.stop().catch(() => undefined);
        await db.stop();
      },
    };
  } catch (error) {
    await server?.stop().catch(() => undefined);
    await db.stop();
    throw error;
  }
}

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Unleash did not become healthy at ${url}: ${last}`);
}
