/**
 * Export paths of `registerAgentCanary`, against local HTTP receivers:
 * - OTLP/HTTP JSON: the payload carries our attributes;
 * - Langfuse: a CONTRACT test of the documented ingestion API (path
 *   `/api/public/otel/v1/traces`, Basic auth with `publicKey:secretKey`), since Langfuse
 *   cloud is not reachable here. Our plain custom spans must survive its export filter.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ATTR_COHORT, ATTR_LANGFUSE_RELEASE, ATTR_RELEASE_ID } from '@agent-canary/conventions';
import {
  type AgentCanaryHandle,
  registerAgentCanary,
  traceAgentTurn,
  withRelease,
} from '@agent-canary/instrumentation';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface OtlpSpan {
  readonly name: string;
  readonly attributes: readonly { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

function receiver(): { server: Server; received: Received[] } {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += String(chunk);
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return { server, received };
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function spansOf(received: readonly Received[]): Map<string, Record<string, string | number | undefined>> {
  const spans = new Map<string, Record<string, string | number | undefined>>();
  for (const { body } of received) {
    const payload = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
    for (const resource of payload.resourceSpans) {
      for (const scope of resource.scopeSpans) {
        for (const span of scope.spans) {
          spans.set(
            span.name,
            Object.fromEntries(span.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.intValue])),
          );
        }
      }
    }
  }
  return spans;
}

const otlp = receiver();
const langfuse = receiver();
let canary: AgentCanaryHandle;

beforeAll(async () => {
  const otlpUrl = await listen(otlp.server);
  const langfuseUrl = await listen(langfuse.server);
  // A deploy-wide Langfuse release, which LangfuseSpanProcessor reads from process.env itself.
  process.env['LANGFUSE_RELEASE'] = 'deploy-42';
  canary = await registerAgentCanary({
    serviceName: 'export-test',
    otlp: { url: `${otlpUrl}/v1/traces` },
    langfuse: { publicKey: 'pk-lf-test', secretKey: 'sk-lf-test', baseUrl: langfuseUrl, exportMode: 'immediate' },
    captureContent: true,
    mask: (text) => text.replaceAll('hunter2', '[masked]'),
    env: {},
  });
  const tracer = trace.getTracer('checkout-service');
  await withRelease({ flagKey: 'agent.release', release: 'v2', cohort: 'canary', rolloutId: 'r-9' }, async () => {
    tracer.startSpan('checkout-step').end();
    await traceAgentTurn({ agentName: 'support' }, (turn) => turn.recordOutput('done'));
  });
  // Outside any release and without gen_ai attributes: Langfuse's own filter drops it.
  await traceAgentTurn({ agentName: 'capture' }, (turn) => turn.recordOutput('your password is hunter2'));
  tracer.startSpan('healthcheck').end();
  await traceAgentTurn({ agentName: 'unrouted' }, () => undefined);
  await canary.forceFlush();
});

afterAll(async () => {
  delete process.env['LANGFUSE_RELEASE'];
  await canary.shutdown();
  otlp.server.close();
  langfuse.server.close();
});

describe('OTLP/HTTP export', () => {
  it('sends JSON spans carrying the release attributes', () => {
    expect(otlp.received.length).toBeGreaterThan(0);
    expect(otlp.received[0]?.path).toBe('/v1/traces');
    expect(otlp.received[0]?.headers['content-type']).toContain('application/json');
    const spans = spansOf(otlp.received);
    expect(spans.get('checkout-step')).toMatchObject({ [ATTR_RELEASE_ID]: 'v2', [ATTR_COHORT]: 'canary' });
    expect(spans.get('invoke_agent support')).toMatchObject({
      [ATTR_RELEASE_ID]: 'v2',
      'agent_canary.output.length': 4,
    });
    expect(spans.has('healthcheck')).toBe(true);
  });

  it('captures content when registerAgentCanary turns it on, through the global mask', () => {
    const output = spansOf(otlp.received).get('invoke_agent capture')?.['gen_ai.output.messages'];
    expect(String(output)).toContain('your password is [masked]');
    expect(otlp.received.map((request) => request.body).join('')).not.toContain('hunter2');
  });
});

describe('Langfuse export (contract test against a local receiver)', () => {
  it('posts to the documented OTLP path with Basic auth of publicKey:secretKey', () => {
    expect(langfuse.received.length).toBeGreaterThan(0);
    for (const request of langfuse.received) {
      expect(request.path).toBe('/api/public/otel/v1/traces');
      expect(request.headers.authorization).toBe(`Basic ${Buffer.from('pk-lf-test:sk-lf-test').toString('base64')}`);
    }
  });

  it('keeps our plain custom span, the turn, and the release Langfuse splits by; drops unrelated spans', () => {
    const spans = spansOf(langfuse.received);
    expect(spans.get('checkout-step')).toMatchObject({ [ATTR_RELEASE_ID]: 'v2', [ATTR_LANGFUSE_RELEASE]: 'v2' });
    expect(spans.get('invoke_agent support')).toMatchObject({ [ATTR_COHORT]: 'canary', [ATTR_LANGFUSE_RELEASE]: 'v2' });
    expect(spans.has('healthcheck')).toBe(false);
  });

  it('lets the per-request release win over the deploy-wide LANGFUSE_RELEASE', () => {
    const spans = spansOf(langfuse.received);
    expect(spans.get('checkout-step')?.[ATTR_LANGFUSE_RELEASE]).toBe('v2');
    expect(spans.get('invoke_agent unrouted')?.[ATTR_LANGFUSE_RELEASE]).toBe('deploy-42');
  });
});
