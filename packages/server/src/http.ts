import type { IncomingMessage, ServerResponse } from 'node:http';

/** Sends a JSON answer. */
export function sendJson(
  response: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Sends raw bytes. */
export function sendBytes(
  response: ServerResponse,
  statusCode: number,
  contentType: string,
  body: Uint8Array,
  headers: Readonly<Record<string, string>> = {},
): void {
  response.writeHead(statusCode, { 'content-type': contentType, 'content-length': body.byteLength, ...headers });
  response.end(body);
}

/** Result of reading a body with a size limit. */
export type BodyResult =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly reason: 'too_large' | 'aborted' };

/**
 * Reads a request body up to `maxBytes`. A larger body is not buffered: reading stops and
 * the caller answers 413 (and closes the connection, so the client stops sending).
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('aborted', onError);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.pause();
        settle({ ok: false, reason: 'too_large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) });
    const onError = () => settle({ ok: false, reason: 'aborted' });
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('aborted', onError);
  });
}

/** The media type of a `content-type` header, lower case, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/** The path and query of a request, as sent (the path still percent-encoded). */
export interface RequestTarget {
  readonly path: string;
  readonly query: URLSearchParams;
}

/**
 * The path and query of a request target (`/v1/traces?x=1`, or the absolute form
 * `http://host:4318/v1/traces` that proxies send). Undefined when it is not a valid URL
 * (`http://[`, a port out of range): the caller answers 400. Never throws.
 */
export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    // Origin form is resolved against a fixed base; the absolute form is parsed as it is.
    const url = new URL(raw, 'http://localhost');
    return { path: url.pathname, query: url.searchParams };
  } catch {
    return undefined;
  }
}

/** `decodeURIComponent` that returns undefined for broken percent-encoding (`%ZZ`, `%FF`). */
export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
