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
  type StoredVerdict,
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
import { buildReportData, type ReportData, thinCheckSeries } from '../report/data.js';
import type { RolloutSummary, ToolMix } from '../report/model.js';
import { readRolloutHistory, readRolloutSummary, toolMixOfWindows } from '../report/store-view.js';

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
/** Points per check series a rollout page draws at most (its charts are a few hundred pixels wide). */
const MAX_POINTS_PER_SERIES = 300;
/** How long a running rollout's document may be served again unchanged: its "now" moves. */
const RUNNING_VERSION_MILLIS = 5000;

/**
 * What a rollout's document depends on, cheap to read: its record's last update, its
 * latest verdict, its pending routing writes, and for a running rollout the time (in
 * steps of 5 s). The same version gives the same document, so it can be cached and
 * answered with 304 Not Modified.
 */
export function rolloutVersion(store: RolloutStore, rolloutId: string, nowMillis: number): string | undefined {
  const record = store.getRollout(rolloutId);
  if (record === undefined) return undefined;
  const latest = store.verdicts(rolloutId, 1)[0]?.seq ?? 0;
  const pending = store.pendingEffects(rolloutId).length;
  const running = isFinalPhase(record.state.phase) ? 'final' : String(Math.floor(nowMillis / RUNNING_VERSION_MILLIS));
  return `${record.updatedAtMillis}.${latest}.${pending}.${running}`;
}

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
 * The verdicts of the rollouts a dashboard shows, kept between updates so each update
 * reads (and parses) only the verdicts stored since the last one: a long rollout has
 * thousands. Holds the `maxRollouts` most recently read rollouts.
 */
export class VerdictCache {
  private readonly entries = new Map<string, StoredVerdict[]>();

  /** @param maxRollouts rollouts whose verdicts are kept @default 4 */
  constructor(private readonly maxRollouts = 4) {}

  /** Every verdict of the rollout, oldest first. */
  verdicts(store: RolloutStore, rolloutId: string): readonly StoredVerdict[] {
    const known = this.entries.get(rolloutId);
    let verdicts: StoredVerdict[];
    if (known === undefined) verdicts = store.verdicts(rolloutId);
    else {
      const lastSeq = known.at(-1)?.seq ?? Number.NEGATIVE_INFINITY;
      // Read the latest few; more only when all of them are new.
      let latest: StoredVerdict[];
      for (let count = 64; ; count *= 4) {
        latest = store.verdicts(rolloutId, count);
        if (latest.length < count || (latest[0]?.seq ?? 0) <= lastSeq) break;
      }
      verdicts = [...known, ...latest.filter((verdict) => verdict.seq > lastSeq)];
    }
    this.entries.delete(rolloutId);
    this.entries.set(rolloutId, verdicts);
    while (this.entries.size > this.maxRollouts) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return verdicts;
  }
}

/**
 * One rollout with its report data (each check series thinned to about 300 points), or
 * undefined when the store has no such rollout. A running rollout's tool mix is read from
 * `metricSource` (since the rollout started) when one is given; a finished one's comes
 * from its post-mortem. With a `cache`, only the verdicts stored since its last read are read.
 */
export async function rolloutDocument(
  store: RolloutStore,
  rolloutId: string,
  nowMillis: number,
  metricSource?: MetricSource,
  cache?: VerdictCache,
): Promise<RolloutDocument | undefined> {
  const record = store.getRollout(rolloutId);
  if (record === undefined) return undefined;
  const verdicts = cache === undefined ? store.verdicts(rolloutId) : cache.verdicts(store, rolloutId);
  const source = {
    get: async () => readRolloutSummary(store, record),
    history: async () => readRolloutHistory(store, rolloutId, verdicts),
  };
  const full = await buildReportData(source, rolloutId, nowMillis);
  if (full === undefined) return undefined;
  const report = {
    ...full,
    checks: thinCheckSeries(full.checks, MAX_POINTS_PER_SERIES, full.startMillis, full.endMillis),
  };
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
