import { type Context, diag } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { releaseAttributesOf } from './release-context.js';

/**
 * Stamps the active release assignment on every span when it starts: spans of this app,
 * of third-party instrumentations (Vercel AI SDK, OpenInference, HTTP clients...) and of
 * downstream services that received the assignment in W3C baggage.
 *
 * The attributes are built once per `withRelease` call (or once per received baggage), so
 * `onStart` is one context lookup and one `setAttributes`. Without an assignment it does
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
      const attributes = releaseAttributesOf(parentContext);
      if (attributes !== undefined) span.setAttributes(attributes);
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
