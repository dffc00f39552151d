/**
 * The OTLP receiver under hostile clients, with its default limits, in its own
 * process pinned to one core (`taskset -c 1`); this process attacks it on loopback and
 * measures what other clients see.
 *
 * 1. Decompression amplification: 60 concurrent requests, each a ~15 KB gzip body that
 *    inflates to 15 MB of JSON (5 million empty spans), and the same in protobuf, while a
 *    prober calls `GET /healthz` back to back. Peak RSS is the kernel's high-water mark
 *    (`VmHWM`) of the receiver process, so no spike between samples is missed.
 * 2. Slow bodies: 16 connections declare a 4 MiB JSON body and send a space every 500 ms
 *    (reconnecting when the server closes them), while an exporter posts 512-span protobuf
 *    batches back to back; compared with the same exporter alone.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { batches, post, type ReceiverChild, startChild } from './harness.js';

const ATTACKERS = 60;
const EMPTY_SPANS = 5_000_000;
const SLOW_CONNECTIONS = 16;
/** Time the exporter runs alone, and as long under attack, over `SLOW_ROUNDS` alternating rounds. */
const SLOW_MILLIS = 16_000;
const SLOW_ROUNDS = 4;
const EXPORTERS = 2;
const TARGET_RSS_MIB = 512;
const TARGET_HEALTHZ_MILLIS = 1000;

const wait = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));
const mib = (bytes: number) => bytes / 2 ** 20;

/** Peak resident memory of a process so far (Linux `VmHWM`), bytes. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? 0;
}

/** `GET /healthz` back to back until stopped; the latency of each answer. */
function probeHealth(url: string): { stop: () => Promise<number[]> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await new Promise<void>((resolve) => {
        const req = request(`${url}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', () => resolve());
        req.end();
      });
      latencies.push(performance.now() - started);
      await wait(20);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      agent.destroy();
      return latencies;
    },
  };
}

interface AttackResult {
  readonly encoding: string;
  readonly compressedBytes: number;
  readonly inflatedBytes: number;
  readonly statuses: Record<number, number>;
  readonly answeredMillis: number;
  readonly healthz: number[];
}

async function amplification(receiver: ReceiverChild, encoding: 'json' | 'protobuf'): Promise<AttackResult> {
  let inflated: Buffer;
  if (encoding === 'json') {
    inflated = Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[${'{},'.repeat(EMPTY_SPANS - 1)}{}]}]}]}`);
  } else {
    // ExportTraceServiceRequest { resource_spans { scope_spans { spans {} × N } } }: 2 bytes a span.
    const spans = Buffer.alloc(EMPTY_SPANS * 2);
    for (let i = 0; i < EMPTY_SPANS; i++) spans[i * 2] = 0x12;
    const wrap = (tag: number, body: Buffer) => {
      const length: number[] = [];
      let rest = body.length;
      while (rest >= 0x80) {
        length.push((rest & 0x7f) | 0x80);
        rest >>>= 7;
      }
      length.push(rest);
      return Buffer.concat([Buffer.from([tag, ...length]), body]);
    };
    inflated = wrap(0x0a, wrap(0x12, spans));
  }
  const body = gzipSync(inflated, { level: 9 });
  const contentType = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
  const prober = probeHealth(receiver.url);
  await wait(300);
  const started = performance.now();
  const statuses: Record<number, number> = {};
  await Promise.all(
    Array.from({ length: ATTACKERS }, async () => {
      const agent = new Agent({ keepAlive: false });
      const status = await new Promise<number>((resolve) => {
        const req = request(
          `${receiver.url}/v1/traces`,
          { method: 'POST', agent, headers: { 'content-type': contentType, 'content-encoding': 'gzip' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', () => resolve(0));
        req.end(body);
      });
      statuses[status] = (statuses[status] ?? 0) + 1;
    }),
  );
  const answeredMillis = performance.now() - started;
  await wait(500);
  const healthz = await prober.stop();
  return {
    encoding,
    compressedBytes: body.length,
    inflatedBytes: inflated.length,
    statuses,
    answeredMillis,
    healthz,
  };
}

/** A connection that declares a 4 MiB JSON body and sends a space every 500 ms; reopened when closed. */
function slowSender(port: number, stopAt: number, answers: Record<string, number>): Promise<void> {
  return new Promise((resolve) => {
    const open = () => {
      if (Date.now() >= stopAt) return resolve();
      let answer = '';
      const socket: Socket = connect(port, '127.0.0.1', () => {
        socket.write(
          'POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 4194304\r\n\r\n',
        );
      });
      const drip = setInterval(() => {
        if (Date.now() >= stopAt) socket.destroy();
        // Whitespace: valid JSON so far, so only the deadline can end it.
        else socket.write(' ');
      }, 500);
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('latin1');
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(drip);
        const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'closed';
        answers[status] = (answers[status] ?? 0) + 1;
        open();
      });
    };
    open();
  });
}

interface ExportResult {
  readonly sent: number;
  readonly ok: number;
  readonly latencies: number[];
  readonly statuses: Record<number, number>;
}

/** EXPORTERS senders posting batches back to back for `millis`. */
async function exportFor(url: string, bodies: readonly Uint8Array[], millis: number): Promise<ExportResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: EXPORTERS });
  const end = Date.now() + millis;
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: EXPORTERS }, async () => {
      while (Date.now() < end) {
        const started = performance.now();
        const status = await post(agent, url, 'application/x-protobuf', bodies[next++ % bodies.length] as Uint8Array);
        latencies.push(performance.now() - started);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status !== 200) await wait(50);
      }
    }),
  );
  agent.destroy();
  const sent = latencies.length;
  return { sent, ok: statuses[200] ?? 0, latencies, statuses };
}

