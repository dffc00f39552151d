import { ConfigError } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { resolveUnleashAdapterConfig, UNLEASH_ADAPTER_DEFAULTS } from './config.js';

describe('resolveUnleashAdapterConfig', () => {
  it('layers defaults < environment < options and normalises the URL', () => {
    const env = {
      UNLEASH_URL: 'http://env:4242/api/',
      UNLEASH_ADMIN_TOKEN: 'env-token',
      UNLEASH_ENVIRONMENT: 'staging',
    };
    const fromEnv = resolveUnleashAdapterConfig({}, env);
    expect(fromEnv).toMatchObject({
      url: 'http://env:4242',
      adminToken: 'env-token',
      environment: 'staging',
      project: UNLEASH_ADAPTER_DEFAULTS.project,
      timeoutMillis: UNLEASH_ADAPTER_DEFAULTS.timeoutMillis,
    });
    expect(resolveUnleashAdapterConfig({ url: 'https://opt', environment: 'production' }, env)).toMatchObject({
      url: 'https://opt',
      environment: 'production',
    });
  });

  it('throws a ConfigError naming the field and its environment variable', () => {
    expect(() => resolveUnleashAdapterConfig({}, {})).toThrow(ConfigError);
    expect(() => resolveUnleashAdapterConfig({}, {})).toThrow(/url \(env UNLEASH_URL\)/);
    expect(() => resolveUnleashAdapterConfig({ url: 'http://x' }, {})).toThrow(
      /adminToken \(env UNLEASH_ADMIN_TOKEN\)/,
    );
    expect(() => resolveUnleashAdapterConfig({ url: 'http://x', adminToken: 't', project: 'a b' }, {})).toThrow(
      /at project/,
    );
    expect(() => resolveUnleashAdapterConfig({ url: 'http://x', adminToken: 't', timeoutMillis: 0 }, {})).toThrow(
      /timeoutMillis/,
    );
  });
});
