/**
 * Structural scanners of OTLP bodies, fed chunk by chunk while a body streams in (and is
 * inflated): they count spans, objects and nesting depth without building anything, so a
 * request that would cost too much to decode is refused before it is parsed — and before
 * the rest of it is even inflated. Decoding proper (`convert.ts`) runs only on bodies a
 * scanner has let through.
 *
 * - JSON: every object and array is one object; spans are the values of the arrays at
 *   `resourceSpans[].scopeSpans[].spans`. The scanner does not validate JSON (`JSON.parse`
 *   does that later); it reports only what it cannot follow (an unbalanced bracket).
 * - Protobuf: the wire format is walked with the OTLP trace schema's message fields
 *   (`schema.ts`), so every nested message is one object and each `Span` a span; a
 *   truncated field, a length past its enclosing message or a wire type that protobuf 3
 *   does not use is malformed.
 */

/** Bounds a scanner enforces. */
export interface ScanLimits {
  /** Spans in one request. */
  readonly maxSpans: number;
  /** JSON objects and arrays, or protobuf messages, in one request. */
  readonly maxObjects: number;
  /** Nesting depth of JSON objects and arrays, or of protobuf messages. */
  readonly maxDepth: number;
}

/** Why a scanner refused a body. */
export const SCAN_PROBLEM = {
  /** More spans than `maxSpans`: the sender should split the batch (413). */
  tooManySpans: 'too_many_spans',
  /** More objects than `maxObjects` (413). */
  tooManyObjects: 'too_many_objects',
  /** Nested deeper than `maxDepth` (400). */
  tooDeep: 'too_deep',
  /** Not the declared encoding (400). */
  malformed: 'malformed',
} as const;
/** One of {@link SCAN_PROBLEM}. */
export type ScanProblemKind = (typeof SCAN_PROBLEM)[keyof typeof SCAN_PROBLEM];

/** A refused body: the kind, and a message for the client. */
export interface ScanProblem {
  readonly kind: ScanProblemKind;
  readonly message: string;
}

/** Counts a body's structure as its bytes arrive. */
export interface BodyScanner {
  /** Scans the next chunk; returns the first problem found (the scanner then stops). */
  write(chunk: Uint8Array): ScanProblem | undefined;
  /** The body is complete: reports a truncated structure. */
  end(): ScanProblem | undefined;
  /** Spans seen so far. */
  readonly spans: number;
  /** Objects seen so far. */
  readonly objects: number;
}

/** Scanner of the given OTLP encoding. */
export function createBodyScanner(encoding: 'protobuf' | 'json', limits: ScanLimits): BodyScanner {
  return encoding === 'protobuf' ? new ProtobufScanner(limits) : new JsonScanner(limits);
}

function tooManySpans(limits: ScanLimits): ScanProblem {
  return {
    kind: SCAN_PROBLEM.tooManySpans,
    message: `the request has more than ${limits.maxSpans} spans (maxSpansPerRequest); send smaller batches`,
  };
}

function tooManyObjects(limits: ScanLimits): ScanProblem {
  return {
    kind: SCAN_PROBLEM.tooManyObjects,
    message: `the request has more than ${limits.maxObjects} objects (maxObjectsPerRequest); send smaller batches`,
  };
}

function tooDeep(limits: ScanLimits): ScanProblem {
  return { kind: SCAN_PROBLEM.tooDeep, message: `the request nests deeper than ${limits.maxDepth} levels` };
}

function malformed(message: string): ScanProblem {
  return { kind: SCAN_PROBLEM.malformed, message };
}

// --- JSON ---------------------------------------------------------------------------

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

