import { ConfigError } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { REGISTER_DEFAULTS, resolveRegisterConfig } from './register.js';

const langfuseEnv = { LANGFUSE_PUBLIC_KEY: 'pk-env', LANGFUSE_SECRET_KEY: 'sk-env' };

describe('resolveRegisterConfig', () => {
  it('exports nothing and captures no content with an empty environment', () => {
    const config = resolveRegisterConfig({}, {});
    expect(config).toMatchObject({
      otlp: undefined,
      langfuse: undefined,
      captureContent: false,
      serviceName: undefined,
    });
    expect(config.spanProcessors).toEqual([]);
  });

  it('enables OTLP from the standard endpoint variables, unless OTEL_TRACES_EXPORTER=none or otlp: false', () => {
    expect(resolveRegisterConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).otlp).toEqual({});
    expect(resolveRegisterConfig({}, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }).otlp).toEqual(
      {},
    );
    expect(
      resolveRegisterConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).otlp,
    ).toBeUndefined();
    expect(
      resolveRegisterConfig({ otlp: false }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).otlp,
    ).toBeUndefined();
    expect(resolveRegisterConfig({ otlp: { url: 'http://127.0.0.1:9/v1/traces' } }, {}).otlp).toEqual({
      url: 'http://127.0.0.1:9/v1/traces',
    });
  });

  it('layers Langfuse settings: defaults < environment < options', () => {
    expect(resolveRegisterConfig({}, langfuseEnv).langfuse).toEqual({
      publicKey: 'pk-env',
      secretKey: 'sk-env',
      baseUrl: REGISTER_DEFAULTS.langfuseBaseUrl,
      environment: undefined,
      exportMode: 'batched',
    });
    const env = {
      ...langfuseEnv,
      LANGFUSE_BASE_URL: 'http://langfuse.internal:3000',
      LANGFUSE_TRACING_ENVIRONMENT: 'prod',
    };
    expect(resolveRegisterConfig({}, env).langfuse).toMatchObject({
      baseUrl: 'http://langfuse.internal:3000',
      environment: 'prod',
    });
    expect(
      resolveRegisterConfig({ langfuse: { secretKey: 'sk-opt', baseUrl: 'https://eu.langfuse.example' } }, env)
        .langfuse,
    ).toMatchObject({ publicKey: 'pk-env', secretKey: 'sk-opt', baseUrl: 'https://eu.langfuse.example' });
    expect(resolveRegisterConfig({ langfuse: false }, env).langfuse).toBeUndefined();
  });

  it('layers content capture: default off < AGENT_CANARY_CAPTURE_CONTENT < option', () => {
    expect(resolveRegisterConfig({}, { AGENT_CANARY_CAPTURE_CONTENT: 'true' }).captureContent).toBe(true);
    expect(resolveRegisterConfig({ captureContent: false }, { AGENT_CANARY_CAPTURE_CONTENT: '1' }).captureContent).toBe(
      false,
    );
    expect(resolveRegisterConfig({}, { OTEL_SERVICE_NAME: 'svc' }).serviceName).toBe('svc');
    expect(resolveRegisterConfig({ serviceName: 'mine' }, { OTEL_SERVICE_NAME: 'svc' }).serviceName).toBe('mine');
  });

  it.each([
    [{ langfuse: true }, {}, 'langfuse.publicKey'],
    [{}, { LANGFUSE_PUBLIC_KEY: 'pk' }, 'env.LANGFUSE_SECRET_KEY'],
    [{ langfuse: { baseUrl: 'not a url' } }, langfuseEnv, 'langfuse.baseUrl'],
    [{}, { ...langfuseEnv, LANGFUSE_BASE_URL: 'ftp://x' }, 'env.LANGFUSE_BASE_URL'],
    [{ otlp: { url: 'localhost:4318' } }, {}, 'otlp.url'],
    [{}, { AGENT_CANARY_CAPTURE_CONTENT: 'yes' }, 'env.AGENT_CANARY_CAPTURE_CONTENT'],
  ] as const)('rejects %j with env %j at %s', (options, env, path) => {
    const error = (() => {
      try {
        resolveRegisterConfig(options, env);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe(path);
  });
});
