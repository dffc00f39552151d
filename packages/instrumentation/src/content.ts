import { diag } from '@opentelemetry/api';

/** Kinds of text that content capture may record; passed to the `mask` hook. */
export const CONTENT_KIND = {
  prompt: 'prompt',
  output: 'output',
  toolArguments: 'tool_arguments',
  toolResult: 'tool_result',
} as const;
/** One of `CONTENT_KIND`. */
export type ContentKind = (typeof CONTENT_KIND)[keyof typeof CONTENT_KIND];

/**
 * Rewrites captured text before it is put on a span (redact emails, keys, ...). Called only
 * when content capture is on. If it throws, the text is not recorded.
 */
export type MaskFunction = (text: string, kind: ContentKind) => string;

/** Content-capture options shared by `registerAgentCanary` and every span helper. */
export interface ContentCaptureOptions {
  /**
   * Record prompts, outputs, tool arguments and results on spans. Off by default: spans
   * then carry lengths and scores, never text.
   * @default false (or the global value set by `registerAgentCanary`)
   */
  readonly captureContent?: boolean;
  /** Applied to every captured text. @default identity (or the global hook) */
  readonly mask?: MaskFunction;
}

interface ContentCaptureConfig {
  readonly captureContent: boolean;
  readonly mask: MaskFunction | undefined;
}

const DEFAULT_CONTENT_CAPTURE: ContentCaptureConfig = Object.freeze({ captureContent: false, mask: undefined });

let globalCapture: ContentCaptureConfig = DEFAULT_CONTENT_CAPTURE;

/** Sets the process-wide default (internal: `registerAgentCanary` owns it). */
export function setGlobalContentCapture(options: ContentCaptureOptions | undefined): void {
  globalCapture =
    options === undefined
      ? DEFAULT_CONTENT_CAPTURE
      : Object.freeze({ captureContent: options.captureContent === true, mask: options.mask });
}

/**
 * The text to record for `kind`, or `undefined` when capture is off or masking failed.
 * Per-call options win over the global default.
 */
export function captureText(
  options: ContentCaptureOptions | undefined,
  text: string,
  kind: ContentKind,
): string | undefined {
  const enabled = options?.captureContent ?? globalCapture.captureContent;
  if (!enabled) return undefined;
  const mask = options?.mask ?? globalCapture.mask;
  if (mask === undefined) return text;
  try {
    const masked = mask(text, kind);
    return typeof masked === 'string' ? masked : undefined;
  } catch (error) {
    diag.warn(`agent-canary: mask failed for ${kind}; content not recorded`, error);
    return undefined;
  }
}

/** JSON text of a value for capture; `undefined` when it cannot be serialised. */
export function stringifyForCapture(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
