/**
 * `CliStore` on top of the controller package: reads go straight to its SQLite
 * `RolloutStore`; `start` and manual actions go through a `RolloutController`, so the
 * state machine, the audit log, the routing write and the notifications are exactly
 * those of a running controller. The CLI process never ticks the gate: the process that
 * serves traffic (or `serve`) does.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  CONTROLLER_ERROR_CODE,
  isFinalPhase,
  type Notifier,
  RolloutController,
  type RolloutRecord,
  RolloutStore,
  rolloutStatusOf,
  webhookNotifier,
} from '@agent-canary/controller';
import type { RoutingAdapter } from '@agent-canary/conventions';
import type { GateEvaluator } from '@agent-canary/gate';
import {
  type ManualActionAnswer,
  type ManualActionHandler,
  readRolloutHistory,
  readRolloutSummary,
} from '@agent-canary/server';
import type { RolloutDefinition, RoutingDefinition } from './config.js';
import { EXIT_CODE } from './exit-codes.js';
import { CliFailure } from './output.js';
import type {
  ActionOutcome,
  Attribution,
  CliStore,
  ManualAction,
  OpenStore,
  OpenStoreContext,
  RolloutHistory,
  RolloutSummary,
} from './store.js';

// The CLI exported these before the report moved to the server package.
export { sharesOfLabel, toolMixOfSnapshot } from '@agent-canary/server';

/** Creates the routing adapter the controller writes splits with. */
export type RoutingFactory = (routing: RoutingDefinition) => RoutingAdapter | Promise<RoutingAdapter>;