class JsonScanner implements BodyScanner {
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

/** The OTLP trace messages (`schema.ts`), and which of their fields hold messages. */
const MESSAGE = {
  request: 0,
  resourceSpans: 1,
  resource: 2,
  scopeSpans: 3,
  scope: 4,
  span: 5,
  event: 6,
  link: 7,
  status: 8,
  keyValue: 9,
  anyValue: 10,
  arrayValue: 11,
  keyValueList: 12,
} as const;
type Message = (typeof MESSAGE)[keyof typeof MESSAGE];

const MESSAGE_NAME: Readonly<Record<Message, string>> = {
  0: 'ExportTraceServiceRequest',
  1: 'ResourceSpans',
  2: 'Resource',
  3: 'ScopeSpans',
  4: 'InstrumentationScope',
  5: 'Span',
  6: 'Span.Event',
  7: 'Span.Link',
  8: 'Status',
  9: 'KeyValue',
  10: 'AnyValue',
  11: 'ArrayValue',
  12: 'KeyValueList',
};

/** Field number -> message type of that field, per message type. */
const MESSAGE_FIELDS: readonly (ReadonlyMap<number, Message> | undefined)[] = [
  new Map([[1, MESSAGE.resourceSpans]]),
  new Map([
    [1, MESSAGE.resource],
    [2, MESSAGE.scopeSpans],
  ]),
  new Map([[1, MESSAGE.keyValue]]),
  new Map([
    [1, MESSAGE.scope],
    [2, MESSAGE.span],
  ]),
  new Map([[3, MESSAGE.keyValue]]),
  new Map([
    [9, MESSAGE.keyValue],
    [11, MESSAGE.event],
    [13, MESSAGE.link],
    [15, MESSAGE.status],
  ]),
  new Map([[3, MESSAGE.keyValue]]),
  new Map([[4, MESSAGE.keyValue]]),
  undefined,
  new Map([[2, MESSAGE.anyValue]]),
  new Map([
    [5, MESSAGE.arrayValue],
    [6, MESSAGE.keyValueList],
  ]),
  new Map([[1, MESSAGE.anyValue]]),
  new Map([[1, MESSAGE.keyValue]]),
];

/** {@link MESSAGE_FIELDS} as a flat table for the hot path: `CHILD[type * CHILD_FIELDS + field]`. */
const CHILD_FIELDS = 16;
const NO_CHILD = -1;
const CHILD = Int8Array.from({ length: MESSAGE_FIELDS.length * CHILD_FIELDS }, (_, index) => {
  const child = MESSAGE_FIELDS[Math.floor(index / CHILD_FIELDS)]?.get(index % CHILD_FIELDS);
  return child === undefined ? NO_CHILD : child;
});

const WIRE = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;
const STATE = { tag: 0, length: 1, varint: 2, skip: 3 } as const;
type State = (typeof STATE)[keyof typeof STATE];
/** A varint is at most 10 bytes. */
const MAX_VARINT_BYTES = 10;

class ProtobufScanner implements BodyScanner {
  spans = 0;
  objects = 0;
  /** Open messages: their type and the offset where each ends (the request never ends). */
  private readonly kinds: Message[] = [MESSAGE.request];
  private readonly ends: number[] = [Number.POSITIVE_INFINITY];
  private offset = 0;
  private state: State = STATE.tag;
  private varint = 0;
  private varintBytes = 0;
  private skipBytes = 0;
  private field = 0;
  private problem: ScanProblem | undefined;

  constructor(private readonly limits: ScanLimits) {}

