import {
  ATTR_FEEDBACK_KIND,
  FEEDBACK_KIND,
  FEEDBACK_SPAN_NAME,
  type FeedbackKind,
  type ReleaseAssignment,
} from '@agent-canary/conventions';
import {
  type Attributes,
  context,
  diag,
  isSpanContextValid,
  type SpanContext,
  SpanKind,
  TraceFlags,
} from '@opentelemetry/api';
import { contextWithRelease, getActiveRelease, releaseAttributes } from './release-context.js';
import { readClock, type SpanClockOptions } from './spans.js';
import { resolveTracer, type TracerOptions } from './tracer.js';

/** Options of `recordFeedback`. */
export interface FeedbackOptions extends TracerOptions, SpanClockOptions {
  /** Trace id of the rated turn (`turn.span.spanContext().traceId`). */
  readonly traceId: string;
  /** Span id of the rated turn. */
  readonly spanId: string;
  /** What the user did. */
  readonly kind: FeedbackKind;
  /**
   * Release that served the rated turn (store it with the turn's ids).
   * @default the assignment active in the current context
   */
  readonly assignment?: ReleaseAssignment;
}

const FEEDBACK_KINDS: ReadonlySet<string> = new Set(Object.values(FEEDBACK_KIND));

/**
 * Records user feedback on a finished turn: a short `agent_canary.feedback` span that links
 * to the turn's span and carries the feedback kind and the release attributes. Returns
 * `false` (and reports through `diag`) when the ids or the kind are invalid; never throws.
 *
 * @example
 * recordFeedback({ traceId, spanId, kind: FEEDBACK_KIND.thumbsDown, assignment });
 */
export function recordFeedback(options: FeedbackOptions): boolean {
  try {
    const linked: SpanContext = {
      traceId: options.traceId,
      spanId: options.spanId,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    };
    if (!isSpanContextValid(linked)) {
      diag.warn(`agent-canary: recordFeedback ignored: invalid trace/span id ${options.traceId}/${options.spanId}`);
      return false;
    }
    if (!FEEDBACK_KINDS.has(options.kind)) {
      diag.warn(`agent-canary: recordFeedback ignored: unknown kind ${JSON.stringify(options.kind)}`);
      return false;
    }
    const active = context.active();
    const assignment = options.assignment ?? getActiveRelease(active);
    const parent = options.assignment === undefined ? active : contextWithRelease(active, options.assignment);
    const attributes: Attributes = {
      ...(assignment === undefined ? {} : releaseAttributes(assignment)),
      [ATTR_FEEDBACK_KIND]: options.kind,
    };
    const time = options.clock === undefined ? undefined : readClock(options.clock);
    resolveTracer(options)
      .startSpan(
        FEEDBACK_SPAN_NAME,
        {
          kind: SpanKind.INTERNAL,
          attributes,
          links: [{ context: linked }],
          ...(time === undefined ? {} : { startTime: time }),
        },
        parent,
      )
      .end(time);
    return true;
  } catch (error) {
    diag.error('agent-canary: recordFeedback failed', error);
    return false;
  }
}
