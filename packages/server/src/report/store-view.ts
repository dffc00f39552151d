/**
 * Reads the controller's SQLite store into the report model: one summary per rollout and
 * its history. The CLI's store adapter, the `report` command and the dashboard all read
 * rollouts through these functions.
 */
import {
  type RolloutRecord,
  type RolloutStore,
  rolloutStatusOf,
  type StoredTransition,
  type StoredVerdict,
  splitForPercent,
} from '@agent-canary/controller';
import type { GateResult, JsonValue } from '@agent-canary/gate';
import {
  type EvaluationRecord,
  type ReportSource,
  ROLLOUT_OUTCOME,
  type RolloutHistory,
  type RolloutOutcome,
  type RolloutSummary,
  type ToolMix,
  type TransitionRecord,
} from './model.js';

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

/** The summary of a stored rollout, given its latest gate result and whether a split awaits acknowledgement. */
export function summaryOfRecord(record: RolloutRecord, lastResult: GateResult | undefined): RolloutSummary {
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

/** The summary of a stored rollout, with its latest verdict read from the store (a pending routing write comes with the record). */
export function readRolloutSummary(store: RolloutStore, record: RolloutRecord): RolloutSummary {
  return summaryOfRecord(record, store.verdicts(record.id, 1)[0]?.result);
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
 * Tool mix per cohort from the gate's windows (`{ cohorts: { canary: { toolCallsByName:
 * { name: { calls } } } } }`, the shape every metric source answers with). Returns
 * undefined for any other shape, or when no tool was called.
 */
export function toolMixOfWindows(windows: unknown): ToolMix | undefined {
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

/**
 * Tool mix per cohort from a gate snapshot (`{ windows: <the gate's windows> }`, the
 * in-process source's shape, kept in a rollout's post-mortem). Returns undefined for any
 * other shape: the report then says no snapshot was kept.
 */
export function toolMixOfSnapshot(snapshot: JsonValue | undefined): ToolMix | undefined {
  return toolMixOfWindows(isRecord(snapshot) ? snapshot['windows'] : undefined);
}

/**
 * Everything the store keeps about one rollout, or undefined when it has no such rollout.
 * `verdicts`: the rollout's verdicts when the caller has them already (the dashboard reads
 * only the new ones on each update).
 */
export function readRolloutHistory(
  store: RolloutStore,
  rolloutId: string,
  verdicts: readonly StoredVerdict[] = store.verdicts(rolloutId),
): RolloutHistory | undefined {
  const record = store.getRollout(rolloutId);
  if (!record) return undefined;
  const transitions = store.transitions(rolloutId).map(transitionOf);
  const evaluations: EvaluationRecord[] = verdicts.map((verdict) => {
    // Verdicts do not store the split; it is the one of the latest transition before them.
    const before = transitions.filter((transition) => transition.atMillis <= verdict.atMillis).at(-1);
    return {
      atMillis: verdict.atMillis,
      canaryPercent: before?.canaryPercent ?? 0,
      controlPercent: before?.controlPercent ?? 0,
      result: verdict.result,
    };
  });
  const toolMix = toolMixOfSnapshot(store.getPostMortem(rolloutId)?.gateSnapshot);
  return { steps: record.config.steps, transitions, evaluations, ...(toolMix ? { toolMix } : {}) };
}

/** A {@link ReportSource} (plus a listing) over the controller's store. */
export interface StoreReportSource extends ReportSource {
  /** Every rollout, most recently updated first. */
  list(): Promise<readonly RolloutSummary[]>;
}

/**
 * Reads rollouts from the controller's store for the report and the dashboard.
 *
 * @example
 * const data = await buildReportData(storeReportSource(store), 'support-agent-7f3a');
 */
export function storeReportSource(store: RolloutStore): StoreReportSource {
  return {
    async get(rolloutId) {
      const record = store.getRollout(rolloutId);
      return record ? readRolloutSummary(store, record) : undefined;
    },
    async list() {
      return store
        .listRollouts()
        .map((record) => readRolloutSummary(store, record))
        .sort((a, b) => b.updatedAtMillis - a.updatedAtMillis);
    },
    async history(rolloutId) {
      return readRolloutHistory(store, rolloutId);
    },
  };
}
