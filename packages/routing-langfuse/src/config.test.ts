import { ConfigError } from '@agent-canary/conventions';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import { LangfuseClient } from '@langfuse/client';
import { describe, expect, it } from 'vitest';
import { expectedLabels } from './adapter.js';
import { LANGFUSE_LABEL_DEFAULTS, resolveLangfuseLabelConfig, versionOfRelease } from './config.js';
import { labelForCohort } from './prompt.js';

const client = new LangfuseClient({ publicKey: 'pk', secretKey: 'sk', baseUrl: 'http://127.0.0.1:9' });
const inner = new InMemoryRoutingAdapter();

describe('resolveLangfuseLabelConfig', () => {
  it('layers defaults < environment < options', () => {
    const env = { AGENT_CANARY_LANGFUSE_PROMPT: 'from-env', AGENT_CANARY_LANGFUSE_CANARY_LABEL: 'beta' };
    expect(resolveLangfuseLabelConfig({ client, inner }, env)).toMatchObject({
      promptName: 'from-env',
      canaryLabel: 'beta',
      productionLabel: LANGFUSE_LABEL_DEFAULTS.productionLabel,
    });
    expect(resolveLangfuseLabelConfig({ client, inner, promptName: 'explicit' }, env).promptName).toBe('explicit');
  });

  it('throws a ConfigError naming the field', () => {
    expect(() => resolveLangfuseLabelConfig({ client, inner }, {})).toThrow(
      /promptName \(env AGENT_CANARY_LANGFUSE_PROMPT\)/,
    );
    expect(() => resolveLangfuseLabelConfig({ client, inner, promptName: 'p', canaryLabel: 'latest' }, {})).toThrow(
      /at canaryLabel/,
    );
    expect(() => resolveLangfuseLabelConfig({ client, inner, promptName: 'p', canaryLabel: 'production' }, {})).toThrow(
      ConfigError,
    );
    expect(() =>
      resolveLangfuseLabelConfig({ client, inner: {} as unknown as InMemoryRoutingAdapter, promptName: 'p' }, {}),
    ).toThrow(/at inner/);
  });
});

describe('releases and labels', () => {
  it('reads prompt versions from release ids', () => {
    expect(versionOfRelease('7')).toBe(7);
    expect(versionOfRelease('v12')).toBe(12);
    for (const bad of ['0', 'v', 'gpt-5', '1.5', '-3', '']) expect(versionOfRelease(bad)).toBeUndefined();
  });

  it('puts the labels where each phase of a rollout needs them', () => {
    const base = { flagKey: 'f', rolloutId: 'r', canaryRelease: '3', stableRelease: '2', controlBasisPoints: 0 };
    expect(expectedLabels({ ...base, canaryBasisPoints: 500 })).toEqual({ canary: 3, production: 2 });
    expect(expectedLabels({ ...base, canaryBasisPoints: 0 })).toEqual({ canary: 2, production: 2 });
    expect(expectedLabels({ ...base, canaryBasisPoints: 10_000 })).toEqual({ canary: 3, production: 3 });
    expect(() => expectedLabels({ ...base, canaryRelease: 'next', canaryBasisPoints: 500 })).toThrow(
      /split.canaryRelease/,
    );
  });

  it('maps cohorts to labels: only the canary cohort reads the canary label', () => {
    expect(labelForCohort('canary')).toBe('canary');
    expect(labelForCohort('control')).toBe('production');
    expect(labelForCohort('stable', { productionLabel: 'prod' })).toBe('prod');
  });
});
