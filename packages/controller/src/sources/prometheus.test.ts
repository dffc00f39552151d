import { ConfigError } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { prometheusSource, resolvePrometheusSourceConfig } from './prometheus.js';

type Series = { metric: Record<string, string>; value: [number, string] };

/** A fake query API answering from two snapshots of raw series (before / after). */
function fakeFetch(before: Series[], after: Series[], requests: URLSearchParams[] = []): typeof fetch {
  return (async (_url: string | URL | Request, init?: RequestInit) => {
    const body = new URLSearchParams(String(init?.body ?? ''));
    requests.push(body);
    const result = Number(body.get('time')) < 1500 ? before : after;
    return new Response(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }), { status: 200 });
  }) as typeof fetch;
}

const canary = { agent_canary_release_id: 'v2', agent_canary_cohort: 'canary', instance: 'a:1' };
const s = (name: string, labels: Record<string, string>, value: number): Series => ({
  metric: { __name__: name, ...canary, ...labels },
  value: [0, String(value)],
});
const query = { releases: { canary: 'v2', stable: 'v1' }, sinceMillis: 1_000_000, untilMillis: 2_000_000 };

describe('prometheusSource', () => {
  it('subtracts two instants series by series and turns cumulative le buckets into counts', async () => {
    const requests: URLSearchParams[] = [];
    const before = [
      s('agent_canary_turns_total', { outcome: 'ok' }, 10),
      s('agent_canary_turn_duration_bucket', { le: '100' }, 4),
      s('agent_canary_turn_duration_bucket', { le: '1000' }, 9),
      s('agent_canary_turn_duration_bucket', { le: '+Inf' }, 10),
    ];
    const after = [
      s('agent_canary_turns_total', { outcome: 'ok' }, 25),
      s('agent_canary_turns_total', { outcome: 'error' }, 3),
      // A second replica that restarted: its counter went down, so it counts from zero.
      s('agent_canary_turns_total', { outcome: 'ok', instance: 'b:1' }, 2),
      s('agent_canary_turn_duration_bucket', { le: '100' }, 6),
      s('agent_canary_turn_duration_bucket', { le: '1000' }, 20),
      s('agent_canary_turn_duration_bucket', { le: '+Inf' }, 28),
      s('agent_canary_tool_calls_total', { gen_ai_tool_name: 'search', outcome: 'error' }, 2),
      s('agent_canary_tool_calls_total', { gen_ai_tool_name: 'search', outcome: 'ok' }, 5),
      s('agent_canary_subjects_adverse_total', { signal: 'turn_error' }, 2),
      s('agent_canary_feedback_total', { agent_canary_feedback_kind: 'thumbs_down' }, 1),
      s('agent_canary_feedback_total', { agent_canary_feedback_kind: 'regenerate' }, 4),
      // Another release of the same cohort label is not this rollout's canary.
      s('agent_canary_turns_total', { agent_canary_release_id: 'v1' }, 50),
    ];
    const beforeB = [...before, s('agent_canary_turns_total', { outcome: 'ok', instance: 'b:1' }, 40)];
    const source = prometheusSource({ url: 'http://prom:9090/', fetch: fakeFetch(beforeB, after, requests) });
    const answer = await source.read(query);
    if (!answer.ok) throw new Error(answer.reason);
    const window = answer.windows.cohorts.canary;
    expect(window.requests).toBe(15 + 3 + 2);
    expect(window.errors).toBe(3);
    expect(window.latencyMillis).toEqual([
      { upper: 100, count: 2 },
      { upper: 1000, count: 9 },
      { upper: Number.POSITIVE_INFINITY, count: 7 },
    ]);
    expect(window.toolCallsByName).toEqual({ search: { calls: 7, failures: 2 } });
    expect(window.subjectsWithError).toBe(2);
    expect(window.feedback).toBe(1);
    expect(window.thumbsDown).toBe(1);
    expect(window.subjectLatencyMillis).toBeUndefined();
    expect(answer.windows.cohorts.stable.requests).toBe(0);
    expect(requests.map((r) => r.get('time'))).toEqual(['1000.000', '2000.000']);
    expect(requests[0]?.get('query')).toContain('agent_canary_release_id=~"v2|v1"');
  });

  it('resolves with the reason when the API errors or answers garbage', async () => {
    const failing = (async () =>
      new Response(JSON.stringify({ status: 'error', error: 'parse error' }), { status: 400 })) as typeof fetch;
    const answer = await prometheusSource({ url: 'http://prom', fetch: failing }).read(query);
    expect(answer).toEqual({ ok: false, reason: 'Prometheus query failed (HTTP 400): parse error' });
    const html = (async () => new Response('<html>', { status: 502 })) as typeof fetch;
    const bad = await prometheusSource({ url: 'http://prom', fetch: html }).read(query);
    expect(bad.ok).toBe(false);
    const throwing = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    const down = await prometheusSource({ url: 'http://prom', fetch: throwing }).read(query);
    expect(down.ok || down.reason).toMatch(/did not answer: TypeError: fetch failed/);
  });

  it('rejects bad options naming the field', () => {
    expect(() => resolvePrometheusSourceConfig({ url: 'prom:9090' })).toThrow(ConfigError);
    expect(() => resolvePrometheusSourceConfig({ url: 'http://p', timeoutMillis: 0 })).toThrow(/timeoutMillis/);
  });
});
