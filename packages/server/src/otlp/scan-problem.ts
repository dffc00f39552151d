/**
 * What the OTLP body scanners share: the bounds they enforce, the contract they fulfil and
 * the problems they report.
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

/** More spans than `maxSpans`. */
export function tooManySpans(limits: ScanLimits): ScanProblem {
  return {
    kind: SCAN_PROBLEM.tooManySpans,
    message: `the request has more than ${limits.maxSpans} spans (maxSpansPerRequest); send smaller batches`,
  };
}

/** More objects than `maxObjects`. */
export function tooManyObjects(limits: ScanLimits): ScanProblem {
  return {
    kind: SCAN_PROBLEM.tooManyObjects,
    message: `the request has more than ${limits.maxObjects} objects (maxObjectsPerRequest); send smaller batches`,
  };
}

/** Nested deeper than `maxDepth`. */
export function tooDeep(limits: ScanLimits): ScanProblem {
  return { kind: SCAN_PROBLEM.tooDeep, message: `the request nests deeper than ${limits.maxDepth} levels` };
}

/** Not the declared encoding. */
export function malformed(message: string): ScanProblem {
  return { kind: SCAN_PROBLEM.malformed, message };
}
