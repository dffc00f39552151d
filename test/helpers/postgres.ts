/**
 * A throwaway PostgreSQL 15 cluster on loopback for tests (Debian's `postgresql-15`
 * binaries). The server refuses to run as root, so when the tests run as root the data
 * directory is handed to the `postgres` OS user and every command runs as that user.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian installs the PostgreSQL 15 server binaries. */
export const POSTGRES_BIN = process.env['AGENT_CANARY_POSTGRES_BIN'] ?? '/usr/lib/postgresql/15/bin';

/** A running cluster. */
export interface PostgresHandle {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly dataDir: string;
  /** Stops the server and removes its data directory. Idempotent. */
  stop(): Promise<void>;
}

/** Why PostgreSQL cannot run here, or undefined when it can. */
export function postgresUnavailableReason(): string | undefined {
  if (!existsSync(join(POSTGRES_BIN, 'initdb')) || !existsSync(join(POSTGRES_BIN, 'pg_ctl'))) {
    return `PostgreSQL 15 binaries not found in ${POSTGRES_BIN} (apt-get install postgresql-15, or .ci/run)`;
  }
  if (userInfo().uid === 0 && !existsSync('/usr/sbin/runuser')) return 'running as root without runuser';
  return undefined;
}

/** A free TCP port on loopback (the OS picks it; a tiny race with other processes is accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts an empty cluster with trust authentication and creates `database`. */
export async function startPostgres(options: { database?: string; user?: string } = {}): Promise<PostgresHandle> {
  const reason = postgresUnavailableReason();
  if (reason !== undefined) throw new Error(reason);
  const user = options.user ?? 'canary';
  const database = options.database ?? 'canary';
  const asRoot = userInfo().uid === 0;
  const root = await mkdtemp(join(tmpdir(), 'agent-canary-pg-'));
  const dataDir = join(root, 'data');
  // As postgres: run the binary through runuser; the temp parent must be traversable.
  const exec = (bin: string, args: string[]) =>
    asRoot
      ? run('/usr/sbin/runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, bin), ...args])
      : run(join(POSTGRES_BIN, bin), args);
  if (asRoot) {
    await chmod(root, 0o755);
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(root, Number(stdout.trim()), Number(gid.trim()));
  }
  await exec('initdb', ['-D', dataDir, '-A', 'trust', '-U', user, '--no-sync']);
  const port = await freePort();
  await exec('pg_ctl', [
    '-D',
    dataDir,
    '-o',
    `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    '-l',
    join(dataDir, 'pg.log'),
    '-w',
    'start',
  ]);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    await run(join(POSTGRES_BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', user, database]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: '127.0.0.1', port, user, database, dataDir, stop };
}
