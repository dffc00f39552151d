import { ConfigError, hashPrompt } from '@agent-canary/conventions';
import type { PromptLabelLookup } from '@agent-canary/instrumentation';
import { LangfuseClient } from '@langfuse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPromptLabelLookup, type PromptReleaseLookup } from './release-config.js';
import { type LangfuseContractServer, startLangfuseContractServer } from './testing-fixtures/langfuse-server.js';

// The lookup plugs into resolveReleaseConfig of @agent-canary/instrumentation as is.
const compatible: (lookup: PromptReleaseLookup) => PromptLabelLookup = (lookup) => lookup;

const PROMPT = 'support-agent';
const V1 = 'You are a support agent.';
const V2 = 'You are a concise support agent.';

describe('createPromptLabelLookup (contract server)', () => {
  let server: LangfuseContractServer;
  let client: LangfuseClient;
  beforeAll(async () => {
    server = await startLangfuseContractServer();
    client = new LangfuseClient({ publicKey: server.publicKey, secretKey: server.secretKey, baseUrl: server.baseUrl });
    server.addVersion(PROMPT, V1, ['support-v1', 'production'], {
      model: 'gpt-4o',
      provider: 'openai',
      temperature: 0.7,
    });
    server.addVersion(PROMPT, V2, ['support-v2'], {
      model: 'gpt-4.1-mini',
      parameters: { temperature: 0.2, max_tokens: 512 },
      stream: true,
      tags: ['ignored'],
    });
    server.addVersion(PROMPT, 'no model here', ['broken'], {});
  });
  afterAll(() => server.close());

  it('resolves a label to the prompt version it names: model, parameters, prompt link and hash', async () => {
    const lookup = compatible(createPromptLabelLookup(client, { promptName: PROMPT, cacheTtlSeconds: 0 }));
    expect(await lookup('support-v2')).toEqual({
      id: 'support-v2',
      promptHash: hashPrompt(V2),
      prompt: { name: PROMPT, version: 2, label: 'support-v2' },
      model: 'gpt-4.1-mini',
      parameters: { temperature: 0.2, max_tokens: 512, stream: true },
    });
    expect(await lookup('support-v1')).toMatchObject({
      promptHash: hashPrompt(V1),
      model: 'gpt-4o',
      provider: 'openai',
    });
    const fetched = server.requests.filter((request) => request.path === `/api/public/v2/prompts/${PROMPT}`);
    expect(fetched.map((request) => request.query['label'])).toEqual(['support-v2', 'support-v1']);
    expect(fetched.every((request) => request.authorized)).toBe(true);
  });

  it('follows a moved label (cache off), and resolves version numbers when asked to', async () => {
    const lookup = createPromptLabelLookup(client, { promptName: PROMPT, cacheTtlSeconds: 0 });
    server.addVersion(PROMPT, 'You are a patient support agent.', ['support-v2'], { model: 'gpt-4.1' });
    expect(await lookup('support-v2')).toMatchObject({ model: 'gpt-4.1', prompt: { version: 4 } });

    const byVersion = createPromptLabelLookup(client, { promptName: PROMPT, releaseIs: 'version', cacheTtlSeconds: 0 });
    expect(await byVersion('v1')).toMatchObject({ id: 'v1', model: 'gpt-4o', prompt: { name: PROMPT, version: 1 } });
    expect(await byVersion('support-v1')).toBeUndefined();
  });

  it('resolves to undefined, never rejecting, for an unknown label, a prompt without a model, or Langfuse down', async () => {
    const lookup = createPromptLabelLookup(client, { promptName: PROMPT, cacheTtlSeconds: 0 });
    expect(await lookup('support-v9')).toBeUndefined();
    expect(await lookup('broken')).toBeUndefined();
    server.failNext(1, 503);
    expect(await lookup('support-v1')).toBeUndefined();
    const wrongKeys = new LangfuseClient({ publicKey: 'pk', secretKey: 'nope', baseUrl: server.baseUrl });
    expect(
      await createPromptLabelLookup(wrongKeys, { promptName: PROMPT, cacheTtlSeconds: 0 })('support-v1'),
    ).toBeUndefined();
  });

  it('reuses an answer for cacheTtlSeconds, with one request for concurrent lookups', async () => {
    const clock = { now: 1_000_000 };
    const lookup = createPromptLabelLookup(client, { promptName: PROMPT, cacheTtlSeconds: 30, clock: () => clock.now });
    const count = () => server.requests.filter((request) => request.query['label'] === 'production').length;
    const before = count();
    const [a, b] = await Promise.all([lookup('production'), lookup('production')]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ model: 'gpt-4o' });
    clock.now += 29_000;
    await lookup('production');
    expect(count() - before).toBe(1);
    clock.now += 2_000;
    await lookup('production');
    expect(count() - before).toBe(2);
  });

  it('names invalid options', () => {
    expect(() => createPromptLabelLookup(client, { promptName: '' })).toThrow(ConfigError);
    expect(() => createPromptLabelLookup(client, { promptName: PROMPT, releaseIs: 'tag' as 'label' })).toThrow(
      'releaseIs',
    );
    expect(() => createPromptLabelLookup(client, { promptName: PROMPT, cacheTtlSeconds: -1 })).toThrow(
      'cacheTtlSeconds',
    );
  });
});
