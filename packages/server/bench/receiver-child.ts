/**
 * The receiver under load, alone in its process (the benchmark pins it to one core):
 * `startServer` with a `BehaviorSpanProcessor` and the default limits. Prints
 * `{ "url": ... }` once listening, then every N ms (first argument, default 200)
 * `{ "rss", "heapUsed", "stats" }`; shuts down on SIGTERM.
 */
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { startServer } from '../src/index.js';

const behavior = new BehaviorSpanProcessor();
const server = await startServer({ port: 0, spanProcessors: [behavior], handleSignals: true, env: {} });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const timer = setInterval(
  () => {
    const memory = process.memoryUsage();
    process.stdout.write(
      `${JSON.stringify({ atMillis: Date.now(), rss: memory.rss, heapUsed: memory.heapUsed, stats: server.receiverStats() })}\n`,
    );
  },
  Number(process.argv[2] ?? 200),
);
await server.closed;
clearInterval(timer);
