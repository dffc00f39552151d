import { type Tracer, trace } from '@opentelemetry/api';

/** Instrumentation scope name of the spans this package starts. */
export const INSTRUMENTATION_SCOPE_NAME = '@agent-canary/instrumentation';
const INSTRUMENTATION_SCOPE_VERSION = '0.1.0';

/** Options shared by the span helpers. */
export interface TracerOptions {
  /**
   * Tracer to start spans with.
   * @default the global tracer provider's tracer `@agent-canary/instrumentation`
   */
  readonly tracer?: Tracer;
}

/** The tracer to use; looked up per call so a provider registered later is picked up. */
export function resolveTracer(options: TracerOptions | undefined): Tracer {
  return options?.tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE_NAME, INSTRUMENTATION_SCOPE_VERSION);
}
