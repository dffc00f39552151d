import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Server, ServerUnaryCall, ServerWritableStream, status as Status, sendUnaryData } from '@grpc/grpc-js';
import { diag } from '@opentelemetry/api';
import {
  type FlagdSyncServerConfig,
  type FlagdSyncServerOptions,
  resolveFlagdSyncServerConfig,
} from './sync-config.js';
import {
  encodeFetchAllFlagsResponse,
  encodeGetMetadataResponse,
  encodeSyncFlagsResponse,
  type SyncRequest,
} from './sync-proto.js';
import { FLAG_SYNC_SERVICE_DEFINITION } from './sync-service.js';

type Grpc = typeof import('@grpc/grpc-js');

/** What the server holds right now, for health checks and dashboards. */
export interface FlagdSyncStatus {
  /** `SyncFlags` streams open (one per connected provider). */
  readonly streams: number;
  /**
   * Configuration messages held for streams whose client has not taken the previous one
   * yet: at most two per stream (the one being sent and the latest), whatever the number of
   * writes meanwhile, so a slow client costs bounded memory and gets the latest split.
   */
  readonly heldMessages: number;
  /** Times the served configuration changed since the server started (0 = as loaded at start). */
  readonly changes: number;
}

/** One open `SyncFlags` stream. */
interface Subscriber {
  readonly call: ServerWritableStream<SyncRequest, Buffer>;
  /** The latest configuration not yet handed to the stream. */
  pending: Buffer | undefined;
  /** A message is handed to the stream and not yet written out. */
  inFlight: boolean;
  closed: boolean;
}

/** Requests are tiny (two strings); anything bigger is not a flagd provider. */
const MAX_REQUEST_BYTES = 64 * 1024;
/** Server pings find connections whose peer vanished (a killed replica) and free their streams. */
const KEEPALIVE_TIME_MILLIS = 30_000;
const KEEPALIVE_TIMEOUT_MILLIS = 10_000;
const EMPTY_CONFIGURATION = '{"flags":{}}';

/**
 * Serves a flagd flag file over flagd's own sync protocol (gRPC `flagd.sync.v1.FlagSyncService`,
 * as the flagd daemon does), so agent apps running the official `@openfeature/flagd-provider`
 * in in-process mode with `host`/`port` pointed here evaluate locally and get every change the
 * moment it is written: no flagd daemon, no file polling on the app side.
 *
 * - `SyncFlags` sends the whole current configuration at once (a provider that connects late
 *   starts on the current split), then again after every change.
 * - `FetchAllFlags` answers the current configuration; `GetMetadata` (deprecated in flagd)
 *   answers empty metadata. The `selector` is accepted and ignored: one file, one flag set.
 * - Changes: the flagd adapter calls {@link refresh} after each write (`createFlagdAdapter({
 *   sync })`); writes by other processes (the CLI, a hand edit) are seen by watching the
 *   file's directory. A file that stops being a flag file is reported through `diag` and the
 *   last good configuration stays served.
 * - Bad clients get a status, never a crash: INVALID_ARGUMENT for bytes that are not a request,
 *   RESOURCE_EXHAUSTED past `maxStreams` or for oversized requests. A slow client holds at most
 *   two messages; newer configurations replace the one waiting ({@link FlagdSyncStatus}).
 * - {@link close} ends every stream with UNAVAILABLE (never OK: the provider only reconnects
 *   after an error), so providers reconnect to the next server and resync.
 *
 * Start one with {@link startFlagdSyncServer}.
 */
export class FlagdSyncServer {
  /** The resolved configuration. */
  readonly config: FlagdSyncServerConfig;
  private readonly grpc: Grpc;
  private readonly server: Server;
  private readonly subscribers = new Set<Subscriber>();
  private boundPort = 0;
  private configuration = EMPTY_CONFIGURATION;
  private message: Buffer = encodeSyncFlagsResponse(EMPTY_CONFIGURATION);
  private changes = 0;
  private watcher: FSWatcher | undefined;
  private reloads: Promise<void> = Promise.resolve();
  private queuedReload: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private started = false;

