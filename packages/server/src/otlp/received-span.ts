/**
 * A span received over OTLP, as the SDK's `ReadableSpan`.
 */
import type { Attributes, HrTime, Link, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/**
 * A span received over OTLP, shaped as the SDK's `ReadableSpan` so span processors (the
 * behaviour processor, an exporter's batch processor) take it as if it had ended here.
 */
export class ReceivedSpan implements ReadableSpan {
  /** Always true: a received span has ended. */
  readonly ended = true;
  /** `endTime - startTime`. */
  readonly duration: HrTime;

  /** Built by `decodeProtobufRequest` and `decodeJsonRequest`; the fields are `ReadableSpan`'s. */
  constructor(
    private readonly context: SpanContext,
    readonly name: string,
    readonly kind: SpanKind,
    readonly parentSpanContext: SpanContext | undefined,
    readonly startTime: HrTime,
    readonly endTime: HrTime,
    readonly status: SpanStatus,
    readonly attributes: Attributes,
    readonly links: Link[],
    readonly events: TimedEvent[],
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
    readonly droppedAttributesCount: number,
    readonly droppedEventsCount: number,
    readonly droppedLinksCount: number,
  ) {
    let seconds = endTime[0] - startTime[0];
    let nanos = endTime[1] - startTime[1];
    if (nanos < 0) {
      seconds -= 1;
      nanos += 1_000_000_000;
    }
    this.duration = [seconds, nanos];
  }

  /** Trace id, span id and trace flags as received. */
  spanContext(): SpanContext {
    return this.context;
  }
}
