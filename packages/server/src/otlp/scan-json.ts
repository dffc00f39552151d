/**
 * The structural scanner of OTLP/JSON bodies: every object and array is one object; spans
 * are the values of the arrays at `resourceSpans[].scopeSpans[].spans`. It does not
 * validate JSON (`JSON.parse` does that later); it reports only what it cannot follow (an
 * unbalanced bracket).
 */
import {
  type BodyScanner,
  malformed,
  type ScanLimits,
  type ScanProblem,
  tooDeep,
  tooManyObjects,
  tooManySpans,
} from './scan-problem.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

/** Where a container sits on the path to the spans; only these few keys matter. */
const ROLE = {
  other: 0,
  root: 1,
  resourceSpansArray: 2,
  resourceSpans: 3,
  scopeSpansArray: 4,
  scopeSpans: 5,
  spansArray: 6,
} as const;
type Role = (typeof ROLE)[keyof typeof ROLE];

/** Object keys that lead to spans, by the role of the object that holds them. */
const KEY_ROLE: Readonly<Partial<Record<Role, readonly [string, Role]>>> = {
  [ROLE.root]: ['resourceSpans', ROLE.resourceSpansArray],
  [ROLE.resourceSpans]: ['scopeSpans', ROLE.scopeSpansArray],
  [ROLE.scopeSpans]: ['spans', ROLE.spansArray],
};
/** The role of an object inside an array of the given role. */
const ITEM_ROLE: Readonly<Partial<Record<Role, Role>>> = {
  [ROLE.resourceSpansArray]: ROLE.resourceSpans,
  [ROLE.scopeSpansArray]: ROLE.scopeSpans,
};
/** 1 for the roles whose keys are read (objects on the path to the spans). */
const READS_KEYS = Uint8Array.from({ length: 7 }, (_, role) => (KEY_ROLE[role as Role] === undefined ? 0 : 1));
/** Longest raw key kept: `"resourceSpans"` fully `\u`-escaped is 78 bytes. */
const MAX_KEY_BYTES = 96;

/** What the innermost container expects next. */
const EXPECT = { value: 0, key: 1, colon: 2, separator: 3 } as const;

/** Counts spans, objects and depth of an OTLP/JSON body, chunk by chunk. */
export class JsonScanner implements BodyScanner {
  spans = 0;
  objects = 0;
  /** Per open container (index = depth - 1): array or object, its role, what it expects, the role of its current key's value. */
  private readonly isArray: Uint8Array;
  private readonly roles: Uint8Array;
  private readonly expects: Uint8Array;
  private readonly valueRoles: Uint8Array;
  private depth = 0;
  private inString = false;
  /** Inside a string, right after a backslash (the next byte is escaped). */
  private escaped = false;
  /** Raw bytes of the key being read, when the key can matter. */
  private key: number[] | undefined;
  private keyTooLong = false;
  private problem: ScanProblem | undefined;

  constructor(private readonly limits: ScanLimits) {
    this.isArray = new Uint8Array(limits.maxDepth);
    this.roles = new Uint8Array(limits.maxDepth);
    this.expects = new Uint8Array(limits.maxDepth);
    this.valueRoles = new Uint8Array(limits.maxDepth);
  }

  write(chunk: Uint8Array): ScanProblem | undefined {
    if (this.problem !== undefined) return this.problem;
    const { isArray, roles, expects, valueRoles } = this;
    const { maxObjects, maxDepth } = this.limits;
    const length = chunk.length;
    let i = 0;
    if (this.inString) {
      if (this.key !== undefined) {
        i = this.readKey(chunk, i);
      } else {
        if (this.escaped) {
          this.escaped = false;
          i++;
        }
        i = this.skipString(chunk, i);
      }
    }
    while (i < length) {
      const byte = chunk[i++] as number;
      if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
      const top = this.depth - 1;
      switch (byte) {
        case QUOTE:
          this.inString = true;
          if (top >= 0 && expects[top] === EXPECT.key) {
            expects[top] = EXPECT.colon;
            // Only keys of the objects on the path to the spans are read.
            if (READS_KEYS[roles[top] as Role] === 1) {
              this.key = [];
              this.keyTooLong = false;
              i = this.readKey(chunk, i);
              continue;
            }
          } else if (top >= 0 && expects[top] === EXPECT.value) {
            this.valueStarts(top);
            if (this.problem !== undefined) return this.problem;
          }
          i = this.skipString(chunk, i);
          continue;
        case COLON:
          if (top >= 0 && expects[top] === EXPECT.colon) expects[top] = EXPECT.value;
          continue;
        case COMMA:
          if (top >= 0) expects[top] = isArray[top] === 1 ? EXPECT.value : EXPECT.key;
          continue;
        case OPEN_OBJECT:
        case OPEN_ARRAY: {
          const array = byte === OPEN_ARRAY;
          const role = this.childRole(top, array);
          if (top >= 0 && expects[top] === EXPECT.value) {
            this.valueStarts(top);
            if (this.problem !== undefined) return this.problem;
          }
          if (++this.objects > maxObjects) return this.fail(tooManyObjects(this.limits));
          const depth = top + 1;
          if (depth >= maxDepth) return this.fail(tooDeep(this.limits));
          isArray[depth] = array ? 1 : 0;
          roles[depth] = role;
          expects[depth] = array ? EXPECT.value : EXPECT.key;
          valueRoles[depth] = ROLE.other;
          this.depth = depth + 1;
          continue;
        }
        case CLOSE_OBJECT:
        case CLOSE_ARRAY:
          if (top < 0 || (isArray[top] === 1) !== (byte === CLOSE_ARRAY)) {
            return this.fail(malformed(`not JSON: unbalanced '${String.fromCharCode(byte)}'`));
          }
          this.depth = top;
          if (top > 0) expects[top - 1] = EXPECT.separator;
          continue;
        default:
          // The first byte of a number, true, false or null (the rest expect a separator).
          if (top >= 0 && expects[top] === EXPECT.value) {
            this.valueStarts(top);
            if (this.problem !== undefined) return this.problem;
          }
      }
    }
    return undefined;
  }

