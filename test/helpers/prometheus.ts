/**
 * A throwaway Prometheus on loopback for tests (Debian's `prometheus` package, 2.42 here):
 * its own config and data directory, scraping the given targets every second. Prometheus
 * 2.42 has no OTLP receiver, so the processes under test expose `/metrics` through
 * `@opentelemetry/exporter-prometheus` and this server scrapes them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the Debian package installs the server. */
export const PROMETHEUS_BIN = process.env['AGENT_CANARY_PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';

/** Why Prometheus cannot run here, or undefined when it can. */
export function prometheusUnavailableReason(): string | undefined {
  if (!existsSync(PROMETHEUS_BIN)) return `${PROMETHEUS_BIN} not found (apt-get install prometheus)`;
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

/** A running server. */
export interface PrometheusHandle {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Server output so far (for failure messages; never printed). */
  output(): string;
  /** Runs an instant query and returns the raw JSON body. */
  query(promql: string): Promise<unknown>;
  /**
   * Stops the server and removes its data directory (kept with `keepData`, to start
   * another server on it: `startPrometheus({ ..., port, dataDir })`). Idempotent.
   */
  stop(options?: { keepData?: boolean }): Promise<void>;
  readonly port: number;
  /** Where its TSDB lives. */
  readonly dataDir: string;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMillis: number, output: () => string) {
  const deadline = Date.now() + timeoutMillis;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `timed out after ${timeoutMillis} ms waiting for ${what}; Prometheus said:\n${output().slice(-2000)}`,
  );
}

/**
 * Starts Prometheus scraping `targets` (`host:port`, path `/metrics`) every second, and
 * resolves once every target has been scraped successfully (`up == 1`). `port` and
 * `dataDir` restart a stopped server where it was.
 */
export async function startPrometheus(options: {
  targets: readonly string[];
  job?: string;
  port?: number;
  dataDir?: string;
}): Promise<PrometheusHandle> {
  const reason = prometheusUnavailableReason();
  if (reason !== undefined) throw new Error(reason);
  const job = options.job ?? 'agents';
  const dir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'agent-canary-prom-')));
  const config = join(dir, 'prometheus.yml');
  const targets = options.targets.map((target) => `'${target}'`).join(', ');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      `  - job_name: ${job}`,
      '    scrape_interval: 1s',
      '    scrape_timeout: 1s',
      '    static_configs:',
      `      - targets: [${targets}]`,
      '',
    ].join('\n'),
  );
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', (code, signal) => {
    exited = true;
    log += `\n[prometheus exited: code ${code}, signal ${signal}]`;
  });
  const output = () => log;
  let stopped = false;
  const stop = async (stopOptions: { keepData?: boolean } = {}) => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    if (!stopOptions.keepData) await rm(dir, { recursive: true, force: true });
  };
  const query = async (promql: string) => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    return response.json() as Promise<unknown>;
  };
  try {
    await waitFor('/-/ready', async () => !exited && (await fetch(`${url}/-/ready`)).ok, 30_000, output);
    await waitFor(
      `a successful scrape of ${options.targets.join(', ')}`,
      async () => {
        const body = (await query(`min(up{job="${job}"})`)) as { data?: { result?: { value?: [number, string] }[] } };
        const result = body.data?.result ?? [];
        return result.length > 0 && result[0]?.value?.[1] === '1';
      },
      30_000,
      output,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, output, query, stop, port, dataDir: dir };
}
