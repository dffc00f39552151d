/**
 * Fuzz tests of the HTTP layer, against a real server on loopback (seeded fast-check
 * samples, so a failure names a reproducible case):
 *
 * - over 10 000 export requests whose bodies are damaged valid requests (truncated,
 *   bit-flipped, bytes inserted, deleted, repeated; before or after gzip), arbitrary bytes,
 *   arbitrary JSON, deep nesting, bodies past the size and span limits, under wrong
 *   content types, wrong encodings and wrong tokens — with a valid export every 20th
 *   request: no answer is a 5xx, the server keeps running, and every span of every valid
 *   export reaches the processor;
 * - a few hundred raw requests with broken request lines, targets, percent-encoding,
 *   methods and headers on every route: never a 5xx.
 */
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { inProcessSource, RolloutController, RolloutStore } from '@agent-canary/controller';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import { createGate, resolveGateConfig } from '@agent-canary/gate';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutate, mutationArbitrary, requestArbitraryOf, toProtobuf } from './otlp/fuzz.test-helper.js';
import { type AgentCanaryServer, startServer } from './server.js';

const SEED = 1717;
const INGEST_TOKEN = 'fuzz-ingest-token-0123456789';
const API_TOKEN = 'fuzz-api-token-0123456789ab';
const MALFORMED_BODIES = 10_500;
const VALID_EVERY = 20;
const CONCURRENCY = 8;
/** Trace ids of valid exports start with this; the processor counts them apart. */
const VALID_TRACE_PREFIX = 'feedc0de';