  end(): ScanProblem | undefined {
    if (this.problem !== undefined) return this.problem;
    if (this.depth > 0 || this.inString) return this.fail(malformed('not JSON: the body ends inside a value'));
    return undefined;
  }

  private fail(problem: ScanProblem): ScanProblem {
    this.problem = problem;
    return problem;
  }

  /** A value begins in the container at `top`: a span when that is a spans array. */
  private valueStarts(top: number): void {
    if (top < 0 || this.expects[top] !== EXPECT.value) return;
    this.expects[top] = EXPECT.separator;
    if (this.roles[top] === ROLE.spansArray && ++this.spans > this.limits.maxSpans) {
      this.problem = tooManySpans(this.limits);
    }
  }

  private childRole(top: number, array: boolean): Role {
    if (top < 0) return array ? ROLE.other : ROLE.root;
    if (this.expects[top] !== EXPECT.value) return ROLE.other;
    const parent = this.roles[top] as Role;
    if (this.isArray[top] === 1) return array ? ROLE.other : (ITEM_ROLE[parent] ?? ROLE.other);
    const valueRole = this.valueRoles[top] as Role;
    return array && valueRole === KEY_ROLE[parent]?.[1] ? valueRole : ROLE.other;
  }

  /**
   * Skips string content from `from`: a backslash escapes the next byte, a quote ends the
   * string. Long strings are searched natively for their next quote.
   */
  private skipString(chunk: Uint8Array, from: number): number {
    const length = chunk.length;
    let i = from;
    for (;;) {
      // Short strings (most keys and values) end within a few bytes: a plain loop is fastest.
      const shortEnd = Math.min(length, i + 24);
      while (i < shortEnd) {
        const byte = chunk[i] as number;
        if (byte === QUOTE) {
          this.inString = false;
          return i + 1;
        }
        if (byte === BACKSLASH) {
          if (i + 1 >= length) {
            this.escaped = true;
            return length;
          }
          i += 2;
        } else {
          i++;
        }
      }
      if (i >= length) return length;
      // `i` is not inside an escape: a quote ends the string unless an odd run of
      // backslashes precedes it.
      const quote = chunk.indexOf(QUOTE, i);
      if (quote === -1) {
        this.escaped = backslashesBefore(chunk, length, i) % 2 === 1;
        return length;
      }
      if (backslashesBefore(chunk, quote, i) % 2 === 0) {
        this.inString = false;
        return quote + 1;
      }
      i = quote + 1;
    }
  }

  /** Reads a key byte by byte (keys are short), then decides which container its value opens. */
  private readKey(chunk: Uint8Array, from: number): number {
    const key = this.key as number[];
    let i = from;
    while (i < chunk.length) {
      const byte = chunk[i++] as number;
      if (this.escaped) {
        this.escaped = false;
      } else if (byte === BACKSLASH) {
        this.escaped = true;
      } else if (byte === QUOTE) {
        this.inString = false;
        this.key = undefined;
        const top = this.depth - 1;
        const expected = KEY_ROLE[this.roles[top] as Role];
        this.valueRoles[top] =
          expected !== undefined && !this.keyTooLong && decodeKey(key) === expected[0] ? expected[1] : ROLE.other;
        return i;
      }
      if (key.length < MAX_KEY_BYTES) key.push(byte);
      else this.keyTooLong = true;
    }
    return i;
  }
}

/** Length of the run of backslashes that ends just before `before`, not looking before `from`. */
function backslashesBefore(chunk: Uint8Array, before: number, from: number): number {
  let count = 0;
  for (let k = before - 1; k >= from && chunk[k] === BACKSLASH; k--) count++;
  return count;
}

function decodeKey(bytes: readonly number[]): string | undefined {
  const raw = Buffer.from(bytes).toString('utf8');
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}

// --- protobuf -----------------------------------------------------------------------
