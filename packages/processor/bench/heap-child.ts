/**
 * Child process of processor.bench.ts: feeds synthetic traffic through `record()` and
 * prints heap-after-GC checkpoints as JSON. Runs in its own process so it can use
 * `--expose-gc` (setting that flag at run time slows V8 down) and start from a clean heap.
 */
import { type AgentSpanFacts, type Cohort, SPAN_CONVENTION } from '@agent-canary/conventions';
import { createRng } from '@agent-canary/stats';
import { BehaviorSpanProcessor } from '../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const checkpoints = (process.argv[2] ?? '1000000,10000000').split(',').map(Number);
const total = Math.max(...checkpoints);
const TOOLS = ['search', 'db', 'code', 'email', 'calendar'];

let now = Date.UTC(2026, 0, 1);
const processor = new BehaviorSpanProcessor({ now: () => now, maxSubjectsPerRollout: 5_000 });
const rng = createRng('processor-bench-heap');
const results: { spans: number; heapMiB: number; seconds: number }[] = [];
const started = process.hrtime.bigint();
for (let index = 1; index <= total; index++) {
  // 20 spans/s of simulated time: the 6 h retention is full after 432k spans, and every
  // subject set is full (5,000) by about 400k, so 1M is past every warm-up.
  now += 50;
  const u = rng.next();
  const cohort: Cohort = u < 0.9 ? 'stable' : u < 0.95 ? 'canary' : 'control';
  const facts: AgentSpanFacts = {
    convention: SPAN_CONVENTION.genAi,
    spanId: 's',
    startTimeMillis: now,
    kind: index % 4 === 0 ? 'turn' : index % 4 === 1 ? 'model_call' : 'tool_call',
    traceId: `t${index >> 2}`,
    durationMillis: 1500 * Math.exp(rng.normal()),
    release: cohort === 'canary' ? 'v2' : 'v1',
    cohort,
    rolloutId: 'r1',
    subject: `u${Math.floor(rng.next() * 10_000_000)}`,
    isError: rng.next() < 0.01,
    toolName: TOOLS[rng.int(TOOLS.length)] ?? 'search',
    outputLength: Math.round(300 * Math.exp(0.6 * rng.normal())),
    inputTokens: 300,
    outputTokens: 80,
    topic: `topic-${rng.int(80)}`,
  };
  processor.record(facts);
  if (checkpoints.includes(index)) {
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    gc();
    gc();
    results.push({ spans: index, heapMiB: process.memoryUsage().heapUsed / 2 ** 20, seconds: elapsed });
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`);
