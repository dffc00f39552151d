/**
 * One-call, one-process set-up: everything an agent app needs to run its own canary
 * rollout with no other service (the embedded default of DESIGN.md, "Scale").
 */
import { mkdirSync } from 'node:fs';
import {
  type ActionInput,
  type ActionResult,
  inProcessSource,
  isFinalPhase,
  RolloutController,
  type RolloutStatus,
  RolloutStore,
  type TickResult,
} from '@agent-canary/controller';
import type { ReleaseAssignment } from '@agent-canary/conventions';
import { createGate, type GateEvaluator } from '@agent-canary/gate';
import { ReleaseTaggingSpanProcessor, type ResolveReleaseOptions, resolveRelease } from '@agent-canary/instrumentation';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import { EmbeddedProvider, EmbeddedRoutingAdapter } from '@agent-canary/routing';
import { type Client, NOOP_PROVIDER, OpenFeature } from '@openfeature/server-sdk';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type EmbeddedCanaryConfig, type EmbeddedCanaryOptions, resolveEmbeddedCanaryConfig } from './config.js';

/** What `createEmbeddedCanary` returns: the wired pieces and the rollout's controls. */
export interface EmbeddedCanary {
  readonly config: EmbeddedCanaryConfig;
  /**
   * `[ReleaseTaggingSpanProcessor, BehaviorSpanProcessor]`, in that order, for your own
   * tracer provider. With `registerAgentCanary` (which adds the tagger itself) pass
   * `[canary.behavior]`.
   */
  readonly spanProcessors: readonly SpanProcessor[];
  /** The behaviour processor the gate reads (register it on your tracer provider). */
  readonly behavior: BehaviorSpanProcessor;
  /**
   * The OpenFeature provider serving the release flag (registered on `config.domain`):
   * from `routing.json` with `stateDir` (so the CLI's writes count), else in-process.
   */
  readonly provider: EmbeddedProvider;
  /** An OpenFeature client of `config.domain`. */
  readonly client: Client;
  readonly routing: EmbeddedRoutingAdapter;
  readonly store: RolloutStore;
  readonly gate: GateEvaluator;
  readonly controller: RolloutController;
  /**
   * The user's release assignment: `resolveRelease(client, flagKey, userId, { defaultRelease: stableRelease })`.
   * Never throws; before a rollout starts everyone gets the stable release.
   */
  resolve(userId: string, options?: ResolveReleaseOptions): Promise<ReleaseAssignment>;
  /**
   * Starts the configured rollout, or resumes the one of this flag and these releases still
   * active in the store (after a restart). A rollout of this flag whose routing write was
   * never acknowledged (a rollback that has not landed) is resumed first, whatever its
   * phase: `run()` then retries the write until it lands. Throws `ControllerError`
   * `AGENT_CANARY_ROLLOUT_ACTIVE` when the flag has an active rollout of other releases.
   */
  start(actor?: string): Promise<RolloutStatus>;
  /** Evaluates the gate once and acts on it (drive it yourself, e.g. in virtual time). */
  tick(): Promise<TickResult>;
  /** Ticks every `tickIntervalMillis` on real timers until the rollout ends or `stop()`. */
  run(): void;
  /** Stops `run()`'s timer. */
  stop(): void;
  status(): RolloutStatus;
  pause(input: ActionInput): Promise<ActionResult>;
  resume(input: ActionInput): Promise<ActionResult>;
  promote(input: ActionInput): Promise<ActionResult>;
  approve(input: ActionInput): Promise<ActionResult>;
  rollback(input: ActionInput): Promise<ActionResult>;
  abort(input: ActionInput): Promise<ActionResult>;
  /**
   * Stops ticking, waits for the controller, detaches the provider from OpenFeature, shuts
   * the behaviour processor down (writing its last snapshot under `stateDir`), closes the
   * routing adapter and the store. Idempotent; shutting your tracer provider down before
   * or after is fine (processor shutdowns are idempotent too).
   */
  close(): Promise<void>;
}

