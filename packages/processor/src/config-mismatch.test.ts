import {
  ATTR_COHORT,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_PROMPT_HASH,
  ATTR_RELEASE_ID,
  ATTR_RELEASE_MODEL,
  ATTR_RELEASE_PROMPT_HASH,
} from '@agent-canary/conventions';
import { type Attributes, DiagLogLevel, diag } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { BehaviorSpanProcessor } from './processor.js';
import { selectSeries } from './snapshot.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const ASSIGNED: Attributes = {
  [ATTR_RELEASE_ID]: 'v2',
  [ATTR_COHORT]: 'canary',
  [ATTR_RELEASE_MODEL]: 'gpt-4.1',
  [ATTR_RELEASE_PROMPT_HASH]: 'sha256:aaaa',
};

afterEach(() => diag.disable());

function run(spans: readonly { readonly operation: string; readonly attributes: Attributes }[]) {
  const warnings: string[] = [];
  diag.setLogger(
    { verbose: () => {}, debug: () => {}, info: () => {}, warn: (message) => warnings.push(message), error: () => {} },
    DiagLogLevel.WARN,
  );
  const processor = new BehaviorSpanProcessor({ now: () => T0 });
  const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('test');
  for (const spec of spans) {
    tracer
      .startSpan(spec.operation, { attributes: { [ATTR_GEN_AI_OPERATION_NAME]: spec.operation, ...spec.attributes } })
      .end();
  }
  return { mismatches: selectSeries(processor.window(), { release: 'v2' }).configMismatches, warnings };
}

describe('assigned vs used configuration', () => {
  it('counts model calls that used another model than the release prescribes, and warns once', () => {
    const result = run([
      { operation: 'chat', attributes: { ...ASSIGNED, [ATTR_GEN_AI_REQUEST_MODEL]: 'gpt-4.1' } },
      { operation: 'chat', attributes: { ...ASSIGNED, [ATTR_GEN_AI_REQUEST_MODEL]: 'gpt-4o' } },
      { operation: 'chat', attributes: { ...ASSIGNED, [ATTR_GEN_AI_REQUEST_MODEL]: 'gpt-4o' } },
    ]);
    expect(result.mismatches).toBe(2);
    expect(result.warnings).toEqual([
      'agent-canary behaviour processor: release v2 served model gpt-4o instead of gpt-4.1',
    ]);
  });

  it('counts a prompt hash that differs from the assigned one', () => {
    const result = run([
      { operation: 'invoke_agent', attributes: { ...ASSIGNED, [ATTR_PROMPT_HASH]: 'sha256:aaaa' } },
      { operation: 'invoke_agent', attributes: { ...ASSIGNED, [ATTR_PROMPT_HASH]: 'sha256:bbbb' } },
    ]);
    expect(result.mismatches).toBe(1);
  });

  it('says nothing without a prescribed configuration, or on spans that are not model calls', () => {
    const { [ATTR_RELEASE_MODEL]: _model, [ATTR_RELEASE_PROMPT_HASH]: _prompt, ...plain } = ASSIGNED;
    const result = run([
      { operation: 'chat', attributes: { ...plain, [ATTR_GEN_AI_REQUEST_MODEL]: 'gpt-4o' } },
      // An agent span may name another model (e.g. a router's); only model calls are compared.
      { operation: 'invoke_agent', attributes: { ...ASSIGNED, [ATTR_GEN_AI_REQUEST_MODEL]: 'router' } },
    ]);
    expect(result).toEqual({ mismatches: 0, warnings: [] });
  });
});
