/**
 * `agent-canary serve` against hostile and broken clients (issue 17): bodies that inflate
 * far beyond their size, bodies that never finish, request targets that are not URLs,
 * bodies of the wrong shape, and senders without the ingest token. Real HTTP on loopback
 * (raw sockets where a well-behaved client cannot send the request).
 */
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '@agent-canary/conventions';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { type Attributes, type Context, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServerConfig, SERVER_ENV } from './config.js';
import { RpcStatus } from './otlp/schema.js';
import { type AgentCanaryServer, startServer } from './server.js';

const ASSIGNMENT: Attributes = {
  'agent_canary.release.id': 'v2',
  'agent_canary.cohort': 'canary',
  'agent_canary.rollout.id': 'r-1',
};
const INGEST_TOKEN = 'ingest-token-0123456789abcdef';
const API_TOKEN = 'api-token-0123456789abcdef';
const JSON_TYPE = { 'content-type': 'application/json' };
const PROTOBUF = { 'content-type': 'application/x-protobuf' };

/** Finished SDK spans: `turns` agent turns. */
function spans(turns: number): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('hostile-test');
  for (let i = 0; i < turns; i++) {
    const turn = tracer.startSpan('invoke_agent a', {
      attributes: { ...ASSIGNMENT, 'gen_ai.operation.name': 'invoke_agent', 'agent_canary.subject': `s${i}` },
    });
    tracer
      .startSpan(
        'execute_tool t',
        { attributes: { ...ASSIGNMENT, 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 't' } },
        trace.setSpan(context.active(), turn),
      )
      .end();
    turn.end();
  }
  return exporter.getFinishedSpans();
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function postTraces(server: AgentCanaryServer, body: Uint8Array | string, headers: Record<string, string>) {
  return send(`${server.url}/v1/traces`, { method: 'POST', headers, body });
}

/** Writes raw bytes on a new connection; resolves with everything the server sent until it closed. */
function raw(server: AgentCanaryServer, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(server.port, '127.0.0.1', () => socket.end(text));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
}

/**
 * A connection that posts a body of `declared` bytes and sends only `sent` of them. Resolves
 * once they are written; `closed` resolves with what the server answered when it closed.
 */
function slowBody(
  server: AgentCanaryServer,
  declared: number,
  sent: number,
): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(server.port, '127.0.0.1');
    const closed = new Promise<string>((resolveClosed) => socket.on('close', () => resolveClosed(received)));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.write(
        `POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n`,
      );
      socket.write(' '.repeat(sent), () => resolve({ socket, closed }));
    });
    socket.once('error', reject);
  });
}

/** Records what it receives. */
class RecordingProcessor implements SpanProcessor {
  readonly received: ReadableSpan[] = [];
  onStart(_span: Span, _context: Context): void {}
  onEnd(span: ReadableSpan): void {
    this.received.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const servers: AgentCanaryServer[] = [];
async function start(options: Parameters<typeof startServer>[0]): Promise<AgentCanaryServer> {
  const server = await startServer({ port: 0, env: {}, ...options });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.shutdown()));
});

