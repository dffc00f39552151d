import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * A bearer token checked in constant time against `Authorization: Bearer <token>`
 * headers. Digests are compared, so neither the token's content nor its length leaks
 * through timing.
 */
export class BearerToken {
  private readonly tokenDigest: Buffer;

  constructor(token: string) {
    this.tokenDigest = digest(token);
  }

  /** True when the `Authorization` header carries this token. */
  matches(header: string | undefined): boolean {
    const match = BEARER.exec(header ?? '');
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), this.tokenDigest);
  }
}
