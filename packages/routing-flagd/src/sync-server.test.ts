/**
 * The flagd sync server against real gRPC clients (@grpc/grpc-js, and raw HTTP/2 for clients
 * that misbehave). End-to-end tests with the real flagd provider: test/routing-flagd-sync.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@agent-canary/conventions';
import * as grpc from '@grpc/grpc-js';
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allowConsole } from '../../../test/setup/no-console.js';
import { createFlagdAdapter, type FlagdRoutingAdapter } from './adapter.js';
import { resolveFlagdSyncServerConfig } from './sync-config.js';
import { encodeSyncRequest, FLAG_SYNC_METHOD } from './sync-proto.js';
import { type FlagdSyncServer, startFlagdSyncServer } from './sync-server.js';
import { FLAG_SYNC_SERVICE_DEFINITION } from './sync-service.js';

const FLAG = 'agent-release';
type RoutingSplit = Parameters<FlagdRoutingAdapter['apply']>[0];
const SyncClient = grpc.makeGenericClientConstructor(FLAG_SYNC_SERVICE_DEFINITION, 'FlagSyncService');

interface Client extends grpc.Client {
  syncFlags(request: object): grpc.ClientReadableStream<{ flagConfiguration: string }>;
  fetchAllFlags(request: object, callback: (error: grpc.ServiceError | null, answer?: unknown) => void): void;
  getMetadata(request: object, callback: (error: grpc.ServiceError | null, answer?: unknown) => void): void;
}

let dir: string;
let path: string;
const cleanup: (() => unknown)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flagd-sync-'));
  path = join(dir, 'flags.json');
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  rmSync(dir, { recursive: true, force: true });
});

function split(canaryBasisPoints: number, rolloutId = 'r1'): RoutingSplit {
  return {
    flagKey: FLAG,
    rolloutId,
    canaryRelease: 'v2',
    stableRelease: 'v1',
    canaryBasisPoints,
    controlBasisPoints: 0,
  };
}

async function start(options: { maxStreams?: number; port?: number; shutdownTimeoutMillis?: number } = {}) {
  const server = await startFlagdSyncServer({ path, port: 0, ...options });
  cleanup.push(() => server.close());
  return server;
}

function client(server: FlagdSyncServer, options: Partial<grpc.ClientOptions> = {}): Client {
  const created = new SyncClient(
    `127.0.0.1:${server.port}`,
    grpc.credentials.createInsecure(),
    options,
  ) as unknown as Client;
  cleanup.push(() => created.close());
  return created;
}

/** The canary weight of the agent-release flag in a pushed configuration. */
function canaryWeight(configuration: string): number | undefined {
  const flag = (
    JSON.parse(configuration) as { flags: Record<string, { targeting?: { fractional: [string, number][] } }> }
  ).flags[FLAG];
  return flag?.targeting?.fractional[0]?.[1];
}

/** Collects a stream's messages; `next` waits for the first one (not yet taken) matching `predicate`. */
function collect(stream: grpc.ClientReadableStream<{ flagConfiguration: string }>) {
  const received: string[] = [];
  let taken = 0;
  let failure: grpc.ServiceError | undefined;
  const listeners = new Set<() => void>();
  stream.on('data', (message: { flagConfiguration: string }) => {
    received.push(message.flagConfiguration);
    for (const listener of listeners) listener();
  });
  stream.on('error', (error: grpc.ServiceError) => {
    failure = error;
    for (const listener of listeners) listener();
  });
  const wait = <T>(check: () => T | undefined, what: string, timeoutMillis = 5_000): Promise<T> =>
    new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value === undefined) return;
        listeners.delete(attempt);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        listeners.delete(attempt);
        reject(new Error(`no ${what} within ${timeoutMillis} ms; received ${received.length} messages`));
      }, timeoutMillis);
      listeners.add(attempt);
      attempt();
    });
  return {
    received,
    next: (predicate: (configuration: string) => boolean = () => true) =>
      wait(() => {
        while (taken < received.length) {
          const configuration = received[taken++] as string;
          if (predicate(configuration)) return configuration;
        }
        return undefined;
      }, 'matching message'),
    error: () => wait(() => failure, 'error status'),
  };
}

function unary(call: (callback: (error: grpc.ServiceError | null, answer?: unknown) => void) => void) {
  return new Promise<{ error: grpc.ServiceError | null; answer: unknown }>((resolve) =>
    call((error, answer) => resolve({ error, answer })),
  );
}

