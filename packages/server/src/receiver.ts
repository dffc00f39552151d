import type { IncomingMessage, ServerResponse } from 'node:http';
import { diag } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BearerToken } from './auth.js';
import { ByteBudget, readOtlpBody } from './body.js';
import type { ServerConfig } from './config.js';
import { mediaType, sendBytes, sendJson } from './http.js';
import {
  type ConvertLimits,
  type DecodedBatch,
  decodeJsonRequest,
  decodeProtobufRequest,
  OtlpDecodeError,
} from './otlp/convert.js';
import type { ReceivedSpan } from './otlp/received-span.js';
import { createBodyScanner } from './otlp/scan.js';
import type { ScanLimits } from './otlp/scan-problem.js';
import { ExportTraceServiceResponse, RpcStatus } from './otlp/schema.js';

/**
 * Nesting depth a request may reach (JSON objects and arrays, or protobuf messages): an
 * attribute value can nest about 18 maps or arrays in JSON, 29 in protobuf.
 */
export const MAX_NESTING_DEPTH = 64;

/** Media types of OTLP/HTTP. */
export const OTLP_CONTENT_TYPE = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
} as const;
type OtlpEncoding = keyof typeof OTLP_CONTENT_TYPE;

/** gRPC status codes used in OTLP/HTTP error bodies (`google.rpc.Status.code`). */
const RPC_CODE = {
  invalidArgument: 3,
  deadlineExceeded: 4,
  resourceExhausted: 8,
  unimplemented: 12,
  unavailable: 14,
  unauthenticated: 16,
} as const;

/** Counters of the receiver since it started. */
export interface ReceiverStats {
  /** Export requests answered, whatever the answer. */
  readonly requests: number;
  /** Spans accepted and queued for the processors. */
  readonly acceptedSpans: number;
  /** Spans rejected as unusable (reported in partial-success answers). */
  readonly rejectedSpans: number;
  /** Spans handed to the processors so far. */
  readonly processedSpans: number;
  /** Spans waiting for the processors now. */
  readonly queuedSpans: number;
  /** Requests answered 429 (queue or in-flight bytes full). */
  readonly throttled: number;
  /** Requests answered 503 (shutting down). */
  readonly unavailable: number;
  /** Requests answered 413. */
  readonly tooLarge: number;
  /** Requests answered 400 or 415. */
  readonly malformed: number;
  /** Requests answered 401 (missing or wrong ingest token). */
  readonly unauthorized: number;
  /** Requests answered 408 (the body did not arrive in time). */
  readonly timedOut: number;
  /** Request bytes being read or decoded now (compressed and inflated). */
  readonly inFlightBytes: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** All counters at zero: a fresh receiver, or a server that runs none. */
export function emptyReceiverStats(): Mutable<ReceiverStats> {
  return {
    requests: 0,
    acceptedSpans: 0,
    rejectedSpans: 0,
    processedSpans: 0,
    queuedSpans: 0,
    throttled: 0,
    unavailable: 0,
    tooLarge: 0,
    malformed: 0,
    unauthorized: 0,
    timedOut: 0,
    inFlightBytes: 0,
  };
}

/**
 * The OTLP/HTTP trace receiver (`POST /v1/traces`, protobuf or JSON, optionally gzip):
 * checks the ingest token, reads the body within its limits (bytes as sent and inflated,
 * spans and objects counted by a scanner as they stream in, a deadline), decodes the
 * export request, rejects unusable spans with a partial-success answer, and queues the
 * others for the span processors, which a drain loop feeds in batches between I/O.
 * Overload is answered as the OTLP specification asks: 429 (queue or in-flight bytes full)
 * and 503 (shutting down) with `Retry-After`; 413 past the size limits, 408 past the
 * deadline, 401 without the token.
 */
export class TraceReceiver {
  private readonly limits: ConvertLimits;
  private readonly scanLimits: ScanLimits;
  private readonly budget: ByteBudget;
  private readonly token: BearerToken | undefined;
  private readonly queue: ReceivedSpan[][] = [];
  /** Index of the next span in `queue[0]`. */
  private head = 0;
  private scheduled = false;
  private closing = false;
  private readonly counters: Mutable<ReceiverStats> = emptyReceiverStats();
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly config: ServerConfig,
    private readonly processors: readonly SpanProcessor[],
  ) {
    this.limits = Object.freeze({
      maxAttributes: config.maxAttributesPerSpan,
      maxEvents: config.maxEventsPerSpan,
      maxLinks: config.maxLinksPerSpan,
    });
    this.scanLimits = Object.freeze({
      maxSpans: config.maxSpansPerRequest,
      maxObjects: config.maxObjectsPerRequest,
      maxDepth: MAX_NESTING_DEPTH,
    });
    this.budget = new ByteBudget(config.maxInFlightBytes);
    this.token = config.ingestToken === undefined ? undefined : new BearerToken(config.ingestToken);
  }

