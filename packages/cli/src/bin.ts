#!/usr/bin/env node
import { controllerStoreOpener } from './controller-store.js';
import { processIo } from './io.js';
import { run } from './program.js';
import { cliRoutingFactory } from './routing.js';

const io = processIo();
const argv = process.argv.slice(2);
// The long-running commands stop cleanly on the first signal (a second one gets Node's
// default: exit at once); every other command keeps the default, so Ctrl-C interrupts it.
const shutdown = new AbortController();
const longRunning = argv[0] === 'monitor' || argv[0] === 'serve';
if (longRunning) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => shutdown.abort());
}
// A reader that goes away (`agent-canary --help | head -1`) ends the command quietly, as
// SIGPIPE ends other commands: a long-running one stops cleanly, any other exits 0.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  if (longRunning) shutdown.abort();
  else process.exit(0);
});
process.exitCode = await run(argv, io, {
  openStore: controllerStoreOpener({ env: io.env, routing: cliRoutingFactory({ env: io.env, cwd: io.cwd }) }),
  shutdown: shutdown.signal,
});