function merge(results: readonly ExportResult[]): ExportResult {
  const statuses: Record<number, number> = {};
  for (const result of results) {
    for (const [status, count] of Object.entries(result.statuses)) {
      statuses[Number(status)] = (statuses[Number(status)] ?? 0) + count;
    }
  }
  return {
    sent: results.reduce((sum, r) => sum + r.sent, 0),
    ok: results.reduce((sum, r) => sum + r.ok, 0),
    latencies: results.flatMap((r) => r.latencies),
    statuses,
  };
}

const formatStatuses = (statuses: Record<string | number, number>) =>
  Object.entries(statuses)
    .map(([status, count]) => `${count}× ${status === '0' ? 'connection error' : status}`)
    .join(', ');

export async function run(): Promise<{ title: string; markdown: string }> {
  const bodies = batches(8, 512).protobuf;
  const receiver = await startChild(100);
  const pid = receiver.child.pid as number;
  try {
    await wait(500);
    // Warm-up: JIT, processor series.
    await exportFor(receiver.url, bodies, 2000);
    await wait(500);
    const rssBefore = peakRss(pid);
    const attacks = [await amplification(receiver, 'json'), await amplification(receiver, 'protobuf')];
    const rssAfterAttacks = peakRss(pid);

    // Rounds alternate the exporter alone and under attack, so drift on a shared machine
    // falls on both; the attackers stay connected through their rounds.
    await wait(1000);
    const alone: ExportResult[] = [];
    const underAttack: ExportResult[] = [];
    const slowAnswers: Record<string, number> = {};
    const port = Number(new URL(receiver.url).port);
    let maxInFlight = 0;
    for (let round = 0; round < SLOW_ROUNDS; round++) {
      alone.push(await exportFor(receiver.url, bodies, SLOW_MILLIS / SLOW_ROUNDS));
      const stopAt = Date.now() + SLOW_MILLIS / SLOW_ROUNDS + 1000;
      const samplesFrom = receiver.samples.length;
      const attackersDone = Promise.all(
        Array.from({ length: SLOW_CONNECTIONS }, () => slowSender(port, stopAt, slowAnswers)),
      );
      await wait(1000); // the attackers are connected and dribbling
      underAttack.push(await exportFor(receiver.url, bodies, SLOW_MILLIS / SLOW_ROUNDS));
      await attackersDone;
      maxInFlight = Math.max(maxInFlight, ...receiver.samples.slice(samplesFrom).map((s) => s.stats.inFlightBytes));
    }
    const rssEnd = peakRss(pid);

    const attackRows = attacks.map((attack) => {
      const worst = Math.max(...attack.healthz);
      return `| ${attack.encoding} | ${(attack.compressedBytes / 1024).toFixed(0)} KB → ${mib(attack.inflatedBytes).toFixed(1)} MiB | ${formatStatuses(attack.statuses)} | ${(attack.answeredMillis / 1000).toFixed(2)} s | ${attack.healthz.length} | ${percentile(attack.healthz, 0.5).toFixed(1)} ms | ${worst.toFixed(1)} ms |`;
    });
    const share = (result: ExportResult) => `${((result.ok / Math.max(1, result.sent)) * 100).toFixed(1)}%`;
    const exportRow = (label: string, result: ExportResult) =>
      `| ${label} | ${result.sent} | ${share(result)} | ${percentile(result.latencies, 0.5).toFixed(1)} ms | ${percentile(result.latencies, 0.99).toFixed(1)} ms | ${formatStatuses(result.statuses)} |`;
    const worstHealthz = Math.max(...attacks.flatMap((attack) => attack.healthz));
    const markdown = [
      'Receiver (`startServer` + `BehaviorSpanProcessor`, default limits) in its own process pinned to one core;',
      'attacks and measurements from the benchmark process on loopback.',
      '',
      `**Decompression amplification**: ${ATTACKERS} concurrent requests, each a gzip body of`,
      `${EMPTY_SPANS.toLocaleString('en')} empty spans, while \`GET /healthz\` is called back to back.`,
      '',
      '| encoding | body → inflated | answers | all answered in | /healthz calls | /healthz p50 | /healthz max |',
      '|---|---|---|---|---|---|---|',
      ...attackRows,
      '',
      `Receiver peak RSS (VmHWM): ${mib(rssBefore).toFixed(0)} MiB before the attacks, ${mib(rssAfterAttacks).toFixed(0)} MiB after both`,
      `(target ≤ ${TARGET_RSS_MIB} MiB: ${mib(rssAfterAttacks) <= TARGET_RSS_MIB ? 'met' : 'NOT met'}); slowest /healthz ${worstHealthz.toFixed(0)} ms`,
      `(target < ${TARGET_HEALTHZ_MILLIS} ms: ${worstHealthz < TARGET_HEALTHZ_MILLIS ? 'met' : 'NOT met'}). The scanner counts spans while the body inflates`,
      'and stops inflating at `maxSpansPerRequest` (10 000): about 30 KB of JSON or 20 KB of protobuf per attack body.',
      '',
      `**Slow bodies**: ${SLOW_CONNECTIONS} connections declare a 4 MiB JSON body and send a space every 500 ms`,
      `(reopened when closed), while ${EXPORTERS} exporters post 512-span protobuf batches back to back; ${SLOW_MILLIS / 1000} s alone and`,
      `${SLOW_MILLIS / 1000} s under attack, in ${SLOW_ROUNDS} alternating rounds each.`,
      '',
      '| exporter | exports | 200 | latency p50 | latency p99 | answers |',
      '|---|---|---|---|---|---|',
      exportRow('alone', merge(alone)),
      exportRow(`with ${SLOW_CONNECTIONS} slow bodies`, merge(underAttack)),
      '',
      `Slow connections were answered: ${formatStatuses(slowAnswers)} (\`closed\`: by the attacker at the end of its round;`,
      `a 408 comes after \`bodyTimeoutMillis\`, 10 s). Bytes held by all bodies being read, the exporters' included, peaked`,
      `at ${maxInFlight.toLocaleString('en')} while the attackers had declared ${(SLOW_CONNECTIONS * 4).toLocaleString('en')} MiB: what arrived is held, not what is announced.`,
      `Receiver peak RSS over the whole run: ${mib(rssEnd).toFixed(0)} MiB.`,
    ].join('\n');
    return { title: 'OTLP receiver under attack (agent-canary serve)', markdown };
  } finally {
    receiver.child.kill('SIGTERM');
  }
}