/** A raw HTTP/2 gRPC call that never reads its response: the server's writes to it stall on flow control. */
function stalledSyncCall(server: FlagdSyncServer) {
  const session = http2Connect(`http://127.0.0.1:${server.port}`);
  session.on('error', () => undefined);
  const request = session.request({
    ':method': 'POST',
    ':path': FLAG_SYNC_METHOD.syncFlags,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  request.on('error', () => undefined);
  const body = encodeSyncRequest({});
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  request.end(frame);
  request.pause();
  const chunks: Buffer[] = [];
  cleanup.push(() => session.destroy());
  return {
    /** Starts reading; resolves with the gRPC messages received until the stream ends. */
    drain(): Promise<string[]> {
      return new Promise((resolve) => {
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        const finish = () => resolve(framesOf(Buffer.concat(chunks)));
        request.on('end', finish);
        request.on('close', finish);
        request.resume();
      });
    },
    close: () => session.destroy(),
  };
}

/** Splits gRPC length-prefixed frames and decodes each SyncFlagsResponse's flag_configuration. */
function framesOf(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let offset = 0; offset + 5 <= bytes.length; ) {
    const length = bytes.readUInt32BE(offset + 1);
    const message = bytes.subarray(offset + 5, offset + 5 + length);
    out.push(
      FLAG_SYNC_SERVICE_DEFINITION['syncFlags']?.responseDeserialize(message).flagConfiguration as unknown as string,
    );
    offset += 5 + length;
  }
  return out;
}

const until = async (condition: () => boolean, timeoutMillis = 5_000) => {
  const deadline = Date.now() + timeoutMillis;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('flagd sync server', () => {
  it('streams the current configuration first, then each split the adapter writes, before apply resolves', async () => {
    await createFlagdAdapter({ path }).apply(split(5000));
    const server = await start();
    const routing = createFlagdAdapter({ path, sync: server });
    const stream = collect(client(server).syncFlags({}));
    expect(canaryWeight(await stream.next())).toBe(5000);
    await until(() => server.status().streams === 1);
    const applied = await routing.apply(split(0));
    expect(applied.acknowledged).toBe(true);
    // Pushed during apply: the message is on its way (or there) when apply resolves.
    expect(canaryWeight(await stream.next())).toBe(0);
    expect(server.status()).toMatchObject({ streams: 1, changes: 1 });
    // Applying the split the file already routes pushes nothing.
    await routing.apply(split(0));
    expect(server.status().changes).toBe(1);
  });

  it('pushes splits written to the file by another process (the CLI, a hand edit)', async () => {
    const server = await start();
    const stream = collect(client(server).syncFlags({ selector: 'ignored' }));
    expect(JSON.parse(await stream.next())).toEqual({ flags: {} });
    await createFlagdAdapter({ path }).apply(split(2500));
    expect(canaryWeight(await stream.next((configuration) => canaryWeight(configuration) === 2500))).toBe(2500);
  });

  it('answers FetchAllFlags with the current configuration and GetMetadata with empty metadata', async () => {
    await createFlagdAdapter({ path }).apply(split(1000));
    const server = await start();
    const sync = client(server);
    const fetched = await unary((callback) => sync.fetchAllFlags({}, callback));
    expect(fetched.error).toBeNull();
    expect(canaryWeight((fetched.answer as { flagConfiguration: string }).flagConfiguration)).toBe(1000);
    const metadata = await unary((callback) => sync.getMetadata({}, callback));
    expect(metadata.error).toBeNull();
    expect([...(metadata.answer as Buffer)]).toEqual([0x12, 0x00]);
  });

  it('keeps serving the last good configuration when the file stops being a flag file', async () => {
    await createFlagdAdapter({ path }).apply(split(1000));
    const server = await start();
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message) } as unknown as DiagLogger;
    diag.setLogger(
      { ...logger, error: () => {}, info: () => {}, debug: () => {}, verbose: () => {} },
      DiagLogLevel.WARN,
    );
    cleanup.push(() => diag.disable());
    writeFileSync(path, '{"flags": ');
    await server.refresh();
    expect(warnings.join('\n')).toMatch(/flags\.json is not valid JSON .*; still serving the last good configuration/);
    const sync = client(server);
    const fetched = await unary((callback) => sync.fetchAllFlags({}, callback));
    expect(canaryWeight((fetched.answer as { flagConfiguration: string }).flagConfiguration)).toBe(1000);
    await expect(startFlagdSyncServer({ path, port: 0 })).rejects.toThrow(/flags\.json is not valid JSON/);
  });

  it('answers bad clients with a status and keeps serving the others', async () => {
    const server = await start({ maxStreams: 2 });
    // Bytes that are not a request: INVALID_ARGUMENT, not INTERNAL.
    const garbage = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    cleanup.push(() => garbage.close());
    const invalid = await new Promise<grpc.ServiceError | null>((resolve) =>
      garbage.makeUnaryRequest(
        FLAG_SYNC_METHOD.fetchAllFlags,
        () => Buffer.from([0xff, 0xff, 0xff]),
        (bytes: Buffer) => bytes,
        {},
        (error) => resolve(error),
      ),
    );
    expect(invalid?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const invalidStream = collect(
      garbage.makeServerStreamRequest(
        FLAG_SYNC_METHOD.syncFlags,
        () => Buffer.from([0x0f]),
        (bytes: Buffer) => ({ flagConfiguration: bytes.toString() }),
        {},
      ),
    );
    expect((await invalidStream.error()).code).toBe(grpc.status.INVALID_ARGUMENT);
    // An oversized request.
    const sync = client(server);
    const huge = await unary((callback) => sync.fetchAllFlags({ selector: 'x'.repeat(100_000) }, callback));
    expect(huge.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // Not HTTP/2 at all: garbage bytes and an HTTP/1.1 request.
    for (const payload of ['\u0000\u0001garbage\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n']) {
      await new Promise<void>((resolve) => {
        const socket = netConnect(server.port, '127.0.0.1', () => socket.end(payload));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    }
    // Past maxStreams: RESOURCE_EXHAUSTED until a stream ends.
    const first = sync.syncFlags({});
    first.on('error', () => undefined);
    const second = collect(sync.syncFlags({}));
    await second.next();
    await until(() => server.status().streams === 2);
    const third = collect(sync.syncFlags({}));
    expect((await third.error()).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    first.cancel();
    await until(() => server.status().streams === 1);
    const fourth = collect(sync.syncFlags({}));
    expect(JSON.parse(await fourth.next())).toEqual({ flags: {} });
  });

  it('holds at most the latest configuration for a client that does not read, which gets the latest when it does', async () => {
    // Configurations larger than an HTTP/2 flow-control window, so a client that does not read stalls the server's writes.
    const padding = 'x'.repeat(200_000);
    const write = (weight: number) =>
      createFlagdAdapter({ path })
        .apply(split(weight))
        .then(() => {
          const file = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
          writeFileSync(path, JSON.stringify({ ...file, metadata: { padding } }));
        });
    await write(100);
    const server = await start();
    const stalled = stalledSyncCall(server);
    await until(() => server.status().streams === 1 && server.status().heldMessages === 1);
    const reader = collect(client(server).syncFlags({}));
    await reader.next();
    for (let weight = 101; weight <= 150; weight++) {
      await write(weight);
      await server.refresh();
      // Two streams, at most two messages each.
      expect(server.status().heldMessages).toBeLessThanOrEqual(4);
    }
    // The reading client got every change; the stalled one holds two messages, not fifty.
    await reader.next((configuration) => canaryWeight(configuration) === 150);
    await until(() => server.status().heldMessages === 2);
    expect(server.status().streams).toBe(2);
    const drained = stalled.drain();
    await until(() => server.status().heldMessages === 0);
    await server.close();
    const messages = await drained;
    expect(messages.length).toBeLessThanOrEqual(3);
    expect(canaryWeight(messages.at(-1) as string)).toBe(150);
  });

  it('ends every stream with UNAVAILABLE on close, even with a client that does not read, and frees the port', async () => {
    const server = await start({ shutdownTimeoutMillis: 500 });
    const port = server.port;
    const stream = collect(client(server).syncFlags({}));
    await stream.next();
    stalledSyncCall(server);
    await until(() => server.status().streams === 2);
    const started = Date.now();
    await Promise.all([server.close(), server.close()]);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await stream.error()).code).toBe(grpc.status.UNAVAILABLE);
    await expect(server.refresh()).resolves.toBeUndefined();
    const next = await start({ port });
    expect(next.port).toBe(port);
  });

  it('refuses a port that is taken, naming it', async () => {
    // @grpc/grpc-js itself logs the failed bind to the console (GRPC_VERBOSITY decides); this package prints nothing.
    allowConsole();
    const server = await start();
    await expect(startFlagdSyncServer({ path, port: server.port })).rejects.toThrow(
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${server.port}`),
    );
  });
});

describe('resolveFlagdSyncServerConfig', () => {
  it('layers defaults < environment < options', () => {
    expect(resolveFlagdSyncServerConfig({ path: 'a.json' }, {})).toMatchObject({ port: 8015, host: '127.0.0.1' });
    const env = {
      AGENT_CANARY_FLAGD_FILE: 'env.json',
      AGENT_CANARY_FLAGD_SYNC_PORT: '9015',
      AGENT_CANARY_FLAGD_SYNC_HOST: '0.0.0.0',
    };
    expect(resolveFlagdSyncServerConfig({}, env)).toMatchObject({ path: 'env.json', port: 9015, host: '0.0.0.0' });
    expect(resolveFlagdSyncServerConfig({ port: 0, host: '::' }, env)).toMatchObject({ port: 0, host: '::' });
  });

  it('names the field of an invalid value', () => {
    const fail = (options: object, env: Record<string, string> = {}) => {
      try {
        resolveFlagdSyncServerConfig(options, env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).path;
      }
      throw new Error('no ConfigError');
    };
    expect(fail({})).toBe('path');
    expect(fail({ path: 'a', port: 70_000 })).toBe('port');
    expect(fail({ path: 'a' }, { AGENT_CANARY_FLAGD_SYNC_PORT: 'http' })).toBe('env.AGENT_CANARY_FLAGD_SYNC_PORT');
    expect(fail({ path: 'a', maxStreams: 0 })).toBe('maxStreams');
    expect(fail({ path: 'a', shutdownTimeoutMillis: -1 })).toBe('shutdownTimeoutMillis');
  });

  it('refuses an adapter whose sync server serves another file', async () => {
    const server = await start();
    expect(() => createFlagdAdapter({ path: join(dir, 'other.json'), sync: server })).toThrow(ConfigError);
  });
});
