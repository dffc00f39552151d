import type { IncomingMessage } from 'node:http';
import { createGunzip, type Gunzip } from 'node:zlib';
import { type BodyScanner, SCAN_PROBLEM } from './otlp/scan-problem.js';

/**
 * Bytes held by the requests being read and decoded, over all connections. Requests
 * reserve bytes as they arrive (compressed, then inflated), never what they declare: a
 * client that announces a large body and sends it slowly holds only what it sent.
 */
export class ByteBudget {
  private usedBytes = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes held now. */
  get used(): number {
    return this.usedBytes;
  }

  /** Bytes still free. */
  get free(): number {
    return this.limitBytes - this.usedBytes;
  }

  /** A holder of bytes for one request; {@link Reservation.release} returns them all. */
  open(): Reservation {
    return new Reservation(this);
  }

  /** @internal */
  tryTake(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limitBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.usedBytes -= bytes;
  }
}

/** The bytes one request holds from a {@link ByteBudget}. */
export class Reservation {
  private held = 0;

  constructor(private readonly budget: ByteBudget) {}

  /** Takes `bytes` more; false (and nothing taken) when the budget cannot give them. */
  take(bytes: number): boolean {
    if (!this.budget.tryTake(bytes)) return false;
    this.held += bytes;
    return true;
  }

  /** Returns every byte held. Idempotent. */
  release(): void {
    this.budget.give(this.held);
    this.held = 0;
  }
}

/** Why a body was not read: the status to answer and a message for the client. */
export interface BodyFailure {
  readonly statusCode: 400 | 408 | 413 | 429;
  readonly message: string;
}

/** A body read in full, or why not (`failure` is absent when the client went away). */
export type OtlpBodyResult =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly failure?: BodyFailure };

/** Limits of {@link readOtlpBody}. */
export interface OtlpBodyLimits {
  /** Whether the body is gzip (`Content-Encoding: gzip`). */
  readonly gzip: boolean;
  /** Largest body as sent. */
  readonly maxRequestBytes: number;
  /** Largest body after inflating (the body itself when not compressed). */
  readonly maxDecompressedBytes: number;
  /** Longest the whole body may take to arrive. */
  readonly timeoutMillis: number;
}

/**
 * Reads an OTLP body, inflating gzip as it streams, and feeds each inflated chunk to the
 * scanner. Every byte (compressed and inflated) is taken from `reservation` as it arrives;
 * reading stops at the first limit crossed:
 * - 413 past `maxRequestBytes` or `maxDecompressedBytes`, or when the scanner finds too
 *   many spans or objects;
 * - 400 for invalid gzip, or a body the scanner cannot follow (malformed, too deep);
 * - 429 when the in-flight budget has no room for the next chunk;
 * - 408 when the body has not arrived within `timeoutMillis`.
 * The caller answers the failure with `Connection: close` (the client may still be sending)
 * and releases the reservation. Never rejects.
 */
export function readOtlpBody(
  request: IncomingMessage,
  limits: OtlpBodyLimits,
  reservation: Reservation,
  scanner: BodyScanner,
): Promise<OtlpBodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let inflated = 0;
    let settled = false;
    const inflater: Gunzip | undefined = limits.gzip ? createGunzip() : undefined;

    const settle = (result: OtlpBodyResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onAbort);
      request.off('close', onClose);
      if (inflater !== undefined) {
        inflater.removeAllListeners('data');
        inflater.removeAllListeners('end');
        // Errors after settling (a destroyed stream) have nobody to report to.
        inflater.on('error', () => {});
        inflater.destroy();
      }
      if (!result.ok) chunks.length = 0;
      resolve(result);
    };
    const fail = (statusCode: BodyFailure['statusCode'], message: string) =>
      settle({ ok: false, failure: { statusCode, message } });
    const busy = () => fail(429, 'the receiver is busy (maxInFlightBytes)');

    /** A chunk of the body as the decoder will read it. */
    const accept = (chunk: Buffer) => {
      if (settled) return;
      inflated += chunk.length;
      if (inflated > limits.maxDecompressedBytes) {
        return fail(
          413,
          limits.gzip
            ? `decompressed body exceeds ${limits.maxDecompressedBytes} bytes (maxDecompressedBytes)`
            : `request body exceeds ${limits.maxDecompressedBytes} bytes (maxDecompressedBytes)`,
        );
      }
      if (!reservation.take(chunk.length)) return busy();
      const problem = scanner.write(chunk);
      if (problem !== undefined) {
        const tooBig = problem.kind === SCAN_PROBLEM.tooManySpans || problem.kind === SCAN_PROBLEM.tooManyObjects;
        return fail(tooBig ? 413 : 400, problem.message);
      }
      chunks.push(chunk);
    };
    const finish = () => {
      if (settled) return;
      const problem = scanner.end();
      if (problem !== undefined) return fail(400, problem.message);
      settle({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) });
    };

    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxRequestBytes) {
        return fail(413, `request body exceeds ${limits.maxRequestBytes} bytes (maxRequestBytes)`);
      }
      if (inflater === undefined) return accept(chunk);
      // The compressed bytes are held until inflated.
      if (!reservation.take(chunk.length)) return busy();
      if (!inflater.write(chunk)) {
        request.pause();
        inflater.once('drain', () => {
          if (!settled) request.resume();
        });
      }
    };
    const onEnd = () => {
      if (inflater === undefined) finish();
      else inflater.end();
    };
    const onAbort = () => settle({ ok: false });
    // `close` also follows a complete body: only an incomplete one means the client left.
    const onClose = () => {
      if (!request.complete) onAbort();
    };
    const timer = setTimeout(
      () => fail(408, `the request body did not arrive within ${limits.timeoutMillis} ms (bodyTimeoutMillis)`),
      limits.timeoutMillis,
    );

    if (inflater !== undefined) {
      inflater.on('data', accept);
      inflater.on('end', finish);
      inflater.on('error', () => fail(400, 'the body is not valid gzip'));
    }
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onAbort);
    request.on('close', onClose);
  });
}
