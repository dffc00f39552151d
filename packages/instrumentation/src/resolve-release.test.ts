import {
  ATTR_COHORT,
  ATTR_ERROR_TYPE,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  EVENT_FEATURE_FLAG_EVALUATION,
  hashSubject,
} from '@agent-canary/conventions';
import {
  type EvaluationContext,
  InMemoryProvider,
  type Logger,
  OpenFeature,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveRelease } from './resolve-release.js';
import { setupTracing } from './testing-fixtures/tracing.js';

const tracing = setupTracing();
const DOMAIN = 'instrumentation-resolve-release-test';
const silent: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

/** Users routed by a fixed table; everyone else is stable. */
const cohortOfUser: Record<string, 'canary' | 'control'> = { alice: 'canary', bob: 'control' };

const flags = {
  'agent.release': {
    variants: { canary: 'v2', control: 'v1', stable: 'v1' },
    defaultVariant: 'stable',
    disabled: false,
    contextEvaluator: (ctx: EvaluationContext) => cohortOfUser[ctx.targetingKey ?? ''] ?? 'stable',
  },
  // A provider whose variant names are not cohorts (e.g. LaunchDarkly's "0", "1").
  'agent.release.indexed': {
    variants: { '0': 'v1', '1': 'v2' },
    defaultVariant: '0',
    disabled: false,
    contextEvaluator: (ctx: EvaluationContext) => (ctx.targetingKey === 'alice' ? '1' : '0'),
  },
  'agent.release.off': { variants: { stable: 'v1' }, defaultVariant: 'stable', disabled: true },
};

/**
 * The real InMemoryProvider, plus the flag metadata a routing provider returns (the
 * in-memory provider itself has none).
 */
class MetadataInMemoryProvider extends InMemoryProvider {
  override async resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context?: EvaluationContext,
    logger?: Logger,
  ): Promise<ResolutionDetails<string>> {
    const details = await super.resolveStringEvaluation(flagKey, defaultValue, context, logger);
    if (flagKey !== 'agent.release.indexed') return { ...details, flagMetadata: { rolloutId: 'rollout-7' } };
    return {
      ...details,
      flagMetadata: { rolloutId: 'rollout-8', cohort: details.variant === '1' ? 'canary' : 'stable' },
    };
  }
}

const client = OpenFeature.getClient(DOMAIN).setLogger(silent);

beforeAll(async () => {
  await OpenFeature.setProviderAndWait(DOMAIN, new MetadataInMemoryProvider(flags));
});
afterAll(async () => {
  await OpenFeature.clearProviders();
});
beforeEach(() => tracing.reset());

describe('resolveRelease', () => {
  it('maps the variant to the cohort and the value to the release, sticky per user', async () => {
    const alice = await resolveRelease(client, 'agent.release', 'alice');
    expect(alice).toEqual({
      flagKey: 'agent.release',
      release: 'v2',
      cohort: 'canary',
      rolloutId: 'rollout-7',
      subject: hashSubject('alice'),
    });
    expect((await resolveRelease(client, 'agent.release', 'bob')).cohort).toBe('control');
    expect((await resolveRelease(client, 'agent.release', 'carol')).cohort).toBe('stable');
    expect(await resolveRelease(client, 'agent.release', 'alice')).toEqual(alice);
  });

  it('takes the cohort from flag metadata when variant names are not cohorts', async () => {
    const alice = await resolveRelease(client, 'agent.release.indexed', 'alice');
    expect(alice).toMatchObject({ release: 'v2', cohort: 'canary', rolloutId: 'rollout-8' });
    expect(await resolveRelease(client, 'agent.release.indexed', 'dave')).toMatchObject({
      release: 'v1',
      cohort: 'stable',
    });
  });

  it('records the evaluation on the active span with the subject hash, never the user id', async () => {
    await tracing.tracer.startActiveSpan('request', async (span) => {
      await resolveRelease(client, 'agent.release', 'alice');
      span.end();
    });
    const request = tracing.span('request');
    const event = request.events.find((candidate) => candidate.name === EVENT_FEATURE_FLAG_EVALUATION);
    expect(event?.attributes).toMatchObject({
      [ATTR_FEATURE_FLAG_KEY]: 'agent.release',
      [ATTR_FEATURE_FLAG_RESULT_VARIANT]: 'canary',
      [ATTR_FEATURE_FLAG_RESULT_REASON]: 'targeting_match',
      [ATTR_FEATURE_FLAG_PROVIDER_NAME]: 'in-memory',
      [ATTR_FEATURE_FLAG_CONTEXT_ID]: hashSubject('alice'),
      [ATTR_COHORT]: 'canary',
    });
    expect(JSON.stringify(request.events)).not.toContain('alice');
  });

  it('maps an errored evaluation to stable with the default release and records error.type', async () => {
    let assignment: Awaited<ReturnType<typeof resolveRelease>> | undefined;
    await tracing.tracer.startActiveSpan('request', async (span) => {
      assignment = await resolveRelease(client, 'no.such.flag', 'alice', { defaultRelease: 'v1' });
      span.end();
    });
    expect(assignment).toEqual({
      flagKey: 'no.such.flag',
      release: 'v1',
      cohort: 'stable',
      subject: hashSubject('alice'),
    });
    const event = tracing.span('request').events[0];
    expect(event?.attributes?.[ATTR_ERROR_TYPE]).toBe('flag_not_found');
    expect(event?.attributes?.[ATTR_FEATURE_FLAG_RESULT_REASON]).toBe('error');
  });

  it('serves the default release in cohort stable when the flag is disabled', async () => {
    expect(await resolveRelease(client, 'agent.release.off', 'alice', { defaultRelease: 'v0' })).toMatchObject({
      release: 'v0',
      cohort: 'stable',
    });
  });

  it('uses the SDK default release when none is given and the provider is missing', async () => {
    const orphan = OpenFeature.getClient('instrumentation-no-provider-domain').setLogger(silent);
    await expect(resolveRelease(orphan, 'agent.release', 'alice')).resolves.toMatchObject({
      release: 'stable',
      cohort: 'stable',
    });
  });
});
