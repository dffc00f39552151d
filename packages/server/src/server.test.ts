import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { inProcessSource, RolloutController, RolloutStore } from '@agent-canary/controller';
import { ConfigError } from '@agent-canary/conventions';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import { createGate, resolveGateConfig } from '@agent-canary/gate';
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
import { ExportTraceServiceResponse, RpcStatus } from './otlp/schema.js';
import { type AgentCanaryServer, startServer } from './server.js';

const TOKEN = 'test-token-0123456789abcdef';
const ASSIGNMENT: Attributes = {
  'agent_canary.release.id': 'v2',
  'agent_canary.cohort': 'canary',
  'agent_canary.rollout.id': 'r-1',
};

/** Finished SDK spans: `turns` agent turns, each with one tool call. */
function spans(turns: number): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('server-test');
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

/**
 * Opens a connection that posts a JSON body of `declared` bytes to the receiver and sends
 * only `sent` of them; resolves once they are written.
 */
function slowBody(server: AgentCanaryServer, declared: number, sent: number, headers = ''): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      socket.write(
        `POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n${headers}\r\n`,
      );
      socket.write(' '.repeat(sent), () => resolve(socket));
    });
    socket.on('error', reject);
  });
}

const PROTOBUF = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

/** Records what it receives; can be made slow to fill the queue. */
class RecordingProcessor implements SpanProcessor {
  readonly received: ReadableSpan[] = [];
  shutdowns = 0;
  onStart(_span: Span, _context: Context): void {}
  onEnd(span: ReadableSpan): void {
    this.received.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    this.shutdowns++;
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

describe('OTLP receiver', () => {
  it('feeds protobuf, JSON and gzip requests to the behaviour processor', async () => {
    const behavior = new BehaviorSpanProcessor();
    const server = await start({ spanProcessors: [behavior] });
    const batch = spans(3);
    const protobuf = await postTraces(server, ProtobufTraceSerializer.serializeRequest(batch) as Uint8Array, PROTOBUF);
    expect(protobuf.status).toBe(200);
    expect(protobuf.headers['content-type']).toBe('application/x-protobuf');
    expect(ExportTraceServiceResponse.decode(protobuf.body).toJSON()).toEqual({});
    const json = await postTraces(server, JsonTraceSerializer.serializeRequest(batch) as Uint8Array, JSON_TYPE);
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body.toString())).toEqual({});
    const gzip = await postTraces(server, gzipSync(ProtobufTraceSerializer.serializeRequest(batch) as Uint8Array), {
      ...PROTOBUF,
      'content-encoding': 'gzip',
    });
    expect(gzip.status).toBe(200);
    await until(() => server.receiverStats().processedSpans === 18);
    // Every byte held while reading and decompressing was released.
    expect(server.receiverStats().inFlightBytes).toBe(0);
    // One series of the rollout (its twin outside rollouts holds the release's users per period).
    const inRollout = behavior.window().series.filter((series) => series.rolloutId !== undefined);
    expect(inRollout).toHaveLength(1);
    expect(inRollout[0]).toMatchObject({ release: 'v2', cohort: 'canary', rolloutId: 'r-1', turns: 9 });
    expect(inRollout[0]?.toolCalls).toEqual({ t: { ok: 9, error: 0 } });
  });

  it('receives from the real OTLP/HTTP exporter of the OpenTelemetry SDK', async () => {
    const behavior = new BehaviorSpanProcessor();
    const server = await start({ spanProcessors: [behavior] });
    const exporter = new OTLPTraceExporter({ url: `${server.url}/v1/traces` });
    const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(spans(5), resolve));
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(0);
    await until(() => server.receiverStats().processedSpans === 10);
    expect(behavior.window().series.find((series) => series.rolloutId === 'r-1')).toMatchObject({ turns: 5 });
    await exporter.shutdown();
  });

