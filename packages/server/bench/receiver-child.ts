/**
 * The receiver under load, alone in its process (the benchmark pins it to one core):
 * `startServer` with a `BehaviorSpanProcessor`. Prints `{ "url": ... }` once listening,
 * then every 200 ms `{ "rss", "heapUsed", "stats" }`; shuts down on SIGTERM.
 */
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { startServer } from '../src/index.js';

const behavior = new BehaviorSpanProcessor();
const server = await startServer({ port: 0, spanProcessors: [behavior], handleSignals: true, env: {} });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const timer = setInterval(() => {
  const memory = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({ atMillis: Date.now(), rss: memory.rss, heapUsed: memory.heapUsed, stats: server.receiverStats() })}\n`,
  );
}, 200);
await server.closed;
clearInterval(timer);
