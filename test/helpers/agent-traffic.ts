/**
 * Seeded agent traffic sent as OTLP/JSON to `agent-canary serve`, for tests that kill the
 * server: request `i` always has the same user, latency and tool outcomes (drawn from the
 * seed and `i` alone); its cohort comes from the embedded routing state file the server's
 * controller writes, as an agent reading the flag would get it. Each tick's requests are
 * one export request, queued and re-sent until the server acknowledges it with 200 (an
 * exporter with retries and an unbounded queue), so spans are lost only when the server
 * loses what it acknowledged.
 */
import { bucketFor, cohortFor, readRoutingStateSync } from '@agent-canary/routing';
import { createRng } from '@agent-canary/stats';

/** Options of {@link AgentTraffic}. */
export interface AgentTrafficOptions {
  /** `http://host:port/v1/traces`. */
  readonly url: string;
  readonly seed: number;
  /** Embedded routing state file of the server's controller. */
  readonly routingFile: string;
  readonly flagKey: string;
  readonly rolloutId: string;
  readonly stableRelease: string;
  readonly canaryRelease: string;
  /** Requests per tick (one export request per tick). */
  readonly requestsPerTick: number;
  readonly tickMillis: number;
  /** Share of tool calls that fail, per release. @default 0.03 for both */
  readonly toolFailureRate?: Readonly<Record<string, number>>;
  /** Distinct users. @default 3000 */
  readonly users?: number;
}

/** What was sent so far. */
export interface TrafficStats {
  readonly requests: number;
  readonly acknowledgedRequests: number;
  readonly byCohort: Readonly<Record<string, number>>;
  /** Export attempts that failed (server down or answering something else than 200). */
  readonly failedAttempts: number;
  /** Status codes other than 200 answered, by code. */
  readonly refused: Readonly<Record<number, number>>;
}

const ATTEMPT_TIMEOUT_MILLIS = 2000;

function hex(rng: ReturnType<typeof createRng>, bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++) out += rng.int(256).toString(16).padStart(2, '0');
  return out === '0'.repeat(bytes * 2) ? `${out.slice(0, -1)}1` : out;
}

function nanos(millis: number): string {
  return `${BigInt(Math.round(millis * 1000)) * 1000n}`;
}

/** The generator: `start()`, then `stop()` once the test is done. */
export class AgentTraffic {
  private readonly pending: { body: string; requests: number }[] = [];
  private requests = 0;
  private acknowledged = 0;
  private failedAttempts = 0;
  private readonly byCohort: Record<string, number> = { stable: 0, canary: 0, control: 0 };
  private readonly refused: Record<number, number> = {};
  private timer: ReturnType<typeof setInterval> | undefined;
  private sending: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: AgentTrafficOptions) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.tickMillis);
    this.sending = this.sendLoop();
  }

  /** Stops generating and sending (what is still queued is dropped). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.sending;
  }

  stats(): TrafficStats {
    return {
      requests: this.requests,
      acknowledgedRequests: this.acknowledged,
      byCohort: { ...this.byCohort },
      failedAttempts: this.failedAttempts,
      refused: { ...this.refused },
    };
  }

  private split() {
    try {
      return readRoutingStateSync(this.options.routingFile)?.flags[this.options.flagKey];
    } catch {
      return undefined; // mid-replace or not yet written: everyone stays on stable
    }
  }

  private tick(): void {
    const split = this.split();
    const spans: unknown[] = [];
    const now = Date.now();
    for (let n = 0; n < this.options.requestsPerTick; n++) {
      const index = this.requests++;
      // Every draw of request `index` comes from its own stream: same seed, same request.
      const rng = createRng(this.options.seed).fork(`request-${index}`);
      const user = `user-${rng.int(this.options.users ?? 3000)}`;
      const cohort =
        split === undefined
          ? 'stable'
          : cohortFor(bucketFor(this.options.flagKey, user), {
              canaryBasisPoints: split.canaryBasisPoints,
              controlBasisPoints: split.controlBasisPoints,
            });
      this.byCohort[cohort] = (this.byCohort[cohort] ?? 0) + 1;
      const release = cohort === 'canary' ? this.options.canaryRelease : this.options.stableRelease;
      const failureRate = this.options.toolFailureRate?.[release] ?? 0.03;
      const latencyMillis = Math.max(50, 900 + 250 * rng.normal());
      const traceId = hex(rng, 16);
      const turnId = hex(rng, 8);
      const end = now;
      const start = end - latencyMillis;
      const assignment = [
        ['agent_canary.release.id', release],
        ['agent_canary.cohort', cohort],
        ['agent_canary.rollout.id', this.options.rolloutId],
        ['agent_canary.flag.key', this.options.flagKey],
        ['agent_canary.subject', user],
      ].map(([key, value]) => ({ key, value: { stringValue: value } }));
      const attributes = (extra: { key: string; value: unknown }[]) => [...assignment, ...extra];
      for (const tool of ['order_lookup', 'track_shipment']) {
        const failed = rng.next() < failureRate;
        spans.push({
          traceId,
          spanId: hex(rng, 8),
          parentSpanId: turnId,
          name: `execute_tool ${tool}`,
          startTimeUnixNano: nanos(start + 100),
          endTimeUnixNano: nanos(start + 300),
          attributes: attributes([
            { key: 'gen_ai.operation.name', value: { stringValue: 'execute_tool' } },
            { key: 'gen_ai.tool.name', value: { stringValue: tool } },
            ...(failed ? [{ key: 'error.type', value: { stringValue: 'tool_error' } }] : []),
          ]),
          status: { code: failed ? 2 : 0 },
        });
      }
      spans.push({
        traceId,
        spanId: turnId,
        name: 'invoke_agent support',
        startTimeUnixNano: nanos(start),
        endTimeUnixNano: nanos(end),
        attributes: attributes([
          { key: 'gen_ai.operation.name', value: { stringValue: 'invoke_agent' } },
          { key: 'gen_ai.agent.name', value: { stringValue: 'support' } },
          { key: 'agent_canary.output.length', value: { intValue: String(200 + rng.int(600)) } },
        ]),
        status: { code: 0 },
      });
    }
    this.pending.push({
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'support-agent' } }] },
            scopeSpans: [{ scope: { name: 'agent-traffic' }, spans }],
          },
        ],
      }),
      requests: this.options.requestsPerTick,
    });
  }

  private async sendLoop(): Promise<void> {
    while (!this.stopped) {
      const next = this.pending[0];
      if (next === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      let status = 0;
      try {
        const response = await fetch(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: next.body,
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MILLIS),
        });
        status = response.status;
        await response.arrayBuffer();
      } catch {
        status = 0;
      }
      if (status === 200) {
        this.pending.shift();
        this.acknowledged += next.requests;
        continue;
      }
      this.failedAttempts++;
      if (status !== 0) this.refused[status] = (this.refused[status] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
