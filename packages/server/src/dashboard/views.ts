/**
 * The JSON documents the dashboard's pages poll: the rollout list, one rollout with its
 * report data, and the release registry with the drift monitors. Read-only: every
 * document is built from the store at the time of the request.
 */
import {
  isFinalPhase,
  type RolloutConfig,
  type RolloutRecord,
  type RolloutStore,
  rolloutStatusOf,
} from '@agent-canary/controller';
import type { Verdict } from '@agent-canary/conventions';
import type { MetricSource } from '@agent-canary/gate';
import {
  currentStableRelease,
  type DriftEvidence,
  listReleases,
  type MonitorAlertRecord,
  type MonitorSignal,
  type MonitorStatus,
  type ReleaseRecord,
  readMonitorStatus,
} from '@agent-canary/monitor';
import { buildReportData, type ReportData } from '../report/data.js';
import type { RolloutSummary, ToolMix } from '../report/model.js';
import { readRolloutSummary, storeReportSource, toolMixOfWindows } from '../report/store-view.js';

/** One rollout as the dashboard lists it. */
export interface DashboardRollout extends Omit<RolloutSummary, 'lastResult'> {
  /** Verdict of the latest gate evaluation. */
  readonly lastVerdict?: Verdict;
  readonly lastEvaluatedAtMillis?: number;
  /** The latest gate evaluation's one-sentence summary. */
  readonly lastReason?: string;
  /** Checks whose latest verdict is `fail`. */
  readonly failingChecks: readonly string[];
  /**
   * Every field of the controller's status of the rollout except its configuration, as
   * the controller reports it: the pages show them all, so a field added later shows too.
   */
  readonly status: Readonly<Record<string, unknown>>;
}

/** `GET /dashboard/api/rollouts`. */
export interface RolloutListDocument {
  /** The dashboard clock's now, for ages. */
  readonly nowMillis: number;
  /** Most recently updated first. */
  readonly rollouts: readonly DashboardRollout[];
}

/** `GET /dashboard/api/rollouts/:id`. */
export interface RolloutDocument {
  readonly nowMillis: number;
  readonly rollout: DashboardRollout;
  /** The rollout's configuration with the controller's defaults applied. */
  readonly config: RolloutConfig;
  /** Everything the report draws. */
  readonly report: ReportData;
}

/** A drift monitor of the store, with its latest alerts. */
export interface DashboardMonitor extends MonitorStatus {
  /** The latest alerts, open or cleared, newest first (at most 20). */
  readonly recentAlerts: readonly MonitorAlertRecord[];
}

/** The release serving everyone outside a canary, per release flag. */
export interface StableReleaseView {
  /** Absent when the store knows no rollout (the release was marked stable by hand). */
  readonly flagKey?: string;
  readonly release: string;
  readonly sinceMillis: number;
  readonly rolloutId?: string;
}

/** `GET /dashboard/api/releases`. */
export interface ReleasesDocument {
  readonly nowMillis: number;
  readonly stable: readonly StableReleaseView[];
  /** Newest first. */
  readonly releases: readonly ReleaseRecord[];
  readonly monitors: readonly DashboardMonitor[];
}

const RECENT_ALERTS = 20;

function dashboardRollout(store: RolloutStore, record: RolloutRecord): DashboardRollout {
  const { lastResult, ...summary } = readRolloutSummary(store, record);
  const { config: _config, ...status } = rolloutStatusOf(record);
  return {
    ...summary,
    ...(lastResult === undefined
      ? {}
      : {
          lastVerdict: lastResult.verdict,
          lastEvaluatedAtMillis: lastResult.evaluatedAtMillis,
          lastReason: lastResult.reason,
        }),
    failingChecks: (lastResult?.checks ?? []).filter((check) => check.verdict === 'fail').map((check) => check.check),
    status,
  };
}

/** The rollout list. */
export function rolloutListDocument(store: RolloutStore, nowMillis: number): RolloutListDocument {
  const rollouts = store
    .listRollouts()
    .map((record) => dashboardRollout(store, record))
    .sort((a, b) => b.updatedAtMillis - a.updatedAtMillis);
  return { nowMillis, rollouts };
}

/**
 * One rollout with its report data, or undefined when the store has no such rollout. A
 * running rollout's tool mix is read from `metricSource` (since the rollout started) when
 * one is given; a finished one's comes from its post-mortem.
 */
export async function rolloutDocument(
  store: RolloutStore,
  rolloutId: string,
  nowMillis: number,
  metricSource?: MetricSource,
): Promise<RolloutDocument | undefined> {
  const record = store.getRollout(rolloutId);
  if (record === undefined) return undefined;
  const report = await buildReportData(storeReportSource(store), rolloutId, nowMillis);
  if (report === undefined) return undefined;
  const toolMix =
    report.toolMix === undefined && !isFinalPhase(record.state.phase) && metricSource !== undefined
      ? await liveToolMix(metricSource, record, nowMillis)
      : undefined;
  return {
    nowMillis,
    rollout: dashboardRollout(store, record),
    config: record.config,
    report: toolMix === undefined ? report : { ...report, toolMix },
  };
}

async function liveToolMix(
  source: MetricSource,
  record: RolloutRecord,
  nowMillis: number,
): Promise<ToolMix | undefined> {
  const read = await source.read({
    flagKey: record.flagKey,
    rolloutId: record.id,
    releases: { canary: record.config.canaryRelease, stable: record.config.stableRelease },
    sinceMillis: record.state.startedAtMillis ?? record.createdAtMillis,
    untilMillis: nowMillis,
  });
  return read.ok ? toolMixOfWindows(read.windows) : undefined;
}

/** The release registry, the stable release of each flag, and the drift monitors with their alerts. */
export function releasesDocument(store: RolloutStore, nowMillis: number): ReleasesDocument {
  const flags = [...new Set(store.listRollouts().map((rollout) => rollout.flagKey))].sort();
  const stable: StableReleaseView[] = [];
  for (const flagKey of flags) {
    const current = currentStableRelease(store, flagKey);
    if (current !== undefined) stable.push({ flagKey, ...current });
  }
  if (flags.length === 0) {
    const current = currentStableRelease(store);
    if (current !== undefined) stable.push(current);
  }
  const monitors = store.monitorIds().map((monitorId) => ({
    ...readMonitorStatus(store, monitorId),
    recentAlerts: store.monitorAlerts<MonitorSignal, DriftEvidence>(monitorId).slice(-RECENT_ALERTS).reverse(),
  }));
  return {
    nowMillis,
    stable,
    releases: listReleases(store).sort((a, b) => b.createdAtMillis - a.createdAtMillis),
    monitors,
  };
}
