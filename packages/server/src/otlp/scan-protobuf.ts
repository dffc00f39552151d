/**
 * The structural scanner of OTLP/protobuf bodies: the wire format is walked with the OTLP
 * trace schema's message fields (`schema.ts`), so every nested message is one object and
 * each `Span` a span; a truncated field, a length past its enclosing message or a wire type
 * that protobuf 3 does not use is malformed.
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

/** Counts spans, messages and depth of an OTLP/protobuf body, chunk by chunk. */
export class ProtobufScanner implements BodyScanner {
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