  it('answers partial success with the rejected count and reasons, in the request encoding', async () => {
    const recorder = new RecordingProcessor();
    const server = await start({ spanProcessors: [recorder] });
    const good = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      startTimeUnixNano: '1800000000000000000',
      endTimeUnixNano: '1800000000100000000',
    };
    const body = JSON.stringify({
      resourceSpans: [
        { scopeSpans: [{ spans: [good, { ...good, traceId: 'short' }, { ...good, endTimeUnixNano: '5' }] }] },
      ],
    });
    const json = await postTraces(server, body, JSON_TYPE);
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body.toString())).toEqual({
      partialSuccess: {
        rejectedSpans: 2,
        errorMessage: '2 span(s) rejected: 1 invalid trace id, 1 end time missing or before start time',
      },
    });
    // protobuf: a span without ids, encoded by the SDK serializer with a broken id.
    const batch = spans(1);
    const broken = [
      { ...batch[0], spanContext: () => ({ traceId: '0'.repeat(32), spanId: 'b7ad6b7169203331', traceFlags: 1 }) },
    ];
    const bytes = ProtobufTraceSerializer.serializeRequest([...(broken as ReadableSpan[]), batch[1] as ReadableSpan]);
    const protobuf = await postTraces(server, bytes as Uint8Array, PROTOBUF);
    const decoded = ExportTraceServiceResponse.decode(protobuf.body).toJSON();
    expect(decoded).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: '1 span(s) rejected: 1 invalid trace id' },
    });
    await until(() => recorder.received.length === 2);
    expect(server.receiverStats()).toMatchObject({ acceptedSpans: 2, rejectedSpans: 3 });
  });

  it('answers 400 with a google.rpc.Status for a body that is not OTLP, 415 for other media', async () => {
    const server = await start({ spanProcessors: [new RecordingProcessor()] });
    const bad = await postTraces(server, Uint8Array.from([0x0a, 0xff, 0xff]), PROTOBUF);
    expect(bad.status).toBe(400);
    expect(RpcStatus.decode(bad.body).toJSON()).toMatchObject({
      code: 3,
      message: expect.stringMatching(/not an OTLP/),
    });
    const badJson = await postTraces(server, '{"resourceSpans": {}}', JSON_TYPE);
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body.toString())).toMatchObject({ code: 3 });
    const gzipLie = await postTraces(server, 'plain', { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(gzipLie.status).toBe(400);
    expect((await postTraces(server, 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await postTraces(server, 'x', { ...JSON_TYPE, 'content-encoding': 'br' })).status).toBe(415);
    expect((await send(`${server.url}/v1/traces`)).status).toBe(405);
  });

  it('answers 413 past the body limit and past the decompressed limit (gzip bomb)', async () => {
    const server = await start({
      spanProcessors: [new RecordingProcessor()],
      maxRequestBytes: 10_000,
      maxDecompressedBytes: 50_000,
    });
    const big = await postTraces(server, 'x'.repeat(20_000), JSON_TYPE);
    expect(big.status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(1_000_000, 32));
    expect(bomb.length).toBeLessThan(10_000);
    const bombAnswer = await postTraces(server, bomb, { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(bombAnswer.status).toBe(413);
    expect(JSON.parse(bombAnswer.body.toString()).message).toMatch(/decompressed/);
    expect(server.receiverStats().tooLarge).toBe(2);
  });

  it('answers 429 with Retry-After when the span queue is full, and accepts again once drained', async () => {
    const recorder = new RecordingProcessor();
    const server = await start({ spanProcessors: [recorder], maxQueuedSpans: 10, retryAfterSeconds: 2 });
    const body = ProtobufTraceSerializer.serializeRequest(spans(6)) as Uint8Array; // 12 spans > 10
    const tooMany = await postTraces(server, body, PROTOBUF);
    expect(tooMany.status).toBe(429);
    expect(tooMany.headers['retry-after']).toBe('2');
    expect(RpcStatus.decode(tooMany.body).toJSON()).toMatchObject({ code: 8 });
    const fits = ProtobufTraceSerializer.serializeRequest(spans(4)) as Uint8Array; // 8 spans
    expect((await postTraces(server, fits, PROTOBUF)).status).toBe(200);
    await until(() => recorder.received.length === 8);
    expect((await postTraces(server, fits, PROTOBUF)).status).toBe(200);
    await until(() => recorder.received.length === 16);
    expect(server.receiverStats()).toMatchObject({ throttled: 1, acceptedSpans: 16, queuedSpans: 0 });
  });

  it('answers 429 when the bytes held by bodies being read leave no room for the next one', async () => {
    const server = await start({
      spanProcessors: [new RecordingProcessor()],
      maxRequestBytes: 4000,
      maxDecompressedBytes: 4000,
      maxInFlightBytes: 8000,
    });
    // Two bodies of 4000 bytes stop after 3900: they hold 7800 bytes of the 8000.
    const slow = await Promise.all([slowBody(server, 4000, 3900), slowBody(server, 4000, 3900)]);
    await until(() => server.receiverStats().inFlightBytes === 7800);
    const answer = await postTraces(server, 'x'.repeat(2000), JSON_TYPE);
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('1');
    for (const socket of slow) socket.destroy();
    await until(() => server.receiverStats().inFlightBytes === 0);
    expect((await postTraces(server, '{"resourceSpans":[]}', JSON_TYPE)).status).toBe(200);
  });

  it('shuts down gracefully: drains the queue, shuts the processors down, refuses new work', async () => {
    const recorder = new RecordingProcessor();
    const server = await startServer({ port: 0, env: {}, spanProcessors: [recorder] });
    const body = ProtobufTraceSerializer.serializeRequest(spans(50)) as Uint8Array;
    expect((await postTraces(server, body, PROTOBUF)).status).toBe(200);
    expect((await send(`${server.url}/readyz`)).status).toBe(200);
    await server.shutdown();
    await server.closed;
    expect(recorder.received).toHaveLength(100);
    expect(recorder.shutdowns).toBe(1);
    await server.shutdown(); // idempotent
    expect(recorder.shutdowns).toBe(1);
    await expect(send(`${server.url}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('without span processors, the receiver is off (404)', async () => {
    const server = await start({});
    expect((await postTraces(server, '{}', JSON_TYPE)).status).toBe(404);
    expect((await send(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('controller API', () => {
  let dir: string;

  async function withController() {
    dir = mkdtempSync(join(tmpdir(), 'agent-canary-server-'));
    const store = new RolloutStore({ path: join(dir, 'store.db') });
    const routing = new InMemoryRoutingAdapter();
    const behavior = new BehaviorSpanProcessor();
    const gate = createGate(resolveGateConfig(), inProcessSource(behavior));
    const controller = new RolloutController({ store, routing, gate, env: {} });
    await controller.start({ id: 'r-1', flagKey: 'agent.release', canaryRelease: 'v2', stableRelease: 'v1' });
    await controller.tick();
    const server = await start({ controller, store, apiToken: TOKEN, spanProcessors: [behavior] });
    return { server, store, routing, controller };
  }

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const auth = { authorization: `Bearer ${TOKEN}` };

  it('refuses requests without the right bearer token', async () => {
    const { server } = await withController();
    const none = await send(`${server.url}/v1/rollouts/r-1`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await send(`${server.url}/v1/rollouts/r-1`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const post = await send(`${server.url}/v1/rollouts/r-1/rollback`, {
      method: 'POST',
      headers: { ...JSON_TYPE, authorization: 'Basic abc' },
      body: '{"actor":"a","reason":"b"}',
    });
    expect(post.status).toBe(401);
  });

  it('reports status and verdicts with evidence', async () => {
    const { server } = await withController();
    const status = await send(`${server.url}/v1/rollouts/r-1`, { headers: auth });
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body.toString())).toMatchObject({
      rolloutId: 'r-1',
      phase: 'canary',
      canaryRelease: 'v2',
      canaryBasisPoints: 500,
    });
    const verdicts = JSON.parse(
      (await send(`${server.url}/v1/rollouts/r-1/verdicts?limit=5`, { headers: auth })).body.toString(),
    );
    expect(verdicts.verdicts).toHaveLength(1);
    expect(verdicts.verdicts[0]).toMatchObject({ verdict: 'inconclusive', result: { checks: expect.any(Array) } });
    const list = JSON.parse((await send(`${server.url}/v1/rollouts`, { headers: auth })).body.toString());
    expect(list.rollouts.map((r: { rolloutId: string }) => r.rolloutId)).toEqual(['r-1']);
    expect((await send(`${server.url}/v1/rollouts/nope`, { headers: auth })).status).toBe(404);
    expect((await send(`${server.url}/v1/rollouts/r-1/verdicts?limit=0`, { headers: auth })).status).toBe(400);
  });

  it('runs manual actions with actor and reason, audited; refusals are 409 with the controller code', async () => {
    const { server, store, routing } = await withController();
    const act = (action: string, body: unknown) =>
      send(`${server.url}/v1/rollouts/r-1/${action}`, {
        method: 'POST',
        headers: { ...JSON_TYPE, ...auth },
        body: JSON.stringify(body),
      });
    expect((await act('pause', { actor: 'ana' })).status).toBe(400);
    const paused = await act('pause', { actor: 'ana', reason: 'checking a ticket' });
    expect(paused.status).toBe(200);
    expect(JSON.parse(paused.body.toString()).status.phase).toBe('paused');
    expect((await act('resume', { actor: 'ana', reason: 'fine' })).status).toBe(200);
    const rolledBack = await act('rollback', { actor: 'bo', reason: 'bad answers' });
    expect(JSON.parse(rolledBack.body.toString()).status.phase).toBe('rolled_back');
    expect((await routing.read('agent.release'))?.canaryBasisPoints).toBe(0);
    const refused = await act('promote', { actor: 'bo', reason: 'oops' });
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body.toString()).error.code).toBe('AGENT_CANARY_INVALID_TRANSITION');
    expect(store.manualActions('r-1').map((a) => [a.action, a.actor, a.accepted])).toEqual([
      ['pause', 'ana', true],
      ['resume', 'ana', true],
      ['rollback', 'bo', true],
      ['promote', 'bo', false],
    ]);
    expect((await send(`${server.url}/v1/rollouts/r-1/pause`, { headers: auth })).status).toBe(405);
    expect((await act('explode', { actor: 'a', reason: 'b' })).status).toBe(404);
  });

  it('shows a rollback the flag system has not taken as pending, and re-asserts it on rollback', async () => {
    const { server, routing } = await withController();
    const act = (action: string) =>
      send(`${server.url}/v1/rollouts/r-1/${action}`, {
        method: 'POST',
        headers: { ...JSON_TYPE, ...auth },
        body: JSON.stringify({ actor: 'bo', reason: 'bad answers' }),
      });
    routing.setOutage({ reads: false });
    const rolledBack = JSON.parse((await act('rollback')).body.toString());
    expect(rolledBack).toMatchObject({
      ok: true,
      status: { phase: 'rolled_back', routingPending: true, alerts: ['routing_pending'] },
    });
    const status = JSON.parse((await send(`${server.url}/v1/rollouts/r-1`, { headers: auth })).body.toString());
    expect(status).toMatchObject({
      phase: 'rolled_back',
      canaryBasisPoints: 0,
      routingPending: true,
      routing: { pending: true, routed: { canaryBasisPoints: 500, controlBasisPoints: 500, source: 'read_back' } },
    });
    const list = JSON.parse((await send(`${server.url}/v1/rollouts`, { headers: auth })).body.toString());
    expect(list.rollouts[0]).toMatchObject({ rolloutId: 'r-1', routingPending: true });
    routing.setOutage(undefined);
    const reasserted = await act('rollback');
    expect(reasserted.status).toBe(200);
    expect(JSON.parse(reasserted.body.toString())).toMatchObject({
      ok: true,
      status: { phase: 'rolled_back', routingPending: false, alerts: [] },
    });
    expect(await routing.read('agent.release')).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0 });
    // Abort of an ended rollout stays refused.
    expect((await act('abort')).status).toBe(409);
  });

  it('closes the store on shutdown after the controller is idle', async () => {
    const { server, store } = await withController();
    await server.shutdown();
    expect(() => store.getRollout('r-1')).toThrow();
    const reopened = new RolloutStore({ path: join(dir, 'store.db') });
    expect(reopened.getRollout('r-1')?.state.phase).toBe('canary');
    reopened.close();
  });
});

describe('server configuration', () => {
  it('requires a token of 16+ characters when the controller API is on; reads it from the environment', () => {
    const store = new RolloutStore();
    expect(() => resolveServerConfig({ store, env: {} })).toThrow(ConfigError);
    expect(() => resolveServerConfig({ store, apiToken: 'short', env: {} })).toThrow(/at least 16/);
    expect(resolveServerConfig({ store, env: { [SERVER_ENV.apiToken]: TOKEN } }).apiToken).toBe(TOKEN);
    expect(() => resolveServerConfig({ port: 70_000 })).toThrow(/port/);
    expect(() => resolveServerConfig({ maxQueuedSpans: 0 })).toThrow(/maxQueuedSpans/);
    store.close();
  });
});
