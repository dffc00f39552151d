import {
  ATTR_COHORT,
  ATTR_FLAG_KEY,
  ATTR_LANGFUSE_RELEASE,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  ATTR_SUBJECT,
  BAGGAGE_COHORT,
  BAGGAGE_FLAG_KEY,
  BAGGAGE_RELEASE_ID,
  BAGGAGE_ROLLOUT_ID,
  type ReleaseAssignment,
} from '@agent-canary/conventions';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  contextWithRelease,
  getActiveRelease,
  releaseAttributes,
  releaseFromBaggage,
  withRelease,
} from './release-context.js';
import { setupTracing } from './testing-fixtures/tracing.js';

setupTracing();

const canary: ReleaseAssignment = {
  flagKey: 'agent.release',
  release: 'v2',
  cohort: 'canary',
  rolloutId: 'r-1',
  subject: 'abcdef0123456789',
};

describe('withRelease', () => {
  it('makes the assignment active inside fn, across awaits, and only there', async () => {
    expect(getActiveRelease()).toBeUndefined();
    const seen = await withRelease(canary, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return getActiveRelease();
    });
    expect(seen).toEqual(canary);
    expect(getActiveRelease()).toBeUndefined();
  });

  it('puts the assignment in W3C baggage so the propagator sends it downstream', () => {
    const headers: Record<string, string> = {};
    withRelease(canary, () => propagation.inject(context.active(), headers));
    const received = propagation.getBaggage(propagation.extract(ROOT_CONTEXT, headers));
    expect(received?.getEntry(BAGGAGE_RELEASE_ID)?.value).toBe('v2');
    expect(received?.getEntry(BAGGAGE_COHORT)?.value).toBe('canary');
    expect(releaseFromBaggage(received)).toEqual(canary);
  });

  it('keeps unrelated baggage and drops a stale rollout id of an outer assignment', () => {
    const outer = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ tenant: { value: 'acme' } }));
    const inner = contextWithRelease(contextWithRelease(outer, canary), {
      flagKey: 'agent.release',
      release: 'v1',
      cohort: 'control',
    });
    const baggage = propagation.getBaggage(inner);
    expect(baggage?.getEntry('tenant')?.value).toBe('acme');
    expect(baggage?.getEntry(BAGGAGE_ROLLOUT_ID)).toBeUndefined();
    expect(getActiveRelease(inner)).toEqual({ flagKey: 'agent.release', release: 'v1', cohort: 'control' });
  });

  it('runs fn without an assignment when the assignment is broken, instead of throwing', () => {
    const broken = { flagKey: 'f', release: 42, cohort: 'beta' } as unknown as ReleaseAssignment;
    expect(withRelease(broken, () => getActiveRelease())).toBeUndefined();
  });
});

describe('getActiveRelease', () => {
  it('prefers the context key over baggage', () => {
    const fromUpstream = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({
        [BAGGAGE_RELEASE_ID]: { value: 'v1' },
        [BAGGAGE_COHORT]: { value: 'stable' },
        [BAGGAGE_FLAG_KEY]: { value: 'agent.release' },
      }),
    );
    expect(getActiveRelease(fromUpstream)?.release).toBe('v1');
    const local = fromUpstream.setValue(Symbol('unrelated'), 1);
    expect(getActiveRelease(contextWithRelease(local, canary))?.release).toBe('v2');
  });
});

describe('releaseFromBaggage', () => {
  const entries = {
    [BAGGAGE_RELEASE_ID]: { value: 'v2' },
    [BAGGAGE_COHORT]: { value: 'canary' },
    [BAGGAGE_FLAG_KEY]: { value: 'agent.release' },
  };

  it('reads a complete assignment', () => {
    expect(releaseFromBaggage(propagation.createBaggage(entries))).toEqual({
      flagKey: 'agent.release',
      release: 'v2',
      cohort: 'canary',
    });
  });

  it('rejects an unknown cohort or a missing field', () => {
    expect(releaseFromBaggage(propagation.createBaggage({ ...entries, [BAGGAGE_COHORT]: { value: 'beta' } }))).toBe(
      undefined,
    );
    const { [BAGGAGE_FLAG_KEY]: _dropped, ...withoutFlag } = entries;
    expect(releaseFromBaggage(propagation.createBaggage(withoutFlag))).toBeUndefined();
    expect(releaseFromBaggage(undefined)).toBeUndefined();
  });
});

describe('releaseAttributes', () => {
  it('builds the frozen span attributes, including the one Langfuse splits by', () => {
    const attributes = releaseAttributes(canary);
    expect(attributes).toEqual({
      [ATTR_RELEASE_ID]: 'v2',
      [ATTR_COHORT]: 'canary',
      [ATTR_FLAG_KEY]: 'agent.release',
      [ATTR_ROLLOUT_ID]: 'r-1',
      [ATTR_SUBJECT]: 'abcdef0123456789',
      [ATTR_LANGFUSE_RELEASE]: 'v2',
    });
    expect(Object.isFrozen(attributes)).toBe(true);
  });
});
