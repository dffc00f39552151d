/**
 * Test helper: replays the captured framework spans in `test/fixtures/spans/*.json`
 * through the real OpenTelemetry SDK, so tests get genuine finished `ReadableSpan`s
 * (what a span processor's `onEnd` receives) with ids, parent links, times, status and
 * events. Not part of the package's runtime surface.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Directory of the captured span fixtures. */
export const FIXTURE_SPANS_DIR = fileURLToPath(new URL('../../../../test/fixtures/spans/', import.meta.url));

/** First span's start time; later spans start 1 ms apart in file order. */
const BASE_TIME_MILLIS = Date.UTC(2026, 0, 1);

interface FixtureSpan {
  readonly index: number;
  readonly name?: string;
  readonly kind?: string;
  readonly scope?: string;
  readonly parentIndex: number | null;
  readonly status?: { readonly code: string; readonly message?: string };
  readonly attributes?: Attributes;
  readonly events?: ReadonlyArray<{ readonly name: string; readonly attributes?: Attributes }>;
}

interface FixtureFile {
  readonly runs: Readonly<Record<string, { readonly spans: readonly FixtureSpan[] }>>;
}

/** Resolves a fixture name (`vercel-ai-sdk-v6.json`) or path to an absolute path. */
export function fixturePath(file: string): string {
  return isAbsolute(file) ? file : join(FIXTURE_SPANS_DIR, file);
}

function readFixture(file: string): FixtureFile {
  return JSON.parse(readFileSync(fixturePath(file), 'utf8')) as FixtureFile;
}

/** Names of the runs in a fixture file, in file order. */
export function fixtureRunNames(file: string): string[] {
  return Object.keys(readFixture(file).runs);
}

/** Options of {@link loadFixtureSpans}. */
export interface FixtureReplayOptions {
  /** Name of the run to replay. @default every run of the file, each in its own traces */
  readonly run?: string;
  /**
   * Attributes stamped on every span at start, as the release-tagging processor does
   * (e.g. `agent_canary.release.id`, `agent_canary.cohort`). @default none
   */
  readonly attributes?: Attributes;
}

/**
 * Replays a fixture file through the real SDK and returns the finished spans in file
 * order (parents before children). Throws for fixtures that are not OpenTelemetry spans
 * (openai-agents-native.json) and for an unknown run name.
 *
 * @example
 * const spans = loadFixtureSpans('vercel-ai-sdk-v6.json', { run: 'generateText' });
 * const facts = spans.map(normalizeSpan);
 */
export function loadFixtureSpans(file: string, options: FixtureReplayOptions = {}): ReadableSpan[] {
  const fixture = readFixture(file);
  const runNames = options.run === undefined ? Object.keys(fixture.runs) : [options.run];
  const spans: ReadableSpan[] = [];
  let offsetMillis = 0;
  for (const runName of runNames) {
    const fixtureRun = fixture.runs[runName];
    if (fixtureRun === undefined) throw new Error(`fixture ${file} has no run ${runName}`);
    const label = `${file}#${runName}`;
    spans.push(...replayRun(fixtureRun.spans, BASE_TIME_MILLIS + offsetMillis, label, options.attributes ?? {}));
    offsetMillis += 60_000;
  }
  return spans;
}

class CollectingProcessor implements SpanProcessor {
  readonly ended = new Map<string, ReadableSpan>();
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.ended.set(span.spanContext().spanId, span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function replayRun(
  fixtureSpans: readonly FixtureSpan[],
  baseMillis: number,
  label: string,
  extraAttributes: Attributes,
): ReadableSpan[] {
  const collector = new CollectingProcessor();
  const provider = new BasicTracerProvider({
    spanProcessors: [collector],
    // Fixture spans carry many flattened message attributes; keep them all.
    spanLimits: { attributeCountLimit: 10_000, eventCountLimit: 1_000 },
  });

  // Parents enclose their children: a span ends 1 ms after its last descendant.
  const startMillis = fixtureSpans.map((_, position) => baseMillis + position);
  const endMillis = startMillis.map((start) => start + 1);
  for (let position = fixtureSpans.length - 1; position >= 0; position--) {
    const parent = fixtureSpans[position]?.parentIndex;
    const parentPosition = parent === null || parent === undefined ? -1 : positionOf(fixtureSpans, parent);
    const end = endMillis[position] ?? 0;
    if (parentPosition >= 0 && (endMillis[parentPosition] ?? 0) <= end) endMillis[parentPosition] = end + 1;
  }

  const started: Span[] = [];
  fixtureSpans.forEach((fixtureSpan, position) => {
    if (typeof fixtureSpan.name !== 'string') {
      throw new Error(`${label}: span ${fixtureSpan.index} is not an OpenTelemetry span (no name)`);
    }
    const scope = fixtureSpan.scope ?? 'unknown';
    const parentPosition = fixtureSpan.parentIndex === null ? -1 : positionOf(fixtureSpans, fixtureSpan.parentIndex);
    const parentSpan = started[parentPosition];
    const parentContext: Context = parentSpan === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, parentSpan);
    const span = provider.getTracer(scope).startSpan(
      fixtureSpan.name,
      {
        kind: SpanKind[(fixtureSpan.kind ?? 'INTERNAL') as keyof typeof SpanKind],
        attributes: { ...fixtureSpan.attributes, ...extraAttributes },
        startTime: startMillis[position],
      },
      parentContext,
    );
    for (const event of fixtureSpan.events ?? [])
      span.addEvent(event.name, event.attributes ?? {}, startMillis[position]);
    const status = fixtureSpan.status;
    if (status !== undefined && status.code !== 'UNSET') {
      const code = status.code === 'ERROR' ? SpanStatusCode.ERROR : SpanStatusCode.OK;
      span.setStatus(status.message === undefined ? { code } : { code, message: status.message });
    }
    started.push(span);
  });
  for (let position = started.length - 1; position >= 0; position--) started[position]?.end(endMillis[position]);

  return started.map((span) => {
    const ended = collector.ended.get(span.spanContext().spanId);
    if (ended === undefined) throw new Error(`${label}: span ${span.spanContext().spanId} did not end`);
    return ended;
  });
}

function positionOf(fixtureSpans: readonly FixtureSpan[], index: number): number {
  return fixtureSpans.findIndex((span) => span.index === index);
}
