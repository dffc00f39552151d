/**
 * Rollback latency through the LaunchDarkly adapter: from the controller's rollback
 * decision (the adapter's `apply` of a 0% split) to the first request of a canary user
 * that the real LaunchDarkly OpenFeature provider (wrapped by LaunchDarklyReleaseProvider)
 * routes to stable. LaunchDarkly itself cannot be reached from here: the REST API is the
 * local contract-checking server on loopback, and its accepted changes are pushed into the
 * SDK through TestData, standing in for LaunchDarkly's streaming connection. So this
 * measures the adapter's own path (GET, PATCH, read-back GET) and the SDK's update, not
 * LaunchDarkly's network and propagation time. Two rollback modes alternate: a 0% rollout
 * and `turnFlagOff` (emergency stop).
 */
import type { RoutingSplit } from '@agent-canary/conventions';
import { TestData } from '@launchdarkly/node-server-sdk/integrations';
import { LaunchDarklyProvider } from '@launchdarkly/openfeature-node-server';
import { OpenFeature } from '@openfeature/server-sdk';
import {
  createLaunchDarklyAdapter,
  LaunchDarklyReleaseProvider,
  type LaunchDarklyRoutingAdapter,
} from '../src/index.js';
import { FakeLaunchDarkly, releaseFlagFixture, sdkFlagOf } from '../src/testing-fixtures/fake-launchdarkly.js';

const ROUNDS = 30;
const WARMUP_ROUNDS = 5;
const TOKEN = 'api-bench';
const FLAG = 'agent-release';

function split(canaryBasisPoints: number): RoutingSplit {
  return {
    flagKey: FLAG,
    rolloutId: 'bench',
    canaryRelease: 'v2',
    stableRelease: 'v1',
    canaryBasisPoints,
    controlBasisPoints: 0,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Runs the benchmark; see the file comment. */
export async function run(): Promise<{ title: string; markdown: string }> {
  const server = new FakeLaunchDarkly({
    accessToken: TOKEN,
    projectKey: 'default',
    environmentKey: 'production',
    flags: [releaseFlagFixture(FLAG, { canaryRelease: 'v2', stableRelease: 'v1' }, 'production')],
  });
  await server.start();
  const td = new TestData();
  server.onChange((flag) => void td.usePreconfiguredFlag(sdkFlagOf(flag, 'production')));
  await td.usePreconfiguredFlag(
    sdkFlagOf(server.flag(FLAG) ?? releaseFlagFixture(FLAG, split(0), 'production'), 'production'),
  );
  const ld = new LaunchDarklyProvider('sdk-bench', {
    updateProcessor: td.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  await OpenFeature.setProviderAndWait('ld-bench', new LaunchDarklyReleaseProvider(ld));
  const client = OpenFeature.getClient('ld-bench');
  const options = { accessToken: TOKEN, baseUrl: server.url };
  const setups: Array<{ name: string; routing: LaunchDarklyRoutingAdapter }> = [
    { name: '0% rollout (updateFallthroughVariationOrRollout)', routing: createLaunchDarklyAdapter(options) },
    {
      name: 'emergency stop (turnFlagOff)',
      routing: createLaunchDarklyAdapter({ ...options, rollbackWithFlagOff: true }),
    },
  ];
  const results = new Map<string, number[]>(setups.map((setup) => [setup.name, []]));
  let user = '';
  try {
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
      for (const setup of round % 2 === 0 ? setups : [...setups].reverse()) {
        // Untimed: put the canary at 50% and find a user it serves.
        await setup.routing.apply(split(5000));
        for (let i = 0; ; i++) {
          user = `user-${i}`;
          if ((await client.getStringDetails(FLAG, 'default', { targetingKey: user })).variant === 'canary') break;
        }
        const decidedAt = performance.now();
        const applied = await setup.routing.apply(split(0));
        if (!applied.acknowledged) throw new Error(`${setup.name}: rollback not acknowledged`);
        while ((await client.getStringDetails(FLAG, 'default', { targetingKey: user })).variant !== 'stable') {
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (round >= WARMUP_ROUNDS) results.get(setup.name)?.push(performance.now() - decidedAt);
      }
    }
  } finally {
    await OpenFeature.clearProviders();
    await server.close();
  }
  const rows = setups.map((setup) => {
    const values = results.get(setup.name) ?? [];
    return `| ${setup.name} | ${median(values).toFixed(2)} | ${Math.min(...values).toFixed(2)} | ${Math.max(...values).toFixed(2)} | ${values.length} |`;
  });
  return {
    title: 'Rollback latency: LaunchDarkly adapter (decision -> first request routed to stable, contract server)',
    markdown: [
      'From `apply()` of the rollback to the first evaluation of a canary user that answers `stable`, through the real',
      '`@launchdarkly/openfeature-node-server` provider (wrapped by `LaunchDarklyReleaseProvider`) and the OpenFeature SDK.',
      'The REST API is the local contract server on loopback and changes reach the SDK through `TestData`, so the numbers',
      "are the adapter's own cost (GET + PATCH + read-back GET) plus the SDK update; alternating rounds, after warm-up.",
      '',
      '| rollback mode | median ms | min ms | max ms | rounds |',
      '|---|---:|---:|---:|---:|',
      ...rows,
      '',
      'Against LaunchDarkly, add three round trips to the REST API (GET, PATCH, read-back GET; more on 429 retries) and',
      "LaunchDarkly's propagation to the SDKs over their streaming connection: neither can be measured from this machine.",
      'SDKs in polling mode (not the default) add up to their poll interval.',
    ].join('\n'),
  };
}