/** Options of `controllerStoreOpener`. */
export interface ControllerStoreOptions {
  /**
   * Routing adapter per provider, used by `start` and the manual actions (reads need
   * none). When absent, those commands fail with exit code 3 and say why.
   */
  readonly routing?: RoutingFactory;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Environment the controller resolves rollout options with. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

// The CLI only starts rollouts and applies manual actions; evaluating the gate is the
// job of the process that sees the traffic, so an evaluation here is a bug.
const NO_GATE: GateEvaluator = {
  evaluate: () => Promise.reject(new Error('the agent-canary CLI does not evaluate the gate')),
};

/** What {@link actionController} needs. */
export interface ActionControllerOptions {
  readonly store: RolloutStore;
  /** Where the controller writes the split of an action. */
  readonly routing: RoutingAdapter;
  /** @default [] */
  readonly notifiers?: readonly Notifier[];
  /** @default Date.now */
  readonly clock?: () => number;
  /** Environment the controller resolves rollout options with. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A controller for starting rollouts and applying manual actions from outside the
 * process that serves traffic: it writes the store and the routing like any controller,
 * and never evaluates the gate (that process does).
 */
export function actionController(options: ActionControllerOptions): RolloutController {
  return new RolloutController({
    store: options.store,
    routing: options.routing,
    gate: NO_GATE,
    notifiers: options.notifiers ?? [],
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
}

/** What {@link storedRolloutActions} needs. */
export interface StoredRolloutActionsOptions {
  readonly store: RolloutStore;
  /** A controller on `store` that never ticks (its routing adapter writes the split). */
  readonly controller: () => Promise<RolloutController>;
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * Applies manual actions to any rollout of a store that another process drives: a
 * controller on the same store is restored for the rollout and acts, so the state machine,
 * the audit log, the routing write and the notifications are exactly those of the running
 * controller (which reads its state from the store on every tick). A finished rollout is
 * refused without restoring it (restoring would re-apply its final split over a newer
 * rollout's), and the refusal is audited like every other — except a rollback of a
 * rolled-back or aborted rollout, which re-asserts the stable split (the controller refuses
 * it when a newer rollout of the flag runs).
 */
export function storedRolloutActions(options: StoredRolloutActionsOptions): ManualActionHandler {
  const clock = options.clock ?? Date.now;
  return async (rolloutId, action, input): Promise<ManualActionAnswer | undefined> => {
    const record = options.store.getRollout(rolloutId);
    if (!record) return undefined;
    // A rollback of a rolled-back or aborted rollout re-asserts the stable split: the controller writes it.
    const reassert =
      action === 'rollback' && (record.state.phase === 'rolled_back' || record.state.phase === 'aborted');
    if (isFinalPhase(record.state.phase) && !reassert) {
      const hint = record.state.phase === 'promoted' ? '' : '; `rollout rollback` re-applies the stable split';
      const message = `rollout ${rolloutId} already ended (${record.state.phase})${hint}`;
      options.store.recordManualAction(rolloutId, {
        atMillis: clock(),
        action,
        actor: input.actor,
        reason: input.reason,
        accepted: false,
        outcome: message,
      });
      return {
        ok: false,
        error: { code: CONTROLLER_ERROR_CODE.invalidTransition, message },
        status: rolloutStatusOf(record),
      };
    }
    const controller = await options.controller();
    await controller.restore(rolloutId);
    return controller[action](input);
  };
}

class ControllerCliStore implements CliStore {
  private readonly store: RolloutStore;
  private readonly options: ControllerStoreOptions;
  private readonly context: OpenStoreContext;
  private routing: RoutingAdapter | undefined;

  constructor(path: string, options: ControllerStoreOptions, context: OpenStoreContext) {
    this.store = new RolloutStore({ path });
    this.options = options;
    this.context = context;
  }

  private async controller(routing: RoutingDefinition, webhookUrl: string | undefined): Promise<RolloutController> {
    if (!this.options.routing) {
      throw new CliFailure(
        'routing_unavailable',
        `no routing adapter is available in this build for provider "${routing.provider}"; ` +
          'starting a rollout or acting on one needs one',
        EXIT_CODE.runtime,
      );
    }
    this.routing ??= await this.options.routing(routing);
    return actionController({
      store: this.store,
      routing: this.routing,
      notifiers: webhookUrl ? [webhookNotifier({ url: webhookUrl })] : [],
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      ...(this.options.env ? { env: this.options.env } : {}),
    });
  }

  private summary(record: RolloutRecord): RolloutSummary {
    return readRolloutSummary(this.store, record);
  }

  async start(definition: RolloutDefinition, actor: string): Promise<RolloutSummary> {
    const id = definition.rollout.id;
    if (id !== undefined && this.store.getRollout(id)) {
      throw new CliFailure(
        'rollout_exists',
        `a rollout with id ${JSON.stringify(id)} is already in the store; choose another rolloutId`,
        EXIT_CODE.rolledBack,
      );
    }
    const controller = await this.controller(definition.routing, definition.notifications.webhookUrl);
    const status = await controller.start(definition.rollout, actor);
    const record = this.store.getRollout(status.rolloutId);
    if (!record) throw new Error(`rollout ${status.rolloutId} vanished from the store after start`);
    return this.summary(record);
  }

  async get(rolloutId: string): Promise<RolloutSummary | undefined> {
    const record = this.store.getRollout(rolloutId);
    return record ? this.summary(record) : undefined;
  }

  async list(): Promise<readonly RolloutSummary[]> {
    return this.store
      .listRollouts()
      .map((record) => this.summary(record))
      .sort((a, b) => b.updatedAtMillis - a.updatedAtMillis);
  }

  async act(rolloutId: string, action: ManualAction, by: Attribution): Promise<ActionOutcome> {
    const definition = this.context.definition;
    const act = storedRolloutActions({
      store: this.store,
      controller: () =>
        this.controller(
          definition?.routing ?? { provider: 'embedded', options: {} },
          definition?.notifications.webhookUrl,
        ),
      ...(this.options.clock ? { clock: this.options.clock } : {}),
    });
    const answer = await act(rolloutId, action, by);
    if (answer === undefined) return { accepted: false, reason: `no rollout ${rolloutId} in the store` };
    const after = this.store.getRollout(rolloutId);
    return {
      accepted: answer.ok,
      reason: answer.ok ? answer.status.reason : answer.error.message,
      ...(after ? { rollout: this.summary(after) } : {}),
    };
  }

  async history(rolloutId: string): Promise<RolloutHistory | undefined> {
    return readRolloutHistory(this.store, rolloutId);
  }

  async close(): Promise<void> {
    try {
      await this.routing?.close();
    } finally {
      this.store.close();
    }
  }
}

/**
 * Returns an `OpenStore` that opens the controller's SQLite store at a path.
 *
 * @example
 * const openStore = controllerStoreOpener({ routing: (routing) => new InMemoryRoutingAdapter() });
 */
export function controllerStoreOpener(options: ControllerStoreOptions = {}): OpenStore {
  return async (path, context) => {
    if (path !== ':memory:' && !existsSync(path)) {
      // Reading commands must not leave an empty database behind a mistyped path.
      if (!context.create) {
        throw new CliFailure(
          'store_not_found',
          `no rollout store at ${path} (pass --store <path> or set AGENT_CANARY_STORE)`,
          EXIT_CODE.runtime,
        );
      }
      mkdirSync(dirname(path), { recursive: true });
    }
    return new ControllerCliStore(path, options, context);
  };
}
