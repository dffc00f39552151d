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
  isFinalPhase,
  type Notifier,
  RolloutController,
  type RolloutRecord,
  RolloutStore,
  rolloutStatusOf,
  type StoredTransition,
  splitForPercent,
  webhookNotifier,
} from '@agent-canary/controller';
import type { RoutingAdapter } from '@agent-canary/conventions';
import type { GateEvaluator, GateResult, JsonValue } from '@agent-canary/gate';
import type { RolloutDefinition, RoutingDefinition } from './config.js';
import { EXIT_CODE } from './exit-codes.js';
import { CliFailure } from './output.js';
import {
  type ActionOutcome,
  type Attribution,
  type CliStore,
  type EvaluationRecord,
  type ManualAction,
  type OpenStore,
  type OpenStoreContext,
  ROLLOUT_OUTCOME,
  type RolloutHistory,
  type RolloutOutcome,
  type RolloutSummary,
  type ToolMix,
  type TransitionRecord,
} from './store.js';

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

const OUTCOME_OF_PHASE: Readonly<Record<string, RolloutOutcome>> = {
  promoted: ROLLOUT_OUTCOME.promoted,
  rolled_back: ROLLOUT_OUTCOME.rolledBack,
  aborted: ROLLOUT_OUTCOME.aborted,
};

/**
 * Shares (percent) encoded in a transition label such as `canary@20%`, `paused@5%`,
 * `promoted`: the fallback for transitions stored before the store kept the split.
 */
export function sharesOfLabel(label: string): { canaryPercent: number; controlPercent: number } {
  if (label === 'promoted') return { canaryPercent: 100, controlPercent: 0 };
  const match = /@(\d+(?:\.\d+)?)%$/.exec(label);
  if (!match) return { canaryPercent: 0, controlPercent: 0 };
  const canaryPercent = Number(match[1]);
  return { canaryPercent, controlPercent: splitForPercent(canaryPercent).controlBasisPoints / 100 };
}

function summaryOf(record: RolloutRecord, lastResult: GateResult | undefined): RolloutSummary {
  const state = record.state;
  const outcome = OUTCOME_OF_PHASE[state.phase];
  const { routing } = rolloutStatusOf(record);
  return {
    id: record.id,
    flagKey: record.flagKey,
    canaryRelease: record.config.canaryRelease,
    stableRelease: record.config.stableRelease,
    state: state.awaitingApproval && state.phase === 'canary' ? 'awaiting_approval' : state.phase,
    stepIndex: state.stepIndex,
    stepCount: record.config.steps.length,
    canaryPercent: state.phase === 'promoted' ? 100 : state.canaryBasisPoints / 100,
    ...(outcome ? { outcome } : {}),
    ...(state.startedAtMillis === undefined ? {} : { startedAtMillis: state.startedAtMillis }),
    updatedAtMillis: state.updatedAtMillis,
    ...(lastResult ? { lastResult } : {}),
    ...(routing.pending ? { routingPending: true, routing } : {}),
  };
}