  /** A copy of the counters. */
  stats(): ReceiverStats {
    return { ...this.counters, inFlightBytes: this.budget.used };
  }

  /** Fraction of the span queue in use, 0..1. */
  queueFill(): number {
    return this.counters.queuedSpans / this.config.maxQueuedSpans;
  }

  /** Answers one `POST /v1/traces`. Never throws. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.counters.requests++;
    const encoding = encodingOf(request.headers['content-type']);
    const retryAfter = { 'retry-after': String(this.config.retryAfterSeconds) };
    if (this.token !== undefined && !this.token.matches(request.headers.authorization)) {
      this.counters.unauthorized++;
      request.resume();
      this.sendStatus(
        response,
        encoding ?? 'json',
        401,
        RPC_CODE.unauthenticated,
        'a valid ingest bearer token is required (Authorization: Bearer <token>)',
        { 'www-authenticate': 'Bearer realm="agent-canary-ingest"' },
      );
      return;
    }
    if (encoding === undefined) {
      this.counters.malformed++;
      request.resume();
      sendJson(response, 415, {
        code: RPC_CODE.invalidArgument,
        message: `content-type must be ${OTLP_CONTENT_TYPE.protobuf} or ${OTLP_CONTENT_TYPE.json}`,
      });
      return;
    }
    if (this.closing) {
      this.counters.unavailable++;
      request.resume();
      this.sendStatus(response, encoding, 503, RPC_CODE.unavailable, 'the receiver is shutting down', retryAfter);
      return;
    }
    const contentEncoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (contentEncoding !== 'gzip' && contentEncoding !== 'identity') {
      this.counters.malformed++;
      request.resume();
      this.sendStatus(
        response,
        encoding,
        415,
        RPC_CODE.invalidArgument,
        `unsupported content-encoding ${contentEncoding.slice(0, 64)}`,
      );
      return;
    }
    const declared = Number(request.headers['content-length'] ?? Number.NaN);
    if (declared > this.config.maxRequestBytes) {
      this.tooLarge(response, encoding, `request body of ${declared} bytes exceeds ${this.config.maxRequestBytes}`);
      return;
    }
    // Nothing is reserved for what a request declares, only for what arrives; a body that
    // cannot fit in what is free right now is turned away at once.
    if (declared > this.budget.free || this.queueFull(1)) {
      this.throttle(request, response, encoding, 'the receiver is busy');
      return;
    }
    const reservation = this.budget.open();
    try {
      const read = await readOtlpBody(
        request,
        {
          gzip: contentEncoding === 'gzip',
          maxRequestBytes: this.config.maxRequestBytes,
          maxDecompressedBytes: this.config.maxDecompressedBytes,
          timeoutMillis: this.config.bodyTimeoutMillis,
        },
        reservation,
        createBodyScanner(encoding, this.scanLimits),
      );
      if (!read.ok) {
        const failure = read.failure;
        if (failure === undefined) return; // the client went away
        // The client may still be sending the rest of the body: close the connection.
        const close = { connection: 'close' };
        switch (failure.statusCode) {
          case 413:
            this.tooLarge(response, encoding, failure.message);
            return;
          case 429:
            this.counters.throttled++;
            this.sendStatus(response, encoding, 429, RPC_CODE.resourceExhausted, failure.message, {
              ...retryAfter,
              ...close,
            });
            return;
          case 408:
            this.counters.timedOut++;
            this.sendStatus(response, encoding, 408, RPC_CODE.deadlineExceeded, failure.message, close);
            return;
          default:
            this.counters.malformed++;
            this.sendStatus(response, encoding, 400, RPC_CODE.invalidArgument, failure.message, close);
            return;
        }
      }
      let batch: DecodedBatch;
      try {
        batch =
          encoding === 'protobuf'
            ? decodeProtobufRequest(read.body, this.limits)
            : decodeJsonRequest(read.body.toString('utf8'), this.limits);
      } catch (error) {
        this.counters.malformed++;
        const message = error instanceof OtlpDecodeError ? error.message : 'the request could not be decoded';
        if (!(error instanceof OtlpDecodeError)) diag.error('agent-canary receiver: decoding failed', error);
        this.sendStatus(response, encoding, 400, RPC_CODE.invalidArgument, message);
        return;
      }
      if (this.closing) {
        this.counters.unavailable++;
        this.sendStatus(response, encoding, 503, RPC_CODE.unavailable, 'the receiver is shutting down', retryAfter);
        return;
      }
      if (this.queueFull(batch.spans.length)) {
        this.throttle(request, response, encoding, 'the span queue is full');
        return;
      }
      this.enqueue(batch.spans);
      this.counters.rejectedSpans += batch.rejectedCount;
      this.sendSuccess(response, encoding, batch);
    } finally {
      reservation.release();
    }
  }

  private throttle(request: IncomingMessage, response: ServerResponse, encoding: OtlpEncoding, message: string): void {
    this.counters.throttled++;
    request.resume();
    this.sendStatus(response, encoding, 429, RPC_CODE.resourceExhausted, message, {
      'retry-after': String(this.config.retryAfterSeconds),
    });
  }

  private queueFull(incoming: number): boolean {
    return this.counters.queuedSpans + incoming > this.config.maxQueuedSpans;
  }

  private tooLarge(response: ServerResponse, encoding: OtlpEncoding, message: string): void {
    this.counters.tooLarge++;
    // Close the connection: the client may still be sending the rest of the body.
    this.sendStatus(response, encoding, 413, RPC_CODE.invalidArgument, message, { connection: 'close' });
  }

  private sendSuccess(response: ServerResponse, encoding: OtlpEncoding, batch: DecodedBatch): void {
    const partialSuccess =
      batch.rejectedCount === 0
        ? undefined
        : {
            rejectedSpans: batch.rejectedCount,
            errorMessage: `${batch.rejectedCount} span(s) rejected: ${[...batch.rejected]
              .map(([reason, count]) => `${count} ${reason}`)
              .join(', ')}`,
          };
    if (encoding === 'json') {
      sendJson(response, 200, partialSuccess === undefined ? {} : { partialSuccess });
      return;
    }
    const bytes = ExportTraceServiceResponse.encode(
      ExportTraceServiceResponse.create(partialSuccess === undefined ? {} : { partialSuccess }),
    ).finish();
    sendBytes(response, 200, OTLP_CONTENT_TYPE.protobuf, bytes);
  }

  private sendStatus(
    response: ServerResponse,
    encoding: OtlpEncoding,
    statusCode: number,
    code: number,
    message: string,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    if (encoding === 'json') {
      sendJson(response, statusCode, { code, message }, headers);
      return;
    }
    const bytes = RpcStatus.encode(RpcStatus.create({ code, message })).finish();
    sendBytes(response, statusCode, OTLP_CONTENT_TYPE.protobuf, bytes, headers);
  }

  private enqueue(spans: readonly ReceivedSpan[]): void {
    if (spans.length === 0) return;
    this.queue.push(spans as ReceivedSpan[]);
    this.counters.queuedSpans += spans.length;
    this.counters.acceptedSpans += spans.length;
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drainSome(this.config.drainBatchSpans);
      if (this.counters.queuedSpans > 0) this.scheduleDrain();
      else this.notifyIdle();
    });
  }

  /** Hands up to `max` queued spans to the processors. */
  private drainSome(max: number): void {
    let budget = max;
    while (budget > 0 && this.queue.length > 0) {
      const chunk = this.queue[0] as ReceivedSpan[];
      const end = Math.min(chunk.length, this.head + budget);
      for (let i = this.head; i < end; i++) {
        const span = chunk[i] as ReceivedSpan;
        for (const processor of this.processors) {
          try {
            processor.onEnd(span);
          } catch (error) {
            // Span processors must not throw; one that does loses this span, not the batch.
            diag.error('agent-canary receiver: a span processor threw in onEnd', error);
          }
        }
      }
      const done = end - this.head;
      budget -= done;
      this.counters.processedSpans += done;
      this.counters.queuedSpans -= done;
      if (end === chunk.length) {
        this.queue.shift();
        this.head = 0;
      } else {
        this.head = end;
      }
    }
  }

  private notifyIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Resolves once every queued span has been handed to the processors. */
  drained(): Promise<void> {
    if (this.counters.queuedSpans === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new requests with 503 from now on (shutdown); queued spans are still drained. */
  close(): void {
    this.closing = true;
  }

  /** True after {@link TraceReceiver.close}. */
  get isClosing(): boolean {
    return this.closing;
  }
}

function encodingOf(header: string | undefined): OtlpEncoding | undefined {
  const type = mediaType(header);
  if (type === OTLP_CONTENT_TYPE.protobuf) return 'protobuf';
  if (type === OTLP_CONTENT_TYPE.json) return 'json';
  return undefined;
}
