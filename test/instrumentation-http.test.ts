/**
 * The release crosses a process boundary: two real HTTP services on loopback, the standard
 * W3C propagator (registered by the Node SDK) carries the baggage, and the downstream
 * service's spans carry the release although nothing there called `withRelease`.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ATTR_COHORT, ATTR_RELEASE_ID, ATTR_SUBJECT, hashSubject } from '@agent-canary/conventions';
import {
  type AgentCanaryHandle,
  getActiveRelease,
  registerAgentCanary,
  traceToolCall,
  withRelease,
} from '@agent-canary/instrumentation';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exporter = new InMemorySpanExporter();
let canary: AgentCanaryHandle;
let downstream: Server;
let gateway: Server;
let seenDownstream: ReturnType<typeof getActiveRelease>;

function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => (server.address() as AddressInfo).port);
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += String(chunk);
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What an HTTP server instrumentation does: continue the caller's trace and baggage. */
function incomingContext(req: IncomingMessage) {
  return propagation.extract(ROOT_CONTEXT, req.headers);
}

beforeAll(async () => {
  canary = await registerAgentCanary({ spanProcessors: [new SimpleSpanProcessor(exporter)], env: {} });
  const tracer = trace.getTracer('weather-service');
  downstream = createServer((req, res) => {
    context.with(incomingContext(req), () =>
      tracer.startActiveSpan('weather-service GET /forecast', async (span) => {
        seenDownstream = getActiveRelease();
        const forecast = await traceToolCall({ toolName: 'forecast_db' }, () => 'sunny');
        span.end();
        res.end(forecast);
      }),
    );
  });
  const downstreamPort = await listen(downstream);
  gateway = createServer((req, res) => {
    const userId = String(req.headers['x-user-id']);
    const assignment = {
      flagKey: 'agent.release',
      release: userId === 'u-canary' ? 'v2' : 'v1',
      cohort: userId === 'u-canary' ? 'canary' : 'stable',
      subject: hashSubject(userId),
    } as const;
    withRelease(assignment, () =>
      tracer.startActiveSpan('gateway GET /ask', async (span) => {
        const headers: Record<string, string> = {};
        propagation.inject(context.active(), headers);
        const forecast = await get(downstreamPort, '/forecast', headers);
        span.end();
        res.end(forecast);
      }),
    );
  });
  await listen(gateway);
});

afterAll(async () => {
  gateway.close();
  downstream.close();
  await canary.shutdown();
});

describe('release propagation over HTTP', () => {
  it('tags the downstream service spans from W3C baggage', async () => {
    const port = (gateway.address() as AddressInfo).port;
    expect(await get(port, '/ask', { 'x-user-id': 'u-canary' })).toBe('sunny');
    await canary.forceFlush();
    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((span) => [span.name, span]));
    const upstream = byName.get('gateway GET /ask');
    const remote = byName.get('weather-service GET /forecast');
    const tool = byName.get('execute_tool forecast_db');
    expect(seenDownstream).toMatchObject({ release: 'v2', cohort: 'canary', subject: hashSubject('u-canary') });
    for (const span of [upstream, remote, tool]) {
      expect(span?.attributes[ATTR_RELEASE_ID]).toBe('v2');
      expect(span?.attributes[ATTR_COHORT]).toBe('canary');
      expect(span?.attributes[ATTR_SUBJECT]).toBe(hashSubject('u-canary'));
    }
    expect(remote?.spanContext().traceId).toBe(upstream?.spanContext().traceId);
    expect(remote?.parentSpanContext?.isRemote).toBe(true);
  });

  it('does not leak one request release into the next', async () => {
    exporter.reset();
    const port = (gateway.address() as AddressInfo).port;
    await get(port, '/ask', { 'x-user-id': 'u-stable' });
    await canary.forceFlush();
    const cohorts = exporter.getFinishedSpans().map((span) => span.attributes[ATTR_COHORT]);
    expect(cohorts).toEqual(['stable', 'stable', 'stable']);
  });
});
