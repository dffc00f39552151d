import { ConfigError } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { importPeer } from './peer.js';

describe('importPeer', () => {
  it('names the missing package and how to install it', async () => {
    const name = '@agent-canary-missing/not-installed';
    const error = await importPeer(name, 'langfuse', () => import(name)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('langfuse');
    expect((error as Error).message).toContain(`npm install ${name}`);
  });

  it('loads an installed package, and rethrows failures that are not its absence', async () => {
    const sdk = await importPeer(
      '@opentelemetry/sdk-trace-base',
      'otlp',
      () => import('@opentelemetry/sdk-trace-base'),
    );
    expect(typeof sdk.BatchSpanProcessor).toBe('function');
    const broken = new Error('boom inside the module');
    await expect(importPeer('x', 'otlp', () => Promise.reject(broken))).rejects.toBe(broken);
  });
});
