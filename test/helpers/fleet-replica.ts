/**
 * One agent replica of the fleet tests, run as its own process
 * (`node --import tsx --conditions=@agent-canary/source test/helpers/fleet-replica.ts '<json config>'`).
 *
 * It is what a team deploys N times: the demo's `SupportAgent` (simulated model and
 * tools) routed through OpenFeature with the real flagd provider in in-process file mode
 * on the shared flag file, the release tagging processor, and either
 * - `prometheus`: the behaviour processor with its metrics on a Prometheus endpoint, or
 * - `otlp`: the standard OTLP/HTTP exporter sending every span to `agent-canary serve`.
 *
 * It serves a bounded load (stops by itself after `maxRequests` or `maxDurationMillis`)
 * and reports on stdout, one JSON object per line, what it served per cohort, in total and
 * since the flag file last changed (as seen by the provider's ConfigurationChanged event).
 */

import { CANARY_BEHAVIOR, drawIntent, STABLE_BEHAVIOR, SupportAgent } from '@agent-canary/cli/demo';
import type { Cohort } from '@agent-canary/conventions';
import { ReleaseTaggingSpanProcessor } from '@agent-canary/instrumentation';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { createRng } from '@agent-canary/stats';
import { FlagdProvider } from '@openfeature/flagd-provider';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** What the test passes as the first argument (JSON). */
export interface ReplicaConfig {
  readonly id: string;
  readonly flagFile: string;
  readonly flagKey: string;
  readonly stableRelease: string;
  /** Canary release ids and the demo scenario each behaves like (e.g. `hard-break`, `healthy`). */
  readonly canaryReleases: Readonly<Record<string, keyof typeof CANARY_BEHAVIOR>>;
  readonly mode: 'prometheus' | 'otlp';
  /** Port of the `/metrics` endpoint (prometheus mode). */
  readonly metricsPort?: number;
  /** Receiver URL, e.g. `http://127.0.0.1:4318/v1/traces` (otlp mode). */
  readonly otlpUrl?: string;
  readonly requestsPerSecond: number;
  readonly maxRequests: number;
  readonly maxDurationMillis: number;
  readonly seed: number;
}

/** One stdout line. */
export interface ReplicaReport {
  readonly type: 'ready' | 'stats' | 'done';
  readonly id: string;
  readonly atMillis: number;
  readonly requests: number;
  readonly byCohort: Readonly<Record<Cohort, number>>;
  readonly byRelease: Readonly<Record<string, number>>;
  /** ConfigurationChanged events seen (flag file changes picked up by the provider). */
  readonly configChanges: number;
  readonly lastChangeAtMillis?: number;
  /** Cohorts served since the last configuration change. */
  readonly sinceChange: Readonly<Record<Cohort, number>>;
}

const TICK_MILLIS = 100;
const USERS_PER_REPLICA = 4000;

function emptyCohorts(): Record<Cohort, number> {
  return { stable: 0, canary: 0, control: 0 };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ReplicaConfig;
  const processors: SpanProcessor[] = [new ReleaseTaggingSpanProcessor()];
  let prometheus: PrometheusExporter | undefined;
  let meterProvider: MeterProvider | undefined;
  let behavior: BehaviorSpanProcessor | undefined;
  if (config.mode === 'prometheus') {
    prometheus = new PrometheusExporter({ host: '127.0.0.1', port: config.metricsPort, preventServerStart: true });
    await prometheus.startServer();
    meterProvider = new MeterProvider({ readers: [prometheus] });
    behavior = new BehaviorSpanProcessor({ meterProvider });
    processors.push(behavior);
  } else {
    processors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: config.otlpUrl }), {
        scheduledDelayMillis: 200,
        maxExportBatchSize: 512,
        maxQueueSize: 8192,
      }),
    );
  }
  const tracerProvider = new NodeTracerProvider({ spanProcessors: processors });
  tracerProvider.register();

  const provider = new FlagdProvider({ resolverType: 'in-process', offlineFlagSourcePath: config.flagFile });
  await OpenFeature.setProviderAndWait(provider);
  let configChanges = 0;
  let lastChangeAtMillis: number | undefined;
  let sinceChange = emptyCohorts();
  provider.events.addHandler(ProviderEvents.ConfigurationChanged, () => {
    configChanges++;
    lastChangeAtMillis = Date.now();
    sinceChange = emptyCohorts();
  });

  const behaviors = {
    [config.stableRelease]: STABLE_BEHAVIOR,
    ...Object.fromEntries(
      Object.entries(config.canaryReleases).map(([release, scenario]) => [release, CANARY_BEHAVIOR[scenario]]),
    ),
  };
  const agent = new SupportAgent({
    client: OpenFeature.getClient(),
    flagKey: config.flagKey,
    stableRelease: config.stableRelease,
    behaviors,
    seed: config.seed,
  });
  const traffic = createRng(config.seed).fork('traffic');
  const byCohort = emptyCohorts();
  const byRelease: Record<string, number> = {};
  let requests = 0;
  const startedAt = Date.now();

  const report = (type: ReplicaReport['type']) => {
    const line: ReplicaReport = {
      type,
      id: config.id,
      atMillis: Date.now(),
      requests,
      byCohort,
      byRelease,
      configChanges,
      ...(lastChangeAtMillis === undefined ? {} : { lastChangeAtMillis }),
      sinceChange,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  report('ready');

  let stopping = false;
  const perTick = Math.max(1, Math.round((config.requestsPerSecond * TICK_MILLIS) / 1000));
  const reporter = setInterval(() => report('stats'), 250);
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(loop);
    clearInterval(reporter);
    await tracerProvider.shutdown().catch(() => undefined);
    await meterProvider?.shutdown().catch(() => undefined);
    await OpenFeature.close().catch(() => undefined);
    report('done');
    process.exit(0);
  };
  const loop = setInterval(() => {
    if (stopping) return;
    if (requests >= config.maxRequests || Date.now() - startedAt > config.maxDurationMillis) {
      void stop();
      return;
    }
    for (let i = 0; i < perTick; i++) {
      const index = requests++;
      const request = {
        index,
        userId: `${config.id}-user-${traffic.int(USERS_PER_REPLICA)}`,
        intent: drawIntent(traffic),
        orderId: `A${100_000 + traffic.int(900_000)}`,
        arrivalMillis: Date.now(),
      };
      void agent.handle(request).then((reply) => {
        const cohort = reply.assignment.cohort;
        byCohort[cohort]++;
        sinceChange[cohort]++;
        byRelease[reply.assignment.release] = (byRelease[reply.assignment.release] ?? 0) + 1;
      });
    }
  }, TICK_MILLIS);
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`replica failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
