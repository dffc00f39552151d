/**
 * `agent-canary serve` as its own process for the shutdown test: a behaviour processor
 * persisting snapshots, a controller with a SQLite store and the flagd adapter, and
 * `startServer({ handleSignals: true })`. Config is the first argument (JSON); prints one
 * JSON line `{ "url": ... }` once listening, and `{ "closed": true }` after a graceful shutdown.
 */

import { inProcessSource, RolloutController, RolloutStore } from '@agent-canary/controller';
import { createGate, resolveGateConfig } from '@agent-canary/gate';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { createFlagdAdapter } from '@agent-canary/routing-flagd';
import { startServer } from '@agent-canary/server';

interface ServeProcessConfig {
  readonly snapshotPath: string;
  readonly storePath: string;
  readonly flagFile: string;
  readonly token: string;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ServeProcessConfig;
  const behavior = new BehaviorSpanProcessor({ snapshotPath: config.snapshotPath });
  const store = new RolloutStore({ path: config.storePath });
  const controller = new RolloutController({
    store,
    routing: createFlagdAdapter({ path: config.flagFile }),
    gate: createGate(resolveGateConfig(), inProcessSource(behavior)),
    env: {},
  });
  if ((await controller.restore()) === undefined) {
    await controller.start({
      id: 'serve-r1',
      flagKey: 'support-agent.release',
      canaryRelease: 'prompt-v2',
      stableRelease: 'prompt-v1',
    });
  }
  controller.run();
  const server = await startServer({
    port: 0,
    spanProcessors: [behavior],
    controller,
    store,
    apiToken: config.token,
    handleSignals: true,
    env: {},
  });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  await server.closed;
  process.stdout.write(`${JSON.stringify({ closed: true })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`serve process failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