  /** Use {@link startFlagdSyncServer}: it resolves the options and loads `@grpc/grpc-js`. */
  constructor(config: FlagdSyncServerConfig, grpc: Grpc) {
    this.config = config;
    this.grpc = grpc;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
      'grpc.keepalive_time_ms': KEEPALIVE_TIME_MILLIS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MILLIS,
    });
    this.server.addService(FLAG_SYNC_SERVICE_DEFINITION, {
      syncFlags: (call: ServerWritableStream<SyncRequest, Buffer>) => this.onSyncFlags(call),
      fetchAllFlags: (call: ServerUnaryCall<SyncRequest, Buffer>, callback: sendUnaryData<Buffer>) =>
        this.onUnary(call, callback, () => encodeFetchAllFlagsResponse(this.configuration)),
      getMetadata: (call: ServerUnaryCall<SyncRequest, Buffer>, callback: sendUnaryData<Buffer>) =>
        this.onUnary(call, callback, encodeGetMetadataResponse),
    });
  }

  /** The bound TCP port (the chosen one when `port` was 0). */
  get port(): number {
    return this.boundPort;
  }

  /** `host:port` to give the flagd provider (`host`, `port` options). */
  get address(): string {
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `${host}:${this.boundPort}`;
  }

  /** Streams, held messages and changes served so far. */
  status(): FlagdSyncStatus {
    let heldMessages = 0;
    for (const subscriber of this.subscribers) {
      if (subscriber.pending !== undefined) heldMessages++;
      if (subscriber.inFlight) heldMessages++;
    }
    return { streams: this.subscribers.size, heldMessages, changes: this.changes };
  }

  /** Loads the file, binds the port and starts watching; {@link startFlagdSyncServer} does this once. */
  async start(): Promise<void> {
    if (this.started) throw new Error('this flagd sync server is already started');
    this.started = true;
    const loaded = await this.load();
    if (!loaded.ok) throw new Error(loaded.problem);
    this.setConfiguration(loaded.configuration, false);
    this.boundPort = await new Promise<number>((resolve, reject) => {
      const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
      this.server.bindAsync(
        `${host}:${this.config.port}`,
        this.grpc.ServerCredentials.createInsecure(),
        (error, port) => {
          if (error)
            reject(new Error(`flagd sync server cannot listen on ${host}:${this.config.port}: ${error.message}`));
          else resolve(port);
        },
      );
    });
    this.watch();
  }

  /**
   * Re-reads the flag file and, when its flags changed, pushes the new configuration to every
   * open stream. Resolves once the message is handed to every stream. Never rejects: a file
   * that is not a flag file is reported through `diag` and the last good one stays served.
   */
  refresh(): Promise<void> {
    if (this.closing !== undefined) return Promise.resolve();
    // One reload runs and at most one waits; the waiting one starts after the running one
    // ends, so it sees every write made before this call.
    if (this.queuedReload === undefined) {
      const queued = this.reloads.then(() => {
        this.queuedReload = undefined;
        return this.reload();
      });
      this.queuedReload = queued;
      this.reloads = queued.catch((error) => diag.error('agent-canary flagd sync: reload failed', error));
    }
    return this.queuedReload.catch(() => undefined);
  }

  /**
   * Stops watching, ends every stream with UNAVAILABLE so providers reconnect (to the next
   * server) and resync, and stops the gRPC server; connections still open after
   * `shutdownTimeoutMillis` are cut. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    await this.reloads;
    for (const subscriber of [...this.subscribers]) {
      this.end(subscriber, this.grpc.status.UNAVAILABLE, 'the flagd sync server is shutting down; reconnect');
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, this.config.shutdownTimeoutMillis);
      timer.unref?.();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private onSyncFlags(call: ServerWritableStream<SyncRequest, Buffer>): void {
    const status = this.grpc.status;
    const request = call.request;
    const refusal = !request.ok
      ? { code: status.INVALID_ARGUMENT, details: request.problem }
      : this.closing !== undefined
        ? { code: status.UNAVAILABLE, details: 'the flagd sync server is shutting down' }
        : this.subscribers.size >= this.config.maxStreams
          ? { code: status.RESOURCE_EXHAUSTED, details: `this server serves at most ${this.config.maxStreams} streams` }
          : undefined;
    if (refusal !== undefined) {
      this.refuse(call, refusal.code, refusal.details);
      return;
    }
    const subscriber: Subscriber = { call, pending: this.message, inFlight: false, closed: false };
    this.subscribers.add(subscriber);
    const forget = () => {
      subscriber.closed = true;
      subscriber.pending = undefined;
      this.subscribers.delete(subscriber);
    };
    call.on('cancelled', forget);
    call.on('close', forget);
    call.on('error', forget);
    this.pump(subscriber);
  }

  private onUnary(
    call: ServerUnaryCall<SyncRequest, Buffer>,
    callback: sendUnaryData<Buffer>,
    answer: () => Buffer,
  ): void {
    const request = call.request;
    if (!request.ok) callback({ code: this.grpc.status.INVALID_ARGUMENT, details: request.problem });
    else callback(null, answer());
  }

  private refuse(call: ServerWritableStream<SyncRequest, Buffer>, code: Status, details: string): void {
    // The stream's own 'error' listener turns this into the call's status and ends it.
    call.emit('error', { code, details });
  }

  private end(subscriber: Subscriber, code: Status, details: string): void {
    if (subscriber.closed) return;
    subscriber.closed = true;
    subscriber.pending = undefined;
    this.subscribers.delete(subscriber);
    this.refuse(subscriber.call, code, details);
  }

  /** Hands the subscriber its latest message once the previous one is written out. */
  private pump(subscriber: Subscriber): void {
    const message = subscriber.pending;
    if (subscriber.closed || subscriber.inFlight || message === undefined) return;
    subscriber.pending = undefined;
    subscriber.inFlight = true;
    try {
      subscriber.call.write(message, (error: Error | null | undefined) => {
        subscriber.inFlight = false;
        if (error) this.end(subscriber, this.grpc.status.UNAVAILABLE, 'write failed');
        else this.pump(subscriber);
      });
    } catch (error) {
      subscriber.inFlight = false;
      diag.debug('agent-canary flagd sync: write to a closing stream failed', error);
      this.end(subscriber, this.grpc.status.UNAVAILABLE, 'write failed');
    }
  }

  private async reload(): Promise<void> {
    if (this.closing !== undefined) return;
    const loaded = await this.load();
    if (!loaded.ok) {
      diag.warn(`agent-canary flagd sync: ${loaded.problem}; still serving the last good configuration`);
      return;
    }
    this.setConfiguration(loaded.configuration, true);
  }

  private setConfiguration(configuration: string, broadcast: boolean): void {
    if (configuration === this.configuration) return;
    this.configuration = configuration;
    this.message = encodeSyncFlagsResponse(configuration);
    if (!broadcast) return;
    this.changes++;
    for (const subscriber of this.subscribers) {
      subscriber.pending = this.message;
      this.pump(subscriber);
    }
  }

  /** The file as a compact flag configuration, `{"flags":{}}` when it does not exist yet. */
  private async load(): Promise<{ ok: true; configuration: string } | { ok: false; problem: string }> {
    const path = this.config.path;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { ok: true, configuration: EMPTY_CONFIGURATION };
      return { ok: false, problem: `cannot read flag file ${path} (${code ?? (error as Error).message})` };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return { ok: false, problem: `flag file ${path} is not valid JSON (${(error as Error).message})` };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { ok: false, problem: `flag file ${path} is not a JSON object` };
    }
    const flags = (parsed as Record<string, unknown>)['flags'];
    if (flags !== undefined && (typeof flags !== 'object' || flags === null || Array.isArray(flags))) {
      return { ok: false, problem: `flag file ${path} has a "flags" member that is not an object` };
    }
    return { ok: true, configuration: JSON.stringify(flags === undefined ? { ...parsed, flags: {} } : parsed) };
  }

  /** Watches the directory: the adapter replaces the file by rename, which a watch on the file itself would lose. */
  private watch(): void {
    const name = basename(this.config.path);
    try {
      this.watcher = watch(dirname(this.config.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename === name) void this.refresh();
      });
      this.watcher.on('error', (error) =>
        diag.warn('agent-canary flagd sync: watching the flag file failed; only the adapter writes are pushed', error),
      );
    } catch (error) {
      diag.warn('agent-canary flagd sync: cannot watch the flag file; only the adapter writes are pushed', error);
    }
  }
}

/**
 * Starts a {@link FlagdSyncServer} on `host:port` serving the flag file `path`. Needs
 * `@grpc/grpc-js` (already installed with `@openfeature/flagd-provider`).
 *
 * @throws ConfigError for invalid options; Error when the file is not a flag file or the port is taken.
 * @example
 * const sync = await startFlagdSyncServer({ path: '/var/lib/agent-canary/flags.json', host: '0.0.0.0' });
 * const routing = createFlagdAdapter({ path: sync.config.path, sync });
 * // app side: new FlagdProvider({ resolverType: 'in-process', host: 'controller', port: 8015 })
 */
export async function startFlagdSyncServer(options: FlagdSyncServerOptions = {}): Promise<FlagdSyncServer> {
  const config = resolveFlagdSyncServerConfig(options);
  const grpc = await import('@grpc/grpc-js');
  const server = new FlagdSyncServer(config, grpc);
  try {
    await server.start();
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}
