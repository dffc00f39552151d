import {
  ATTR_COHORT,
  ATTR_LANGFUSE_RELEASE,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  BAGGAGE_COHORT,
  BAGGAGE_FLAG_KEY,
  BAGGAGE_RELEASE_ID,
  type ReleaseAssignment,
} from '@agent-canary/conventions';
import { type Context, context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/sdk-trace-base';
import { beforeEach, describe, expect, it } from 'vitest';
import { withRelease } from './release-context.js';
import { ReleaseTaggingSpanProcessor } from './tagging-processor.js';
import { setupTracing } from './testing-fixtures/tracing.js';

const tracing = setupTracing();
const canary: ReleaseAssignment = { flagKey: 'agent.release', release: 'v2', cohort: 'canary', rolloutId: 'r-1' };

beforeEach(() => tracing.reset());

describe('ReleaseTaggingSpanProcessor', () => {
  it('tags every span started under withRelease, nested and after awaits', async () => {
    await withRelease(canary, () =>
      tracing.tracer.startActiveSpan('root', async (root) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        tracing.tracer.startSpan('child').end();
        // A third-party library with its own tracer is tagged too.
        trace.getTracer('some-http-client').startSpan('GET /weather').end();
        root.end();
      }),
    );
    const spans = tracing.spans();
    expect(spans.map((span) => span.name).sort()).toEqual(['GET /weather', 'child', 'root']);
    for (const span of spans) {
      expect(span.attributes[ATTR_RELEASE_ID], span.name).toBe('v2');
      expect(span.attributes[ATTR_COHORT], span.name).toBe('canary');
      expect(span.attributes[ATTR_ROLLOUT_ID], span.name).toBe('r-1');
      expect(span.attributes[ATTR_LANGFUSE_RELEASE], span.name).toBe('v2');
    }
  });

  it('leaves spans outside any release untouched', () => {
    tracing.tracer.startSpan('untagged').end();
    expect(Object.keys(tracing.span('untagged').attributes)).toEqual([]);
  });

  it('tags spans whose context only carries baggage from an upstream service', () => {
    const upstream = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({
        [BAGGAGE_RELEASE_ID]: { value: 'v1' },
        [BAGGAGE_COHORT]: { value: 'control' },
        [BAGGAGE_FLAG_KEY]: { value: 'agent.release' },
      }),
    );
    context.with(upstream, () => {
      tracing.tracer.startSpan('first').end();
      tracing.tracer.startSpan('second').end();
    });
    expect(tracing.span('first').attributes[ATTR_COHORT]).toBe('control');
    expect(tracing.span('second').attributes[ATTR_RELEASE_ID]).toBe('v1');
  });

  it('ignores baggage with an invalid cohort', () => {
    const upstream = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({
        [BAGGAGE_RELEASE_ID]: { value: 'v1' },
        [BAGGAGE_COHORT]: { value: 'beta' },
        [BAGGAGE_FLAG_KEY]: { value: 'agent.release' },
      }),
    );
    context.with(upstream, () => tracing.tracer.startSpan('bad-baggage').end());
    expect(tracing.span('bad-baggage').attributes[ATTR_RELEASE_ID]).toBeUndefined();
  });

  it('never throws from onStart, even with a broken context or span', async () => {
    const processor = new ReleaseTaggingSpanProcessor();
    const brokenContext = {
      getValue: () => {
        throw new Error('broken context');
      },
    } as unknown as Context;
    const span = { setAttributes: () => undefined } as unknown as Span;
    expect(() => processor.onStart(span, brokenContext)).not.toThrow();
    const throwingSpan = {
      setAttributes: () => {
        throw new Error('broken span');
      },
    } as unknown as Span;
    const tagged = withRelease(canary, () => context.active());
    expect(() => processor.onStart(throwingSpan, tagged)).not.toThrow();
    await expect(processor.forceFlush()).resolves.toBeUndefined();
    await expect(processor.shutdown()).resolves.toBeUndefined();
    await expect(processor.shutdown()).resolves.toBeUndefined();
  });
});