  write(chunk: Uint8Array): ScanProblem | undefined {
    if (this.problem !== undefined) return this.problem;
    const length = chunk.length;
    let i = 0;
    while (i < length) {
      if (this.state === STATE.tag && this.varintBytes === 0) {
        // Most fields lie whole inside a chunk: read them at once; the byte-by-byte path below
        // takes fields cut by a chunk boundary, and reports every malformed field.
        const next = this.wholeFields(chunk, i);
        if (this.problem !== undefined) return this.problem;
        if (next > i || this.state !== STATE.tag) {
          i = next;
          continue;
        }
      }
      if (this.state === STATE.skip) {
        const step = Math.min(this.skipBytes, length - i);
        i += step;
        this.offset += step;
        this.skipBytes -= step;
        if (this.skipBytes === 0) {
          this.state = STATE.tag;
          this.closeFinished();
        }
        continue;
      }
      const byte = chunk[i++] as number;
      this.offset++;
      this.varint += (byte & 0x7f) * 2 ** (7 * this.varintBytes);
      this.varintBytes++;
      if (byte & 0x80) {
        if (this.varintBytes >= MAX_VARINT_BYTES) return this.fail('a varint longer than 10 bytes');
        continue;
      }
      const value = this.varint;
      this.varint = 0;
      this.varintBytes = 0;
      if (this.offset > (this.ends[this.ends.length - 1] as number)) {
        return this.fail(`a field runs past the end of its ${this.currentName()}`);
      }
      if (this.state === STATE.varint) {
        // A varint field's value: nothing to count.
        this.state = STATE.tag;
        this.closeFinished();
        continue;
      }
      const problem = this.state === STATE.tag ? this.onTag(value) : this.onLength(value);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  end(): ScanProblem | undefined {
    if (this.problem !== undefined) return this.problem;
    if (this.state !== STATE.tag || this.varintBytes > 0 || this.kinds.length > 1) {
      return this.fail(`the body ends inside a ${this.currentName()}`);
    }
    return undefined;
  }

  private currentName(): string {
    return MESSAGE_NAME[this.kinds[this.kinds.length - 1] as Message];
  }

  private fail(message: string): ScanProblem {
    this.problem = malformed(`not an OTLP ExportTraceServiceRequest: ${message}`);
    return this.problem;
  }

  private onTag(tag: number): ScanProblem | undefined {
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) return this.fail('field number 0');
    const child = MESSAGE_FIELDS[this.kinds[this.kinds.length - 1] as Message]?.get(field);
    if (child !== undefined && wire !== WIRE.lengthDelimited) {
      return this.fail(`field ${field} of ${this.currentName()} has wire type ${wire}, expected 2`);
    }
    this.field = field;
    switch (wire) {
      case WIRE.varint:
        this.state = STATE.varint;
        return undefined;
      case WIRE.fixed64:
        return this.skip(8);
      case WIRE.fixed32:
        return this.skip(4);
      case WIRE.lengthDelimited:
        this.state = STATE.length;
        return undefined;
      default:
        return this.fail(`wire type ${wire} (groups are not protobuf 3)`);
    }
  }

  private onLength(length: number): ScanProblem | undefined {
    const end = this.offset + length;
    if (end > (this.ends[this.ends.length - 1] as number)) {
      return this.fail(`a length of ${length} runs past the end of its ${this.currentName()}`);
    }
    const child = MESSAGE_FIELDS[this.kinds[this.kinds.length - 1] as Message]?.get(this.field);
    if (child === undefined) return this.skip(length);
    this.state = STATE.tag;
    return this.enter(child, end);
  }

  /** Opens a nested message that ends at `end`: counted against the limits. */
  private enter(child: Message, end: number): ScanProblem | undefined {
    if (++this.objects > this.limits.maxObjects) {
      this.problem = tooManyObjects(this.limits);
      return this.problem;
    }
    if (child === MESSAGE.span && ++this.spans > this.limits.maxSpans) {
      this.problem = tooManySpans(this.limits);
      return this.problem;
    }
    if (this.kinds.length >= this.limits.maxDepth) {
      this.problem = tooDeep(this.limits);
      return this.problem;
    }
    this.kinds.push(child);
    this.ends.push(end);
    this.closeFinished();
    return undefined;
  }

  /**
   * Reads fields from `start` on, as long as each one's tag, and its value or length, lie
   * whole in the chunk and are well formed; returns where it stopped (a field it left to the
   * byte-by-byte path, which also reports every malformed one, or the bytes of a long string
   * still to skip). The innermost message's type and end stay in locals meanwhile.
   */
  private wholeFields(chunk: Uint8Array, start: number): number {
    const length = chunk.length;
    const { kinds, ends } = this;
    let i = start;
    let offset = this.offset;
    let kind = kinds[kinds.length - 1] as Message;
    let enclosingEnd = ends[ends.length - 1] as number;
    while (i < length) {
      let j = i;
      let tag = chunk[j++] as number;
      if (tag >= 0x80) {
        if (j >= length) break;
        const second = chunk[j++] as number;
        if (second >= 0x80) break; // tags of three bytes or more: fields past 2047, left to the slow path
        tag = (tag & 0x7f) | (second << 7);
      }
      const field = tag >>> 3;
      const wire = tag & 7;
      const child = field < CHILD_FIELDS ? (CHILD[kind * CHILD_FIELDS + field] as number) : NO_CHILD;
      if (field === 0 || (child !== NO_CHILD && wire !== WIRE.lengthDelimited)) break;
      let size: number;
      if (wire === WIRE.lengthDelimited) {
        size = 0;
        let shift = 0;
        let complete = false;
        while (j < length && shift <= 28) {
          const byte = chunk[j++] as number;
          size += (byte & 0x7f) * 2 ** shift;
          if (byte < 0x80) {
            complete = true;
            break;
          }
          shift += 7;
        }
        if (!complete) break;
        const valueStart = offset + (j - i);
        if (valueStart + size > enclosingEnd) break;
        if (child !== NO_CHILD) {
          this.offset = valueStart;
          if (this.enter(child as Message, valueStart + size) !== undefined) return j;
          offset = this.offset;
          kind = kinds[kinds.length - 1] as Message;
          enclosingEnd = ends[ends.length - 1] as number;
          i = j;
          continue;
        }
        if (j + size > length) {
          // A string or bytes field longer than the rest of the chunk.
          this.offset = valueStart;
          this.skipBytes = size;
          this.state = STATE.skip;
          return j;
        }
      } else if (wire === WIRE.varint) {
        let bytes = 1;
        while (j < length && (chunk[j] as number) >= 0x80 && bytes < MAX_VARINT_BYTES) {
          j++;
          bytes++;
        }
        if (j >= length || (chunk[j] as number) >= 0x80) break;
        j++;
        size = 0;
      } else if (wire === WIRE.fixed64) {
        size = 8;
      } else if (wire === WIRE.fixed32) {
        size = 4;
      } else {
        break;
      }
      if (j + size > length) break;
      offset += j - i + size;
      if (offset > enclosingEnd) {
        offset -= j - i + size;
        break;
      }
      i = j + size;
      if (offset === enclosingEnd) {
        this.offset = offset;
        this.closeFinished();
        kind = kinds[kinds.length - 1] as Message;
        enclosingEnd = ends[ends.length - 1] as number;
      }
    }
    this.offset = offset;
    return i;
  }

  private skip(bytes: number): ScanProblem | undefined {
    if (this.offset + bytes > (this.ends[this.ends.length - 1] as number)) {
      return this.fail(`a field runs past the end of its ${this.currentName()}`);
    }
    this.skipBytes = bytes;
    this.state = STATE.skip;
    if (bytes === 0) {
      this.state = STATE.tag;
      this.closeFinished();
    }
    return undefined;
  }

  /** Closes every message that ends at the current offset. */
  private closeFinished(): void {
    while (this.ends.length > 1 && this.ends[this.ends.length - 1] === this.offset) {
      this.ends.pop();
      this.kinds.pop();
    }
  }
}