/** Counts every span, and the spans of valid exports by trace id. */
class CountingProcessor implements SpanProcessor {
  total = 0;
  readonly valid = new Map<string, number>();
  onStart(_span: Span, _context: Context): void {}
  onEnd(span: ReadableSpan): void {
    this.total++;
    const traceId = span.spanContext().traceId;
    if (traceId.startsWith(VALID_TRACE_PREFIX)) this.valid.set(traceId, (this.valid.get(traceId) ?? 0) + 1);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

interface FuzzRequest {
  readonly what: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

const PROTOBUF_TYPE = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
const AUTH = `Bearer ${INGEST_TOKEN}`;

function otlp(encoding: 'protobuf' | 'json', request: Record<string, unknown>): Uint8Array {
  return encoding === 'protobuf' ? toProtobuf(request) : Buffer.from(JSON.stringify(request));
}

/** Small requests: the HTTP layer is under test here, the decoders in otlp/fuzz.test.ts. */
const requestArbitrary = requestArbitraryOf({ resources: 2, scopes: 2, spans: 3 });
const encodingArbitrary = fc.constantFrom('protobuf' as const, 'json' as const);
const typeOf = (encoding: 'protobuf' | 'json') => (encoding === 'protobuf' ? PROTOBUF_TYPE : JSON_TYPE);

/** Requests that must not be accepted as they are, each labelled for failure messages. */
const malformedArbitrary: fc.Arbitrary<FuzzRequest> = fc.oneof(
  // A valid request damaged on the way, sent as it is.
  {
    weight: 5,
    arbitrary: fc
      .tuple(encodingArbitrary, requestArbitrary, fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 }))
      .map(([encoding, request, mutations]) => ({
        what: `damaged ${encoding}`,
        headers: { 'content-type': typeOf(encoding), authorization: AUTH },
        body: mutate(otlp(encoding, request), mutations),
      })),
  },
  // Damaged, then gzip; or gzip, then damaged (a broken stream).
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        encodingArbitrary,
        requestArbitrary,
        fc.array(mutationArbitrary, { minLength: 1, maxLength: 2 }),
        fc.boolean(),
      )
      .map(([encoding, request, mutations, before]) => ({
        what: `${before ? 'damaged then gzip' : 'gzip then damaged'} ${encoding}`,
        headers: { 'content-type': typeOf(encoding), 'content-encoding': 'gzip', authorization: AUTH },
        body: before
          ? gzipSync(mutate(otlp(encoding, request), mutations))
          : mutate(gzipSync(otlp(encoding, request)), mutations),
      })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(encodingArbitrary, fc.uint8Array({ maxLength: 2048 })).map(([encoding, body]) => ({
      what: `random bytes as ${encoding}`,
      headers: { 'content-type': typeOf(encoding), authorization: AUTH },
      body,
    })),
  },
  {
    weight: 2,
    arbitrary: fc.jsonValue({ maxDepth: 5 }).map((value) => ({
      what: 'arbitrary JSON',
      headers: { 'content-type': JSON_TYPE, authorization: AUTH },
      body: Buffer.from(JSON.stringify(value) ?? 'null'),
    })),
  },
  // Deep nesting, in either encoding.
  {
    weight: 1,
    arbitrary: fc.tuple(encodingArbitrary, fc.integer({ min: 60, max: 100_000 })).map(([encoding, depth]) => ({
      what: `nested ${depth} deep as ${encoding}`,
      headers: { 'content-type': typeOf(encoding), authorization: AUTH },
      body:
        encoding === 'json'
          ? Buffer.from(`{"resourceSpans":${'['.repeat(depth)}${']'.repeat(depth)}}`)
          : Buffer.concat(Array.from({ length: Math.min(depth, 5000) }, () => Buffer.from([0x0a, 0x80, 0x80, 0x01]))),
    })),
  },
  // Too many spans, or too large.
  {
    weight: 1,
    arbitrary: fc
      .tuple(encodingArbitrary, fc.integer({ min: 51, max: 5000 }), fc.boolean())
      .map(([encoding, spans, gzip]) => {
        const json = Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[${'{},'.repeat(spans - 1)}{}]}]}]}`);
        const raw = encoding === 'json' ? json : toProtobuf(JSON.parse(json.toString()) as Record<string, unknown>);
        return {
          what: `${spans} empty spans as ${encoding}${gzip ? ' (gzip)' : ''}`,
          headers: {
            'content-type': typeOf(encoding),
            authorization: AUTH,
            ...(gzip ? { 'content-encoding': 'gzip' } : {}),
          },
          body: gzip ? gzipSync(raw) : raw,
        };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 64 * 1024 + 1, max: 200_000 }).map((size) => ({
      what: `${size} bytes`,
      headers: { 'content-type': JSON_TYPE, authorization: AUTH },
      body: Buffer.alloc(size, 0x20),
    })),
  },
  // A valid request under a wrong content type, encoding or token.
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        encodingArbitrary,
        requestArbitrary,
        fc.oneof(
          fc.record({
            'content-type': fc.oneof(
              fc.string({ maxLength: 30 }),
              fc.constantFrom('text/plain', 'application/protobuf', 'application/json+x', 'multipart/form-data'),
            ),
          }),
          fc.record({
            'content-encoding': fc.oneof(
              fc.string({ maxLength: 12 }),
              fc.constantFrom('br', 'deflate', 'gzip, gzip', 'zstd', 'x-gzip'),
            ),
          }),
          fc.record({ 'content-encoding': fc.constant('gzip') }),
          fc.record({
            authorization: fc.oneof(
              fc.string({ maxLength: 40 }),
              fc.constantFrom(`Bearer ${API_TOKEN}`, `Basic ${INGEST_TOKEN}`, `Bearer ${INGEST_TOKEN}x`),
            ),
          }),
        ),
      )
      .map(
        ([encoding, request, override]): FuzzRequest => ({
          what: `${encoding} with ${JSON.stringify(override)}`,
          headers: {
            'content-type': typeOf(encoding),
            authorization: AUTH,
            ...Object.fromEntries(Object.entries(override).map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/g, '')])),
          },
          body: otlp(encoding, request),
        }),
      )
      // Headers that still name a valid request are not malformed.
      .filter(
        (request) =>
          !(
            [PROTOBUF_TYPE, JSON_TYPE].includes(
              (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '',
            ) &&
            (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase() === 'identity' &&
            request.headers.authorization?.trim() === AUTH
          ),
      ),
  },
);

/** A valid export: `spans` spans whose trace id carries the valid prefix and the export's number. */
function validExport(index: number, encoding: 'protobuf' | 'json', spans: number, gzip: boolean): FuzzRequest {
  const traceId = `${VALID_TRACE_PREFIX}${index.toString(16).padStart(24, '0')}`;
  const request = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] },
        scopeSpans: [
          {
            spans: Array.from({ length: spans }, (_, i) => ({
              traceId,
              spanId: (i + 1).toString(16).padStart(16, '0'),
              name: 'invoke_agent fuzz',
              startTimeUnixNano: '1800000000000000000',
              endTimeUnixNano: '1800000000250000000',
              attributes: [{ key: 'agent_canary.release.id', value: { stringValue: 'v2' } }],
            })),
          },
        ],
      },
    ],
  };
  const body = otlp(encoding, request);
  return {
    what: `valid export ${index}`,
    headers: { 'content-type': typeOf(encoding), authorization: AUTH, ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
    body: gzip ? gzipSync(body) : body,
  };
}

function post(agent: Agent, url: string, request: FuzzRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/v1/traces`,
      { method: 'POST', agent, headers: { ...request.headers, 'content-length': String(request.body.byteLength) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    // The server may close the connection before reading a body it refused.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(-1) : reject(error),
    );
    req.end(request.body);
  });
}

