import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { logNotifier, type Notification, webhookNotifier } from './notifier.js';

const notification: Notification = {
  kind: 'transition',
  severity: 'error',
  title: 'canary@5% -> rolled_back',
  reason: 'sequential test crossed its boundary',
  rolloutId: 'r1',
  flagKey: 'agent',
  canaryRelease: 'v2',
  stableRelease: 'v1',
  canaryBasisPoints: 0,
  controlBasisPoints: 0,
  atMillis: 1_000,
};

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(
  statuses: number[],
): Promise<{ url: string; bodies: unknown[]; headers: IncomingMessage['headers'][] }> {
  const bodies: unknown[] = [];
  const headers: IncomingMessage['headers'][] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      bodies.push(JSON.parse(body));
      headers.push(req.headers);
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, headers };
}

const noWait = { sleep: async () => {} };

describe('webhookNotifier', () => {
  it('posts JSON and retries after a 500 until a 200', async () => {
    const hook = await listen([500, 200]);
    const notifier = webhookNotifier({
      url: hook.url,
      headers: { authorization: 'Bearer t' },
      retries: 3,
      backoff: noWait,
    });
    const result = await notifier.notify(notification);
    expect(result).toEqual({ delivered: true, attempts: 2 });
    expect(hook.bodies).toEqual([notification, notification]);
    expect(hook.headers[1]?.['content-type']).toBe('application/json');
    expect(hook.headers[1]?.authorization).toBe('Bearer t');
  });

  it('gives up after the retries and reports the error instead of throwing', async () => {
    const hook = await listen([503, 503, 503]);
    const result = await webhookNotifier({ url: hook.url, retries: 2, backoff: noWait }).notify(notification);
    expect(result).toMatchObject({ delivered: false, attempts: 3, error: 'HTTP 503' });
  });

  it('reports an unreachable endpoint as a failed delivery', async () => {
    const hook = await listen([]);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const result = await webhookNotifier({ url: hook.url, retries: 1, backoff: noWait }).notify(notification);
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBe(2);
  });
});

describe('logNotifier', () => {
  it('logs at the notification severity and survives a throwing logger', async () => {
    const lines: string[] = [];
    const logger = {
      info: (m: string) => lines.push(`info ${m}`),
      warn: (m: string) => lines.push(`warn ${m}`),
      error: (m: string) => lines.push(`error ${m}`),
    };
    expect(await logNotifier(logger).notify(notification)).toEqual({ delivered: true, attempts: 1 });
    expect(lines[0]).toMatch(/^error \[agent-canary\] agent r1: canary@5% -> rolled_back/);
    const broken = {
      ...logger,
      error: () => {
        throw new Error('disk full');
      },
    };
    expect(await logNotifier(broken).notify(notification)).toMatchObject({ delivered: false, error: 'disk full' });
  });
});
