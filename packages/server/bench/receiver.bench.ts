/**
 * OTLP receiver throughput and memory. The receiver (`startServer` + the behaviour
 * processor) runs in its own process pinned to one core with `taskset`; this process is
 * the load generator on loopback, posting pre-encoded batches of 512 agent spans (turns,
 * model calls, tool calls with our release attributes) over keep-alive connections.
 * Rounds alternate protobuf and JSON; spans/s counts spans the processor actually took
 * (the receiver's `processedSpans`), not just accepted requests. A last sustained protobuf
 * run samples the receiver's RSS to show that memory stays bounded under overload.
 */
import { Agent } from 'node:http';
import { batches, type ChildSample, post, startChild } from './harness.js';

const SPANS_PER_BATCH = 512;
const BATCHES = 16;
const CONCURRENCY = 8;
const ROUND_MILLIS = 4000;
const ROUNDS = 3;
const SUSTAINED_MILLIS = 20_000;
const TARGET_SPANS_PER_SECOND = 50_000;

const wait = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

interface LoadResult {
  readonly ok: number;
  readonly throttled: number;
  readonly failed: number;
}

/** CONCURRENCY senders posting the batches round-robin until `millis` have passed. */
async function load(
  url: string,
  contentType: string,
  bodies: readonly Uint8Array[],
  millis: number,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const end = Date.now() + millis;
  let ok = 0;
  let throttled = 0;
  let failed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        const status = await post(agent, url, contentType, bodies[next++ % bodies.length] as Uint8Array);
        if (status === 200) ok++;
        else if (status === 429) {
          throttled++;
          await wait(50); // a real exporter backs off (Retry-After); do not spin on 429s
        } else failed++;
      }
    }),
  );
  agent.destroy();
  return { ok, throttled, failed };
}

function latest(samples: readonly ChildSample[]): ChildSample {
  const sample = samples.at(-1);
  if (sample === undefined) throw new Error('no sample from the receiver');
  return sample;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

export async function run(): Promise<{ title: string; markdown: string }> {
  const bodies = batches(BATCHES, SPANS_PER_BATCH);
  const protobufBytes = bodies.protobuf.reduce((sum, b) => sum + b.byteLength, 0) / BATCHES;
  const jsonBytes = bodies.json.reduce((sum, b) => sum + b.byteLength, 0) / BATCHES;
  const { child, url, samples } = await startChild();
  try {
    await wait(500);
    // Warm-up: JIT, processor series, subject maps.
    await load(url, 'application/x-protobuf', bodies.protobuf, 1500);
    await load(url, 'application/json', bodies.json, 1500);
    await wait(1000);
    const rates: Record<'protobuf' | 'json', number[]> = { protobuf: [], json: [] };
    const throttledShare: Record<'protobuf' | 'json', number[]> = { protobuf: [], json: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const encoding of round % 2 === 0 ? (['protobuf', 'json'] as const) : (['json', 'protobuf'] as const)) {
        await wait(400);
        const before = latest(samples);
        const started = Date.now();
        const result = await load(
          url,
          encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json',
          bodies[encoding],
          ROUND_MILLIS,
        );
        const elapsed = Date.now() - started;
        await wait(250);
        const after = latest(samples);
        // Spans the processors took during the round (the queue's leftovers count in the next sample).
        rates[encoding].push(((after.stats.processedSpans - before.stats.processedSpans) / elapsed) * 1000);
        throttledShare[encoding].push(result.throttled / Math.max(1, result.ok + result.throttled));
        if (result.failed > 0) throw new Error(`${result.failed} requests failed`);
      }
    }
    // Sustained overload: as many senders as above, for SUSTAINED_MILLIS, RSS sampled every 200 ms.
    await wait(500);
    const sustainedFrom = Date.now();
    const sustained = await load(url, 'application/x-protobuf', bodies.protobuf, SUSTAINED_MILLIS);
    const window = samples.filter((s) => s.atMillis >= sustainedFrom);
    const rss = window.map((s) => s.rss);
    const queue = window.map((s) => s.stats.queuedSpans);
    const quarter = (i: number) =>
      window[Math.min(window.length - 1, Math.floor((window.length * i) / 4))] as ChildSample;
    const pb = median(rates.protobuf);
    const js = median(rates.json);
    const markdown = [
      `Receiver process pinned to one core (\`taskset -c 1\`), load generator in the benchmark process, loopback,`,
      `${CONCURRENCY} keep-alive connections posting pre-encoded batches of ${SPANS_PER_BATCH} agent spans`,
      `(protobuf ${(protobufBytes / 1024).toFixed(0)} KiB, JSON ${(jsonBytes / 1024).toFixed(0)} KiB per batch) into`,
      '`startServer` + `BehaviorSpanProcessor`. Spans/s = spans the processor took per second of a round',
      `(${ROUNDS} rounds of ${ROUND_MILLIS / 1000} s per encoding, alternating; medians). Target: ≥ ${TARGET_SPANS_PER_SECOND.toLocaleString('en')} spans/s protobuf, bounded memory.`,
      '',
      '| encoding | spans/s (median) | rounds | 429 share (median) |',
      '|---|---|---|---|',
      `| protobuf | ${Math.round(pb).toLocaleString('en')} | ${rates.protobuf.map((r) => Math.round(r).toLocaleString('en')).join(', ')} | ${(median(throttledShare.protobuf) * 100).toFixed(1)}% |`,
      `| JSON | ${Math.round(js).toLocaleString('en')} | ${rates.json.map((r) => Math.round(r).toLocaleString('en')).join(', ')} | ${(median(throttledShare.json) * 100).toFixed(1)}% |`,
      '',
      `Protobuf / JSON throughput ratio: ${(pb / js).toFixed(2)}. Protobuf target ${pb >= TARGET_SPANS_PER_SECOND ? 'met' : 'NOT met'}.`,
      '',
      `Sustained protobuf load for ${SUSTAINED_MILLIS / 1000} s (${sustained.ok} requests accepted, ${sustained.throttled} answered 429 and retried after 50 ms):`,
      '',
      '| | start | 25% | 50% | 75% | end | max |',
      '|---|---|---|---|---|---|---|',
      `| receiver RSS (MiB) | ${[0, 1, 2, 3, 4].map((i) => mib(quarter(i).rss)).join(' | ')} | ${mib(Math.max(...rss))} |`,
      `| queued spans | ${[0, 1, 2, 3, 4].map((i) => quarter(i).stats.queuedSpans).join(' | ')} | ${Math.max(...queue)} |`,
      '',
      'Memory is bounded by `maxQueuedSpans` (100 000 spans by default), `maxInFlightBytes` (64 MiB of',
      "request bodies) and the processor's own caps: past them the receiver answers 429 with `Retry-After`",
      'instead of buffering.',
    ].join('\n');
    return { title: 'OTLP receiver throughput (agent-canary serve)', markdown };
  } finally {
    child.kill('SIGTERM');
  }
}
