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
if (argv[0] === 'monitor' || argv[0] === 'serve') {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => shutdown.abort());
}
process.exitCode = await run(argv, io, {
  openStore: controllerStoreOpener({ env: io.env, routing: cliRoutingFactory({ env: io.env, cwd: io.cwd }) }),
  shutdown: shutdown.signal,
});
