/**
 * A controller as its own process, for the flag-system outage tests: a SQLite store, the
 * real flagd file adapter, a webhook notifier, and a gate that reads `{"bad": boolean}`
 * from a file at every evaluation (the test turns the canary bad by writing it). Like
 * `agent-canary serve`, it first `restore()`s what the store holds (a pending rollback
 * before anything else) and starts the configured rollout only when there is nothing.
 * Config is the first argument (JSON); prints one JSON line `{ "ready": status }` once
 * running. SIGTERM stops it cleanly; the tests also SIGKILL it.
 */
import { readFileSync } from 'node:fs';
import {
  RolloutController,
  type RolloutOptions,
  RolloutStore,
  type RoutingRetryOptions,
  webhookNotifier,
} from '@agent-canary/controller';
import type { GateContext, GateEvaluation, GateEvaluator } from '@agent-canary/gate';
import { gateResult } from '@agent-canary/gate/testing';
import { createFlagdAdapter } from '@agent-canary/routing-flagd';

/** The JSON argument of this process. */
export interface ControllerProcessConfig {
  readonly storePath: string;
  readonly flagFile: string;
  readonly gateFile: string;
  readonly webhookUrl: string;
  readonly rollout: RolloutOptions;
  readonly routingRetry: RoutingRetryOptions;
  readonly routingAlertRepeatMillis: number;
}

class FileGate implements GateEvaluator {
  constructor(private readonly path: string) {}

  async evaluate(context: GateContext): Promise<GateEvaluation> {
    const bad = (JSON.parse(readFileSync(this.path, 'utf8')) as { bad?: boolean }).bad === true;
    const canary = Math.round(context.canaryBasisPoints / 10);
    const result = gateResult({
      verdict: bad ? 'fail' : 'pass',
      sequentialFailure: bad,
      requests: { canary, control: canary, stable: 5 * canary },
      reason: bad ? 'error rate: canary crossed its e-value boundary' : 'all checks pass',
      evaluatedAtMillis: context.nowMillis,
    });
    return { result, state: null };
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ControllerProcessConfig;
  const store = new RolloutStore({ path: config.storePath });
  const routing = createFlagdAdapter({ path: config.flagFile, retry: { maxAttempts: 2, initialDelayMillis: 5 } });
  const controller = new RolloutController({
    store,
    routing,
    gate: new FileGate(config.gateFile),
    notifiers: [webhookNotifier({ url: config.webhookUrl, retries: 0 })],
    env: {},
    routingRetry: config.routingRetry,
    routingAlertRepeatMillis: config.routingAlertRepeatMillis,
  });
  const status = (await controller.restore()) ?? (await controller.start(config.rollout));
  controller.run();
  process.stdout.write(`${JSON.stringify({ ready: status })}\n`);
  process.once('SIGTERM', () => {
    controller.stop();
    void controller.idle().then(() => {
      store.close();
      process.exit(0);
    });
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`controller process failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