let server: AgentCanaryServer;
let counter: CountingProcessor;
let store: RolloutStore;

beforeAll(async () => {
  counter = new CountingProcessor();
  const behavior = new BehaviorSpanProcessor();
  store = new RolloutStore();
  const controller = new RolloutController({
    store,
    routing: new InMemoryRoutingAdapter(),
    gate: createGate(resolveGateConfig(), inProcessSource(behavior)),
    env: {},
  });
  await controller.start({ id: 'r-fuzz', flagKey: 'agent.release', canaryRelease: 'v2', stableRelease: 'v1' });
  server = await startServer({
    port: 0,
    env: {},
    spanProcessors: [counter, behavior],
    controller,
    store,
    apiToken: API_TOKEN,
    ingestToken: INGEST_TOKEN,
    maxRequestBytes: 64 * 1024,
    maxDecompressedBytes: 1024 * 1024,
    maxSpansPerRequest: 50,
  });
});

afterAll(async () => {
  await server?.shutdown();
});

describe('HTTP fuzzing', () => {
  it(`answers ${MALFORMED_BODIES} malformed export requests with 4xx and still counts every valid span`, {
    timeout: 180_000,
  }, async ({ annotate }) => {
    const malformed = fc.sample(malformedArbitrary, { numRuns: MALFORMED_BODIES, seed: SEED });
    const valid = fc.sample(fc.tuple(encodingArbitrary, fc.integer({ min: 1, max: 40 }), fc.boolean()), {
      numRuns: Math.ceil(MALFORMED_BODIES / VALID_EVERY),
      seed: SEED,
    });
    const requests: FuzzRequest[] = [];
    const expected = new Map<string, number>();
    malformed.forEach((request, i) => {
      if (i % VALID_EVERY === 0) {
        const [encoding, spans, gzip] = valid[i / VALID_EVERY] as ['protobuf' | 'json', number, boolean];
        const index = requests.length;
        requests.push(validExport(index, encoding, spans, gzip));
        expected.set(`${VALID_TRACE_PREFIX}${index.toString(16).padStart(24, '0')}`, spans);
      }
      requests.push(request);
    });

    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const request = requests[next++] as FuzzRequest;
          const status = await post(agent, server.url, request);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          const isValid = request.what.startsWith('valid export');
          if (status >= 500 || (isValid && status !== 200)) failures.push(`${request.what}: ${status}`);
        }
      }),
    );
    agent.destroy();
    expect(failures).toEqual([]);
    expect(requests.length - expected.size).toBeGreaterThanOrEqual(10_000);
    // Every answer a success or a client error (-1: the server closed the connection on a refused body).
    for (const status of statuses.keys()) expect([-1, 200, 400, 401, 413, 415, 429]).toContain(status);
    // The bad inputs really were refused in every way, not waved through.
    for (const status of [400, 401, 413, 415])
      expect(statuses.get(status) ?? 0, `answers ${status}`).toBeGreaterThan(50);

    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const deadline = Date.now() + 10_000;
    while (server.receiverStats().queuedSpans > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(Object.fromEntries(counter.valid)).toEqual(Object.fromEntries(expected));
    const stats = server.receiverStats();
    expect(stats).toMatchObject({ queuedSpans: 0, inFlightBytes: 0, processedSpans: counter.total });
    expect(stats.acceptedSpans).toBe(counter.total);
    await annotate(
      `${requests.length - expected.size} malformed and ${expected.size} valid export requests; answers: ` +
        [...statuses.entries()]
          .sort(([a], [b]) => a - b)
          .map(([status, count]) => `${count}× ${status === -1 ? 'connection closed' : status}`)
          .join(', ') +
        `; ${[...expected.values()].reduce((sum, n) => sum + n, 0)} valid spans, all processed`,
    );
  });

  it('answers broken request lines, targets, methods and headers on every route with 4xx, never 5xx', {
    timeout: 120_000,
  }, async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        '%ZZ',
        '%FF',
        '%',
        '%E0%A4',
        '%00',
        '..',
        '[',
        ']',
        '%2F',
        'r-fuzz',
        'verdicts',
        'pause',
        'rollback',
      ),
    );
    const target = fc.oneof(
      fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
      fc
        .tuple(
          fc.constantFrom('/v1/rollouts/', '/v1/traces', '/healthz', '/readyz', '/v1/rollouts'),
          fc.array(segment, { maxLength: 3 }),
          fc.string({ maxLength: 10 }),
        )
        .map(([base, parts, query]) => `${base}${parts.join('/')}${query === '' ? '' : `?${query}`}`),
      fc
        .tuple(
          fc.constantFrom('http://', 'https://', 'http://[', '//'),
          fc.string({ maxLength: 10 }),
          fc.integer({ min: -5, max: 1_000_000 }),
          segment,
        )
        .map(([scheme, host, port, path]) => `${scheme}${host}:${port}/${path}`),
      fc.constantFrom('http://[', '*', 'http://localhost:99999/healthz', '/v1/rollouts/%ZZ', '/v1/rollouts/%FF/pause'),
    );
    const line = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'FOO'),
      // Spaces and line breaks are the parser's business; everything else reaches the router.
      target: target.map(
        (value) => value.replace(/[\s]/g, '').replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)) || '/',
      ),
      authorization: fc.constantFrom(undefined, `Bearer ${API_TOKEN}`, `Bearer ${INGEST_TOKEN}`, 'Bearer x'),
      contentType: fc.constantFrom(undefined, 'application/json', 'application/x-protobuf', 'text/plain'),
      contentLength: fc.oneof(fc.constant(undefined), fc.constantFrom('-1', 'abc', '99999999999', '1e3', ' 5')),
      body: fc.oneof(fc.constant(''), fc.constant('{"actor":"fuzz","reason":"fuzz"}'), fc.string({ maxLength: 40 })),
    });
    const cases = fc.sample(line, { numRuns: 600, seed: SEED });
    const failures: string[] = [];
    let answered = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < cases.length) {
          const c = cases[next++] as (typeof cases)[number];
          const body = Buffer.from(c.body);
          const head = [
            `${c.method} ${c.target} HTTP/1.1`,
            'host: fuzz',
            'connection: close',
            ...(c.authorization ? [`authorization: ${c.authorization}`] : []),
            ...(c.contentType ? [`content-type: ${c.contentType}`] : []),
            `content-length: ${c.contentLength ?? body.length}`,
          ].join('\r\n');
          const answer = await new Promise<string>((resolve) => {
            let received = '';
            const socket = connect(server.port, '127.0.0.1', () =>
              socket.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body])),
            );
            socket.on('data', (chunk: Buffer) => {
              received += chunk.toString('latin1');
            });
            socket.on('error', () => {});
            socket.on('close', () => resolve(received));
          });
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
          if (status > 0) answered++;
          if (status >= 500) failures.push(`${c.method} ${c.target}: ${answer.split('\r\n\r\n')[1] ?? answer}`);
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(500);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
