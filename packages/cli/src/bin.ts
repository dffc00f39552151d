#!/usr/bin/env node
import { controllerStoreOpener } from './controller-store.js';
import { processIo } from './io.js';
import { run } from './program.js';
import { cliRoutingFactory } from './routing.js';

const io = processIo();
process.exitCode = await run(process.argv.slice(2), io, {
  openStore: controllerStoreOpener({ env: io.env, routing: cliRoutingFactory({ env: io.env, cwd: io.cwd }) }),
});