async function until(check: () => boolean, timeoutMillis = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `{"resourceSpans":[{"scopeSpans":[{"spans":[{},{},...]}]}]}` with `count` empty spans. */
function emptySpansJson(count: number): Buffer {
  return Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[${'{},'.repeat(count - 1)}{}]}]}]}`);
}

/** The same in protobuf: each empty span is 2 bytes (field 2 of ScopeSpans, length 0). */
function emptySpansProtobuf(count: number): Buffer {
  const spansBytes = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++) spansBytes[i * 2] = 0x12;
  const wrap = (field: number, body: Buffer) =>
    Buffer.concat([Buffer.from([(field << 3) | 2]), varint(body.length), body]);
  return wrap(1, wrap(2, spansBytes));
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

describe('decompression amplification', () => {
  it('refuses a small gzip body that inflates to millions of spans, while inflating it (413)', async () => {
    const recorder = new RecordingProcessor();
    const server = await start({ spanProcessors: [recorder] });
    // 15 MB of JSON, 5 million empty spans, about 15 KB compressed.
    const json = gzipSync(emptySpansJson(5_000_000));
    expect(json.length).toBeLessThan(40_000);
    const answer = await postTraces(server, json, { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body.toString())).toMatchObject({
      code: 3,
      message: expect.stringMatching(/10000 spans/),
    });
    const protobuf = gzipSync(emptySpansProtobuf(5_000_000));
    const protobufAnswer = await postTraces(server, protobuf, { ...PROTOBUF, 'content-encoding': 'gzip' });
    expect(protobufAnswer.status).toBe(413);
    expect(RpcStatus.decode(protobufAnswer.body).toJSON().message).toMatch(/maxSpansPerRequest/);
    expect(recorder.received).toHaveLength(0);
    expect(server.receiverStats()).toMatchObject({ tooLarge: 2, acceptedSpans: 0, rejectedSpans: 0, inFlightBytes: 0 });
  });

  it('counts spans and objects against their caps in either encoding; a batch within them is accepted', async () => {
    const recorder = new RecordingProcessor();
    const server = await start({ spanProcessors: [recorder], maxSpansPerRequest: 10, maxObjectsPerRequest: 200 });
    const batch = spans(5); // 10 spans, about 10 objects each in JSON
    const json = JsonTraceSerializer.serializeRequest(batch) as Uint8Array;
    expect((await postTraces(server, json, JSON_TYPE)).status).toBe(200);
    const protobuf = ProtobufTraceSerializer.serializeRequest(batch) as Uint8Array;
    expect((await postTraces(server, protobuf, PROTOBUF)).status).toBe(200);
    const eleven = ProtobufTraceSerializer.serializeRequest([...batch, ...spans(1).slice(0, 1)]) as Uint8Array;
    const tooMany = await postTraces(server, eleven, PROTOBUF);
    expect(tooMany.status).toBe(413);
    expect(RpcStatus.decode(tooMany.body).toJSON().message).toMatch(/more than 10 spans/);
    // One span with 300 attributes: few spans, too many objects.
    const wide = JSON.stringify({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                  startTimeUnixNano: '1800000000000000000',
                  endTimeUnixNano: '1800000000100000000',
                  attributes: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } })),
                },
              ],
            },
          ],
        },
      ],
    });
    const wideAnswer = await postTraces(server, wide, JSON_TYPE);
    expect(wideAnswer.status).toBe(413);
    expect(JSON.parse(wideAnswer.body.toString()).message).toMatch(/more than 200 objects \(maxObjectsPerRequest\)/);
    await until(() => recorder.received.length === 20);
    expect(server.receiverStats()).toMatchObject({ acceptedSpans: 20, tooLarge: 2 });
  });

  it('refuses bodies nested deeper than 64 levels (400), whatever the encoding', async () => {
    const server = await start({ spanProcessors: [new RecordingProcessor()] });
    const deepJson = `{"resourceSpans":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const json = await postTraces(server, deepJson, JSON_TYPE);
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString()).message).toMatch(/deeper than 64/);
    // AnyValue -> ArrayValue -> AnyValue ... inside one attribute, 1 000 levels.
    let value = Buffer.alloc(0);
    for (let i = 0; i < 1000; i++) {
      const array = Buffer.concat([Buffer.from([0x0a]), varint(value.length), value]); // ArrayValue.values
      value = Buffer.concat([Buffer.from([0x2a]), varint(array.length), array]); // AnyValue.array_value
    }
    const keyValue = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12]), varint(value.length), value]);
    const span = Buffer.concat([Buffer.from([0x4a]), varint(keyValue.length), keyValue]); // Span.attributes
    const scopeSpans = Buffer.concat([Buffer.from([0x12]), varint(span.length), span]);
    const resourceSpans = Buffer.concat([Buffer.from([0x12]), varint(scopeSpans.length), scopeSpans]);
    const request = Buffer.concat([Buffer.from([0x0a]), varint(resourceSpans.length), resourceSpans]);
    const protobuf = await postTraces(server, request, PROTOBUF);
    expect(protobuf.status).toBe(400);
    expect(RpcStatus.decode(protobuf.body).toJSON().message).toMatch(/deeper than 64/);
  });

  it('holds inflated bytes against maxInFlightBytes as they inflate, before parsing (429)', async () => {
    const server = await start({
      spanProcessors: [new RecordingProcessor()],
      maxRequestBytes: 100_000,
      maxDecompressedBytes: 1_000_000,
      maxInFlightBytes: 1_100_000,
    });
    // Two slow bodies hold 198 000 bytes; a 1 KB gzip body inflating to 1 MB no longer fits.
    const slow = await Promise.all([slowBody(server, 100_000, 99_000), slowBody(server, 100_000, 99_000)]);
    await until(() => server.receiverStats().inFlightBytes === 198_000);
    const padded = Buffer.from(`{"resourceSpans":[]${' '.repeat(999_000)}}`);
    const answer = await postTraces(server, gzipSync(padded), { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('1');
    for (const { socket } of slow) socket.destroy();
    await until(() => server.receiverStats().inFlightBytes === 0);
    const again = await postTraces(server, gzipSync(padded), { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(again.status).toBe(200);
  });
});

describe('slow bodies and idle connections', () => {
  it('keeps accepting valid exports while 16 connections dribble 4 MiB bodies', async () => {
    const recorder = new RecordingProcessor();
    const server = await start({ spanProcessors: [recorder] });
    const attackers = await Promise.all(Array.from({ length: 16 }, () => slowBody(server, 4 * 1024 * 1024, 10)));
    const body = ProtobufTraceSerializer.serializeRequest(spans(2)) as Uint8Array;
    for (let i = 0; i < 20; i++) {
      expect((await postTraces(server, body, PROTOBUF)).status).toBe(200);
    }
    await until(() => recorder.received.length === 80);
    // The attackers hold what they sent, not what they declared.
    expect(server.receiverStats().inFlightBytes).toBe(160);
    for (const attacker of attackers) attacker.socket.destroy();
  });

  it('answers 408 to a body that does not arrive within bodyTimeoutMillis and closes its connection', async () => {
    const server = await start({ spanProcessors: [new RecordingProcessor()], bodyTimeoutMillis: 300 });
    const slow = await slowBody(server, 1000, 10);
    const answer = await slow.closed;
    expect(statusOf(answer)).toBe(408);
    expect(answer).toMatch(/connection: close/i);
    expect(answer).toMatch(/did not arrive within 300 ms/);
    expect(server.receiverStats()).toMatchObject({ timedOut: 1, inFlightBytes: 0 });
  });

  it('closes connections that send nothing (headersTimeoutMillis) or idle after a request (idleTimeoutMillis)', async () => {
    const server = await start({
      spanProcessors: [new RecordingProcessor()],
      headersTimeoutMillis: 300,
      idleTimeoutMillis: 300,
    });
    const silent = connect(server.port, '127.0.0.1');
    let timedOut = '';
    silent.on('data', (chunk: Buffer) => {
      timedOut += chunk.toString();
    });
    silent.on('error', () => {});
    await new Promise<void>((resolve) => silent.on('close', () => resolve()));
    expect(statusOf(timedOut)).toBe(408);
    const idle = connect(server.port, '127.0.0.1', () => idle.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n'));
    let answered = '';
    idle.on('data', (chunk: Buffer) => {
      answered += chunk.toString();
    });
    idle.on('error', () => {});
    await new Promise<void>((resolve) => idle.on('close', () => resolve()));
    expect(statusOf(answered)).toBe(200);
  });
});

describe('malformed requests get 4xx, never 5xx', () => {
  it('answers 400 to request targets that are not URLs', async () => {
    const server = await start({ spanProcessors: [new RecordingProcessor()] });
    for (const target of ['http://[', 'http://localhost:99999/healthz', 'http://[::1/v1/traces', '//[']) {
      const answer = await raw(server, `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      expect(statusOf(answer), target).toBe(400);
      expect(answer, target).toMatch(/not a valid URL/);
    }
    // Node's own parser answers what is not HTTP at all.
    const notHttp = await raw(server, 'GET http://a b/ HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(statusOf(notHttp)).toBe(400);
    // The absolute form of a valid URL is routed as its path.
    const absolute = await raw(
      server,
      `GET http://localhost:4318/healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
    );
    expect(statusOf(absolute)).toBe(200);
  });

  it('answers 400 to rollout ids with broken percent-encoding', async () => {
    const { RolloutController, RolloutStore, inProcessSource } = await import('@agent-canary/controller');
    const { InMemoryRoutingAdapter } = await import('@agent-canary/conventions/testing');
    const { createGate, resolveGateConfig } = await import('@agent-canary/gate');
    const store = new RolloutStore();
    const behavior = new BehaviorSpanProcessor();
    const controller = new RolloutController({
      store,
      routing: new InMemoryRoutingAdapter(),
      gate: createGate(resolveGateConfig(), inProcessSource(behavior)),
      env: {},
    });
    await controller.start({ id: 'r-1', flagKey: 'agent.release', canaryRelease: 'v2', stableRelease: 'v1' });
    const server = await start({ controller, store, apiToken: API_TOKEN, spanProcessors: [behavior] });
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    for (const path of ['/v1/rollouts/%ZZ', '/v1/rollouts/%FF', '/v1/rollouts/%E0%A4/verdicts']) {
      const answer = await send(`${server.url}${path}`, { headers: auth });
      expect(answer.status, path).toBe(400);
      expect(JSON.parse(answer.body.toString()).error).toMatchObject({ code: 'BAD_REQUEST' });
    }
    const action = await send(`${server.url}/v1/rollouts/%FF/pause`, {
      method: 'POST',
      headers: { ...auth, ...JSON_TYPE },
      body: '{"actor":"a","reason":"b"}',
    });
    expect(action.status).toBe(400);
    expect((await send(`${server.url}/v1/rollouts/r%2D1`, { headers: auth })).status).toBe(200);
  });

  it('answers 400 to a JSON body that is an array, not an export request', async () => {
    const recorder = new RecordingProcessor();
    const server = await start({ spanProcessors: [recorder] });
    for (const body of ['[]', '[[{"resourceSpans":[]}]]', '[{"resourceSpans":[]}]', 'null', '"text"', '42']) {
      const answer = await postTraces(server, body, JSON_TYPE);
      expect(answer.status, body).toBe(400);
      expect(JSON.parse(answer.body.toString()).message, body).toMatch(/not an ExportTraceServiceRequest object/);
    }
  });
});

describe('authenticated ingest', () => {
  it('requires the ingest token on /v1/traces, and the SDK exporter sends it from OTEL_EXPORTER_OTLP_HEADERS', async () => {
    const behavior = new BehaviorSpanProcessor();
    const server = await start({ spanProcessors: [behavior], ingestToken: INGEST_TOKEN });
    const body = ProtobufTraceSerializer.serializeRequest(spans(1)) as Uint8Array;
    const none = await postTraces(server, body, PROTOBUF);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(RpcStatus.decode(none.body).toJSON()).toMatchObject({ code: 16, message: expect.stringMatching(/token/) });
    const wrong = await postTraces(server, '{}', { ...JSON_TYPE, authorization: `Bearer ${INGEST_TOKEN}x` });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body.toString())).toMatchObject({ code: 16 });
    const right = await postTraces(server, body, { ...PROTOBUF, authorization: `Bearer ${INGEST_TOKEN}` });
    expect(right.status).toBe(200);
    expect(server.receiverStats()).toMatchObject({ unauthorized: 2, acceptedSpans: 2 });
    // The documented exporter setting: the SDK reads the header from the environment.
    const saved = process.env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'];
    process.env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'] = `Authorization=Bearer%20${INGEST_TOKEN}`;
    try {
      const exporter = new OTLPTraceExporter({ url: `${server.url}/v1/traces` });
      const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
        exporter.export(spans(3), resolve),
      );
      expect(result.error).toBeUndefined();
      await exporter.shutdown();
    } finally {
      if (saved === undefined) delete process.env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'];
      else process.env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'] = saved;
    }
    await until(() => behavior.window().series.find((series) => series.rolloutId === 'r-1')?.turns === 4);
  });

  it('is on by default beyond loopback: without a token the server refuses to start, naming the option', () => {
    const processors = [new RecordingProcessor()];
    const open = () => resolveServerConfig({ host: '0.0.0.0', spanProcessors: processors, env: {} });
    expect(open).toThrow(ConfigError);
    expect(open).toThrow(/ingestToken/);
    expect(open).toThrow(new RegExp(SERVER_ENV.ingestToken));
    expect(() => resolveServerConfig({ host: '10.0.0.5', spanProcessors: processors, env: {} })).toThrow(/ingestToken/);
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) {
      expect(resolveServerConfig({ host, spanProcessors: processors, env: {} }).ingestToken).toBeUndefined();
    }
    const withToken = resolveServerConfig({
      host: '0.0.0.0',
      spanProcessors: processors,
      env: { [SERVER_ENV.ingestToken]: INGEST_TOKEN },
    });
    expect(withToken.ingestToken).toBe(INGEST_TOKEN);
    const optedOut = resolveServerConfig({
      host: '0.0.0.0',
      spanProcessors: processors,
      env: { [SERVER_ENV.allowUnauthenticatedIngest]: 'true' },
    });
    expect(optedOut).toMatchObject({ ingestToken: undefined, allowUnauthenticatedIngest: true });
    expect(() =>
      resolveServerConfig({ spanProcessors: processors, env: { [SERVER_ENV.allowUnauthenticatedIngest]: 'yes' } }),
    ).toThrow(/env\.AGENT_CANARY_ALLOW_UNAUTHENTICATED_INGEST/);
    // The receiver off: nothing to protect.
    expect(resolveServerConfig({ host: '0.0.0.0', env: {} }).ingestToken).toBeUndefined();
  });

  it('validates the ingest token: 16+ characters, not the API token, never echoed', () => {
    const processors = [new RecordingProcessor()];
    const short = () => resolveServerConfig({ spanProcessors: processors, ingestToken: 'secret-short', env: {} });
    expect(short).toThrow(/ingestToken: expected a token of at least 16 characters, received "12 characters"/);
    expect(() =>
      resolveServerConfig({
        spanProcessors: processors,
        ingestToken: API_TOKEN,
        apiToken: API_TOKEN,
        env: {},
      }),
    ).toThrow(/ingestToken: expected a token different from apiToken/);
  });

  it('reads limits and timeouts from the environment below options, and checks them', () => {
    const config = resolveServerConfig({
      maxSpansPerRequest: 50,
      env: {
        [SERVER_ENV.maxSpansPerRequest]: '20',
        [SERVER_ENV.bodyTimeoutMillis]: '2500',
        [SERVER_ENV.maxObjectsPerRequest]: '1000',
      },
    });
    expect(config).toMatchObject({ maxSpansPerRequest: 50, bodyTimeoutMillis: 2500, maxObjectsPerRequest: 1000 });
    expect(() => resolveServerConfig({ env: { [SERVER_ENV.idleTimeoutMillis]: '5s' } })).toThrow(
      /env\.AGENT_CANARY_IDLE_TIMEOUT_MILLIS: expected a positive integer/,
    );
    expect(() => resolveServerConfig({ maxInFlightBytes: 1000, env: {} })).toThrow(
      /maxInFlightBytes: expected at least maxRequestBytes \+ maxDecompressedBytes/,
    );
  });
});
