import {
  ATTR_COHORT,
  ATTR_FLAG_KEY,
  ATTR_LANGFUSE_RELEASE,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  ATTR_SUBJECT,
} from '@agent-canary/conventions';
import { type Context, diag } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type ReleaseRecord, releaseRecordOf } from './release-context.js';

/**
 * Stamps the active release assignment on every span when it starts: spans of this app,
 * of third-party instrumentations (Vercel AI SDK, OpenInference, HTTP clients...) and of
 * downstream services that received the assignment in W3C baggage. Every such span carries
 * the release id, cohort, flag key, rollout id, subject and `langfuse.release`.
 *
 * The attributes are built and validated once per `withRelease` call (or once per received
 * baggage), so `onStart` is one context lookup and six property writes. They are written
 * straight into the span's attribute map, as the span's own start attributes are: the SDK's
 * `setAttribute` re-validates each value and stores it through one generic code path, which
 * costs five times more than the writes themselves (see docs/benchmarks.md, "Release tagging
 * processor overhead"). They are therefore not counted against `attributeCountLimit` and not
 * cut by `attributeValueLengthLimit`: a span never loses its release to the limit, nor its own
 * attributes to ours. A span whose attribute map cannot be written that way (another SDK
 * version, a frozen map) gets them through `setAttributes`. Without an assignment it does
 * nothing. It never throws into the host app: failures are reported through `diag`.
 *
 * Register it before processors that read the attributes in `onStart` (e.g. Langfuse's
 * export filter); `registerAgentCanary` does this for you.
 *
 * @example
 * const provider = new NodeTracerProvider({ spanProcessors: [new ReleaseTaggingSpanProcessor(), batch] });
 */
export class ReleaseTaggingSpanProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    try {
      const record = releaseRecordOf(parentContext);
      if (record !== undefined) stampRelease(span, record);
    } catch (error) {
      diag.error('agent-canary: ReleaseTaggingSpanProcessor.onStart failed', error);
    }
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Writes the record's attributes on a started span. One property write per attribute, with
 * constant keys (each write site sees one key, so the engine keeps it fast); the values were
 * validated when the record was built.
 */
function stampRelease(span: Span, record: ReleaseRecord): void {
  // Extra attributes come from the caller of contextWithRelease: the SDK validates them.
  if (record.extra !== undefined) span.setAttributes(record.extra);
  const target = span.attributes;
  if (typeof target === 'object' && target !== null) {
    try {
      const { assignment } = record;
      target[ATTR_RELEASE_ID] = assignment.release;
      target[ATTR_COHORT] = assignment.cohort;
      target[ATTR_FLAG_KEY] = assignment.flagKey;
      target[ATTR_LANGFUSE_RELEASE] = assignment.release;
      if (assignment.rolloutId !== undefined) target[ATTR_ROLLOUT_ID] = assignment.rolloutId;
      if (assignment.subject !== undefined) target[ATTR_SUBJECT] = assignment.subject;
      // An accessor handing out copies would have dropped the writes: only its own map counts.
      if (span.attributes === target) return;
    } catch {
      // A frozen or sealed map (writes throw in strict mode): the SDK's own path decides.
    }
  }
  span.setAttributes(record.attributes);
}
