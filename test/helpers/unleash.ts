/**
 * A real `unleash-server` 7.5.1 on loopback for tests, against a throwaway PostgreSQL
 * (see `postgres.ts`), with an admin token and a backend (client SDK) token seeded.
 */
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

/** Starts PostgreSQL and Unleash (migrations included: a few seconds) and waits for `/health`. */
export async function startUnleash(): Promise<UnleashHandle> {
  const db: PostgresHandle = await startPostgres({ database: 'unleash', user: 'unleash' });
  const adminToken = '*:*.agent-canary-admin-secret';
  const clientToken = `*:${UNLEASH_ENVIRONMENT}.agent-canary-client-secret`;
  let server: { stop(): Promise<void> } | undefined;
  try {
    const module = (await import(pathToFileURL(serverEntry()).href)) as UnleashServerModule;
    const port = await freePort();
    server = await module.start({
      db: { user: db.user, password: '', host: db.host, port: db.port, database: db.database, ssl: false },
      // No signal handlers that call process.exit inside the test runner.
      server: { port, host: '127.0.0.1', gracefulShutdownEnable: false },
      // In-memory sessions: the database session store keeps a cleanup timer that outlives stop().
      session: { db: false },
      // Unleash logs through its provider; a silent one keeps the test console clean.
      getLogger: () => silent,
      versionCheck: { enable: false },
      telemetry: false,
      // The scheduler must run: it bumps the revision (every 1 s) that invalidates the client-API cache.
      authentication: {
        initApiTokens: [
          { environment: '*', projects: ['*'], secret: adminToken, type: 'admin', tokenName: 'admin' },
          { environment: UNLEASH_ENVIRONMENT, projects: ['*'], secret: clientToken, type: 'client', tokenName: 'sdk' },
        ],
      },
    });
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
