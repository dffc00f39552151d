/**
 * Test set-up: a real BasicTracerProvider with the tagging processor, an in-memory
 * exporter and the AsyncLocalStorage context manager, registered as the globals (each
 * Vitest file runs in its own process). Excluded from the build.
 */
import { context, propagation, type Tracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ReleaseTaggingSpanProcessor } from '../tagging-processor.js';

export interface TestTracing {
  readonly tracer: Tracer;
  /** Finished spans so far. */
  spans(): ReadableSpan[];
  /** The one finished span named `name` (throws if there is not exactly one). */
  span(name: string): ReadableSpan;
  reset(): void;
}

export function setupTracing(): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new ReleaseTaggingSpanProcessor(), new SimpleSpanProcessor(exporter)],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  return {
    tracer: trace.getTracer('test'),
    spans: () => exporter.getFinishedSpans(),
    span: (name) => {
      const found = exporter.getFinishedSpans().filter((span) => span.name === name);
      if (found.length !== 1) throw new Error(`expected one span named ${name}, found ${found.length}`);
      return found[0] as ReadableSpan;
    },
    reset: () => exporter.reset(),
  };
}
