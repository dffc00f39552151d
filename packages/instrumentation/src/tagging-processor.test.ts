import {
  ATTR_COHORT,
  ATTR_FLAG_KEY,
  ATTR_LANGFUSE_RELEASE,
  ATTR_RELEASE_ID,
  ATTR_RELEASE_MODEL,
  ATTR_ROLLOUT_ID,
  ATTR_SUBJECT,
  BAGGAGE_COHORT,
  BAGGAGE_FLAG_KEY,
  BAGGAGE_RELEASE_ID,
  type ReleaseAssignment,
} from '@agent-canary/conventions';
import { type Attributes, type Context, context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type Span,
} from '@opentelemetry/sdk-trace-base';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { contextWithRelease, withRelease } from './release-context.js';
import { ReleaseTaggingSpanProcessor } from './tagging-processor.js';
import { setupTracing } from './testing-fixtures/tracing.js';

const tracing = setupTracing();
const canary: ReleaseAssignment = { flagKey: 'agent.release', release: 'v2', cohort: 'canary', rolloutId: 'r-1' };
const ALL_SIX: Attributes = {
  [ATTR_RELEASE_ID]: 'v2',
  [ATTR_COHORT]: 'canary',
  [ATTR_FLAG_KEY]: 'agent.release',
  [ATTR_LANGFUSE_RELEASE]: 'v2',
  [ATTR_ROLLOUT_ID]: 'r-1',
  [ATTR_SUBJECT]: '3f2a9c0d1e4b5a67',
};

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

  it('writes all six release attributes on every span, whatever its own attributes', () => {
    withRelease({ ...canary, subject: '3f2a9c0d1e4b5a67' }, () => {
      tracing.tracer.startSpan('plain').end();
      tracing.tracer.startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat' } }).end();
    });
    expect(tracing.span('plain').attributes).toEqual(ALL_SIX);
    expect(tracing.span('chat gpt-4o-mini').attributes).toEqual({ ...ALL_SIX, 'gen_ai.operation.name': 'chat' });
  });

  it('keeps the release when the span already holds as many attributes as attributeCountLimit allows', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanLimits: { attributeCountLimit: 2 },
      spanProcessors: [new ReleaseTaggingSpanProcessor(), new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('limited');
    withRelease(canary, () => {
      const span = tracer.startSpan('full', { attributes: { 'http.method': 'GET', 'http.route': '/x' } });
      // Attributes the app sets later still count against the limit as before.
      span.setAttribute('http.status_code', 200);
      span.end();
    });
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes).toMatchObject({
      'http.method': 'GET',
      'http.route': '/x',
      [ATTR_RELEASE_ID]: 'v2',
      [ATTR_COHORT]: 'canary',
      [ATTR_ROLLOUT_ID]: 'r-1',
    });
    expect(span?.attributes['http.status_code']).toBeUndefined();
  });

  it('writes the extra attributes of contextWithRelease; the assignment wins over an extra of the same key', () => {
    const ctx = contextWithRelease(ROOT_CONTEXT, canary, {
      [ATTR_RELEASE_MODEL]: 'gpt-4.1',
      [ATTR_RELEASE_ID]: 'spoofed',
    });
    context.with(ctx, () => tracing.tracer.startSpan('with-extra').end());
    expect(tracing.span('with-extra').attributes).toMatchObject({
      [ATTR_RELEASE_MODEL]: 'gpt-4.1',
      [ATTR_RELEASE_ID]: 'v2',
    });
  });

  it('goes through setAttributes when the span attribute map cannot be written in place', () => {
    const processor = new ReleaseTaggingSpanProcessor();
    const tagged = withRelease(canary, () => context.active());
    const frozen = { attributes: Object.freeze({}), setAttributes: vi.fn() };
    processor.onStart(frozen as unknown as Span, tagged);
    expect(frozen.setAttributes).toHaveBeenCalledWith(expect.objectContaining({ [ATTR_RELEASE_ID]: 'v2' }));
    // An accessor that hands out a fresh copy on every read.
    const copying = { setAttributes: vi.fn() };
    Object.defineProperty(copying, 'attributes', { get: () => ({}) });
    processor.onStart(copying as unknown as Span, tagged);
    expect(copying.setAttributes).toHaveBeenCalledWith(expect.objectContaining({ [ATTR_COHORT]: 'canary' }));
  });
});