function transitionOf(stored: StoredTransition): TransitionRecord {
  return {
    atMillis: stored.atMillis,
    from: stored.from,
    to: stored.to,
    cause: stored.trigger,
    actor: stored.actor,
    reason: stored.reason,
    ...(stored.canaryBasisPoints === undefined || stored.controlBasisPoints === undefined
      ? sharesOfLabel(stored.to)
      : { canaryPercent: stored.canaryBasisPoints / 100, controlPercent: stored.controlBasisPoints / 100 }),
    ...(stored.evidence ? { result: stored.evidence } : {}),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Tool mix per cohort from a gate snapshot (`{ windows: { cohorts: { canary: {
 * toolCallsByName: { name: { calls } } } } } }`, the in-process source's shape). Returns
 * undefined for any other shape: the report then says no snapshot was kept.
 */
export function toolMixOfSnapshot(snapshot: JsonValue | undefined): ToolMix | undefined {
  const windows = isRecord(snapshot) ? snapshot['windows'] : undefined;
  const cohorts = isRecord(windows) ? windows['cohorts'] : undefined;
  if (!isRecord(cohorts)) return undefined;
  const calls = (cohort: string): Map<string, number> => {
    const byName = isRecord(cohorts[cohort])
      ? (cohorts[cohort] as Record<string, unknown>)['toolCallsByName']
      : undefined;
    const out = new Map<string, number>();
    if (!isRecord(byName)) return out;
    for (const [name, counts] of Object.entries(byName)) {
      const value = isRecord(counts) ? counts['calls'] : undefined;
      if (typeof value === 'number' && value > 0) out.set(name, value);
    }
    return out;
  };
  const canary = calls('canary');
  const control = calls('control');
  const tools = [...new Set([...canary.keys(), ...control.keys()])].sort(
    (a, b) => (control.get(b) ?? 0) + (canary.get(b) ?? 0) - (control.get(a) ?? 0) - (canary.get(a) ?? 0),
  );
  if (tools.length === 0) return undefined;
  const shares = (counts: Map<string, number>) => {
    const total = [...counts.values()].reduce((sum, value) => sum + value, 0);
    return tools.map((tool) => (total > 0 ? (counts.get(tool) ?? 0) / total : 0));
  };
  return { tools, share: { canary: shares(canary), control: shares(control) } };
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
    const notifiers: Notifier[] = webhookUrl ? [webhookNotifier({ url: webhookUrl })] : [];
    return new RolloutController({
      store: this.store,
      routing: this.routing,
      gate: NO_GATE,
      notifiers,
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      ...(this.options.env ? { env: this.options.env } : {}),
    });
  }

  private lastResult(rolloutId: string): GateResult | undefined {
    return this.store.verdicts(rolloutId, 1)[0]?.result;
  }

  private summary(record: RolloutRecord): RolloutSummary {
    return summaryOf(record, this.lastResult(record.id));
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
    const record = this.store.getRollout(rolloutId);
    if (!record) return { accepted: false, reason: `no rollout ${rolloutId} in the store` };
    // A rollback of a rolled-back or aborted rollout re-asserts the stable split: the controller writes it.
    const reassert =
      action === 'rollback' && (record.state.phase === 'rolled_back' || record.state.phase === 'aborted');
    if (isFinalPhase(record.state.phase) && !reassert) {
      // Refused here, as the reducer would, without needing a routing adapter to restore
      // the controller first; still audited like every refused action.
      const hint = record.state.phase === 'promoted' ? '' : '; `rollout rollback` re-applies the stable split';
      const reason = `rollout ${rolloutId} already ended (${record.state.phase})${hint}`;
      this.store.recordManualAction(rolloutId, {
        atMillis: (this.options.clock ?? Date.now)(),
        action,
        actor: by.actor,
        reason: by.reason,
        accepted: false,
        outcome: reason,
      });
      return { accepted: false, reason, rollout: this.summary(record) };
    }
    const definition = this.context.definition;
    const controller = await this.controller(
      definition?.routing ?? { provider: 'embedded', options: {} },
      definition?.notifications.webhookUrl,
    );
    await controller.restore(rolloutId);
    const result = await controller[action](by);
    const after = this.store.getRollout(rolloutId) ?? record;
    return {
      accepted: result.ok,
      reason: result.ok ? result.status.reason : result.error.message,
      rollout: this.summary(after),
    };
  }

  async history(rolloutId: string): Promise<RolloutHistory | undefined> {
    const record = this.store.getRollout(rolloutId);
    if (!record) return undefined;
    const transitions = this.store.transitions(rolloutId).map(transitionOf);
    const evaluations: EvaluationRecord[] = this.store.verdicts(rolloutId).map((verdict) => {
      // Verdicts do not store the split; it is the one of the latest transition before them.
      const before = transitions.filter((transition) => transition.atMillis <= verdict.atMillis).at(-1);
      return {
        atMillis: verdict.atMillis,
        canaryPercent: before?.canaryPercent ?? 0,
        controlPercent: before?.controlPercent ?? 0,
        result: verdict.result,
      };
    });
    const toolMix = toolMixOfSnapshot(this.store.getPostMortem(rolloutId)?.gateSnapshot);
    return { steps: record.config.steps, transitions, evaluations, ...(toolMix ? { toolMix } : {}) };
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