/**
 * Wires agent-canary for one process: the release tagger and behaviour processor (to add
 * to your OpenTelemetry SDK), the embedded OpenFeature provider (registered on its own
 * domain) with its in-process routing adapter, the SQLite rollout store, the quality gate
 * over the in-process metrics, and the rollout controller. With `stateDir`, routing,
 * rollouts and behaviour windows persist there and a restarted process resumes the rollout.
 *
 * @throws ConfigError naming the field when an option is invalid.
 * @example
 * const canary = await createEmbeddedCanary({ flagKey: 'support-agent.release', stableRelease: 'v1', canaryRelease: 'v2', stateDir: '.agent-canary' });
 * await registerAgentCanary({ serviceName: 'support-agent', spanProcessors: [canary.behavior] });
 * await canary.start();
 * canary.run();
 * // per request:
 * const assignment = await canary.resolve(userId);
 * await withRelease(assignment, () => agent.answer(question));
 */
export async function createEmbeddedCanary(options: EmbeddedCanaryOptions): Promise<EmbeddedCanary> {
  const config = resolveEmbeddedCanaryConfig(options);
  if (options.stateDir !== undefined) mkdirSync(options.stateDir, { recursive: true });
  const clock = config.clock;
  const behavior = new BehaviorSpanProcessor({
    ...options.behavior,
    ...(config.behaviorSnapshotPath === undefined ? {} : { snapshotPath: config.behaviorSnapshotPath }),
    now: clock,
  });
  const routing = new EmbeddedRoutingAdapter({
    ...(config.routingPath === undefined ? {} : { path: config.routingPath }),
    clock,
  });
  // With a state file the provider reads the file, so splits written by another process
  // (the CLI's manual actions) are served here too; in memory, the adapter pushes them.
  const provider =
    config.routingPath === undefined
      ? new EmbeddedProvider({ adapter: routing })
      : new EmbeddedProvider({ path: config.routingPath, refreshIntervalMillis: config.routingRefreshMillis });
  const store = new RolloutStore({ path: config.storePath ?? ':memory:' });
  const gate = createGate(config.gate, inProcessSource(behavior));
  const controller = new RolloutController({
    store,
    routing,
    gate,
    notifiers: options.notifiers ?? [],
    clock,
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  await OpenFeature.setProviderAndWait(config.domain, provider);
  const client = OpenFeature.getClient(config.domain);
  const { flagKey, stableRelease } = config.rollout;
  let closing: Promise<void> | undefined;

  return {
    config,
    spanProcessors: Object.freeze([new ReleaseTaggingSpanProcessor(), behavior]),
    behavior,
    provider,
    client,
    routing,
    store,
    gate,
    controller,
    resolve: (userId, resolveOptions = {}) =>
      resolveRelease(client, flagKey, userId, { defaultRelease: stableRelease, ...resolveOptions }),
    async start(actor) {
      const unsettled = store
        .listRollouts({ routingPending: true, flagKey })
        .find((record) => isFinalPhase(record.state.phase));
      if (unsettled !== undefined) {
        const restored = await controller.restore(unsettled.id);
        // Still pending: nothing new may start before it lands (run() retries it).
        if (restored?.routingPending) return restored;
      }
      const active = store.listRollouts({ activeOnly: true, flagKey })[0];
      const same =
        active !== undefined &&
        active.config.canaryRelease === config.rollout.canaryRelease &&
        active.config.stableRelease === config.rollout.stableRelease;
      // A running rollout of other releases is not silently continued: `controller.start`
      // refuses it with AGENT_CANARY_ROLLOUT_ACTIVE (finish or abort it first).
      if (active !== undefined && same) {
        const restored = await controller.restore(active.id);
        if (restored !== undefined) return restored;
      }
      return controller.start(config.rolloutOptions, actor);
    },
    tick: () => controller.tick(),
    run: () => controller.run(),
    stop: () => controller.stop(),
    status: () => controller.status(),
    pause: (input) => controller.pause(input),
    resume: (input) => controller.resume(input),
    promote: (input) => controller.promote(input),
    approve: (input) => controller.approve(input),
    rollback: (input) => controller.rollback(input),
    abort: (input) => controller.abort(input),
    close() {
      closing ??= (async () => {
        controller.stop();
        await controller.idle();
        try {
          // Replacing the provider makes OpenFeature call its onClose (unsubscribes from the adapter).
          await OpenFeature.setProviderAndWait(config.domain, NOOP_PROVIDER);
        } finally {
          await behavior.shutdown();
          await routing.close();
          store.close();
        }
      })();
      return closing;
    },
  };
}
