/**
 * Who may read the dashboard's data: a bearer token (the read token or the API token),
 * or, when no read token is configured, anyone on a loopback listener who names a
 * loopback host. The pages themselves carry no data and are served to anyone.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

/** The answer of {@link ReadAccess.check}. */
export type ReadAccessResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** True for `localhost`, 127.0.0.0/8 and ::1 (the names and addresses only this machine reaches). */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || name === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(name);
  return false;
}

/** The host name of a `Host` header (`name`, `name:port`, `[v6]:port`), or undefined when malformed. */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(header);
  if (bracketed) return bracketed[1];
  const plain = /^([^:]+)(?::\d+)?$/.exec(header);
  return plain?.[1];
}

/** Who may read a dashboard with this read token on this listener, in a few words (for start-up messages). */
export function describeReadAccess(readToken: string | undefined, listenHost: string): string {
  if (readToken !== undefined) return 'with the dashboard token or the API token';
  return isLoopbackHost(listenHost) ? 'open on this machine (loopback only)' : 'with the API token';
}

/** Decides read access to the dashboard's data for one request. */
export class ReadAccess {
  private readonly digests: readonly Buffer[];
  private readonly open: boolean;

  /**
   * @param tokens tokens that grant read access (undefined entries are skipped)
   * @param openOnLoopback whether requests without a token may read (no read token is
   *   configured and the server listens on a loopback address)
   */
  constructor(tokens: readonly (string | undefined)[], openOnLoopback: boolean) {
    this.digests = tokens.filter((token): token is string => token !== undefined).map(digest);
    this.open = openOnLoopback;
  }

  /** True when a request without a token may read. */
  get openReads(): boolean {
    return this.open;
  }

  /** Checks the request's `Authorization` and `Host` headers. */
  check(headers: IncomingHttpHeaders): ReadAccessResult {
    const authorization = headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      const given = match?.[1] === undefined ? undefined : digest(match[1]);
      // Compare every digest (equal lengths): the time taken says nothing about which matched.
      let matched = false;
      for (const expected of this.digests) if (given !== undefined && timingSafeEqual(given, expected)) matched = true;
      return matched ? { ok: true } : { ok: false, message: 'the token does not grant read access to this dashboard' };
    }
    if (!this.open) {
      return { ok: false, message: 'reading this dashboard needs a token: the dashboard read token or the API token' };
    }
    const host = hostOfHeader(headers.host);
    if (host === undefined || !isLoopbackHost(host)) {
      return {
        ok: false,
        message:
          'without a token, this dashboard is readable only through a loopback address (localhost, 127.0.0.1, [::1])',
      };
    }
    return { ok: true };
  }
}
