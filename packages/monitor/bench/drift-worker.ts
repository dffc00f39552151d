/**
 * Worker thread of drift.bench.ts: runs the tasks it is sent, one at a time, and posts
 * each result back.
 */
import { parentPort } from 'node:worker_threads';
import { type RunTask, runTask } from './drift-runs.js';

parentPort?.on('message', (task: RunTask) => {
  runTask(task).then(
    (result) => parentPort?.postMessage({ ok: true, result }),
    (error: unknown) => parentPort?.postMessage({ ok: false, error: String(error) }),
  );
});
