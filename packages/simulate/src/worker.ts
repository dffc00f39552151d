/**
 * Worker thread of `runSimulation`: runs batches of (scenario, run) tasks and posts
 * their results back. Started by `simulate.ts`; not part of the public API.
 */
import { parentPort } from 'node:worker_threads';
import { type BatchRequest, runBatch } from './batch.js';

parentPort?.on('message', (request: BatchRequest) => {
  runBatch(request).then(
    (results) => parentPort?.postMessage({ ok: true, results }),
    (error: unknown) => parentPort?.postMessage({ ok: false, error: String(error) }),
  );
});
