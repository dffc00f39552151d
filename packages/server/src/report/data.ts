/**
 * The model behind `agent-canary report`: everything the HTML report draws, built from
 * what the controller persisted (transitions, gate evaluations with their evidence).
 */

import type { RolloutStep } from '@agent-canary/controller';
import type { Cohort, Verdict } from '@agent-canary/conventions';
import type { CheckEvidence, CheckMethod, GateResult } from '@agent-canary/gate';
import type { ReportSource, RolloutOutcome, RolloutSummary, ToolMix } from './model.js';

/** Traffic shares at one instant, in percent (they sum to 100). */
export interface SharePoint {
  readonly atMillis: number;
  readonly stable: number;
  readonly canary: number;
  readonly control: number;
}

/** Requests per cohort in the window of one gate evaluation. */
export interface RequestPoint {
  readonly atMillis: number;
  readonly requests: Readonly<Record<Cohort, number>>;
}

/** One check at one evaluation. */
export interface CheckPoint {
  readonly atMillis: number;
  readonly verdict: Verdict;
  /** Measured value in the canary cohort. */
  readonly canary?: number;
  /** Measured value in the control cohort. */
  readonly control?: number;
  readonly threshold?: CheckEvidence['threshold'];
  /** Sequential checks: e-value and its boundary 1/alpha. */
  readonly statistic?: CheckEvidence['statistic'];
  readonly effect?: CheckEvidence['effect'];
}

/** One gate check over the rollout. */
export interface CheckSeries {
  readonly check: string;
  readonly method: CheckMethod;
  /** Unit of analysis of the samples (`request`, `subject`, `tool_call`). */
  readonly unit: string;
  readonly points: readonly CheckPoint[];
}

/** One decision (state transition) and the evidence behind it. */
export interface ReportDecision {
  readonly atMillis: number;
  readonly from: string;
  readonly to: string;
  readonly cause: string;
  readonly actor: string;
  readonly reason: string;
  /** Gate verdict behind an automatic decision. */
  readonly verdict?: Verdict;
  readonly evidence: readonly CheckEvidence[];
}

/** Everything `renderReportHtml` draws. JSON-serialisable. */
export interface ReportData {
  readonly generatedAtMillis: number;
  readonly rollout: {
    readonly id: string;
    readonly flagKey: string;
    readonly canaryRelease: string;
    readonly stableRelease: string;
    readonly state: string;
    readonly outcome?: RolloutOutcome;
    readonly stepIndex: number;
    readonly stepCount: number;
    readonly canaryPercent: number;
    /** The configured steps, when the definition was stored. */
    readonly steps: readonly RolloutStep[];
    /**
     * Present while the flag system has not acknowledged the controller's latest split: what it
     * still routes (percent; absent when unknown) and since when the split waits.
     */
    readonly routingPending?: {
      readonly sinceMillis?: number;
      readonly routedCanaryPercent?: number;
      readonly routedControlPercent?: number;
      readonly lastError?: string;
    };
  };
  /** Origin of every time axis (first transition or evaluation). */
  readonly startMillis: number;
  /** Last instant covered by the report. */
  readonly endMillis: number;
  readonly share: readonly SharePoint[];
  readonly requests: readonly RequestPoint[];
  /** Gate checks (threshold, sequential, drift, sample ratio), in first-seen order. */
  readonly checks: readonly CheckSeries[];
  readonly toolMix?: ToolMix;
  readonly decisions: readonly ReportDecision[];
}

function toShare(atMillis: number, canaryPercent: number, controlPercent: number): SharePoint {
  const canary = clampPercent(canaryPercent);
  const control = clampPercent(Math.min(controlPercent, 100 - canary));
  return { atMillis, canary, control, stable: clampPercent(100 - canary - control) };
}

function clampPercent(value: number): number {
  return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : 0;
}

function checkPoint(atMillis: number, evidence: CheckEvidence): CheckPoint {
  const canary = evidence.measurements.find((measurement) => measurement.cohort === 'canary')?.value;
  const control = evidence.measurements.find((measurement) => measurement.cohort === 'control')?.value;
  return {
    atMillis,
    verdict: evidence.verdict,
    ...(canary === undefined ? {} : { canary }),
    ...(control === undefined ? {} : { control }),
    ...(evidence.threshold ? { threshold: evidence.threshold } : {}),
    ...(evidence.statistic ? { statistic: evidence.statistic } : {}),
    ...(evidence.effect ? { effect: evidence.effect } : {}),
  };
}

/**
 * One point per instant (the last written wins) and none that repeats the previous
 * split: a stepped chart of the result is the same, without coincident points.
 */
function dedupeShares(points: readonly SharePoint[]): SharePoint[] {
  const out: SharePoint[] = [];
  for (const point of points) {
    const previous = out.at(-1);
    if (previous && previous.atMillis === point.atMillis) out[out.length - 1] = point;
    else if (!previous || previous.canary !== point.canary || previous.control !== point.control) out.push(point);
  }
  // A repeat removed above may have been the last point; the caller carries the split to the end.
  return out;
}

/** Groups the checks of successive gate results into one series per check, method and unit. */
export function checkSeriesOf(results: readonly GateResult[]): CheckSeries[] {
  const series = new Map<string, { check: string; method: CheckMethod; unit: string; points: CheckPoint[] }>();
  for (const result of results) {
    for (const evidence of result.checks) {
      // One check can be judged twice (a sequential test of the failure rate and an
      // absolute limit on the success rate): different quantities, so different series.
      const key = JSON.stringify([evidence.check, evidence.method, evidence.unit]);
      let entry = series.get(key);
      if (!entry) {
        entry = { check: evidence.check, method: evidence.method, unit: evidence.unit, points: [] };
        series.set(key, entry);
      }
      entry.points.push(checkPoint(result.evaluatedAtMillis, evidence));
    }
  }
  return [...series.values()];
}

/**
 * Thins each series to about `maxPoints` points, for charts a few hundred pixels wide
 * (a long rollout evaluates thousands of times): the time range is cut into
 * `maxPoints / 2` equal buckets, each keeping its last point and its highest e-value, and
 * every failing point is kept (the charts mark them). Series at or under `maxPoints`
 * are returned as they are.
 */
export function thinCheckSeries(
  series: readonly CheckSeries[],
  maxPoints: number,
  startMillis: number,
  endMillis: number,
): CheckSeries[] {
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const width = Math.max(1, endMillis - startMillis) / buckets;
  return series.map((entry) => {
    if (entry.points.length <= maxPoints) return entry;
    const keep = new Set<number>();
    const last = new Map<number, number>();
    const peak = new Map<number, number>();
    entry.points.forEach((point, index) => {
      const bucket = Math.min(buckets - 1, Math.max(0, Math.floor((point.atMillis - startMillis) / width)));
      last.set(bucket, index);
      const best = peak.get(bucket);
      const eValue = point.statistic?.eValue;
      if (eValue !== undefined && (best === undefined || eValue > (entry.points[best]?.statistic?.eValue ?? -1))) {
        peak.set(bucket, index);
      }
      if (point.verdict === 'fail') keep.add(index);
    });
    for (const index of [...last.values(), ...peak.values()]) keep.add(index);
    return { ...entry, points: entry.points.filter((_, index) => keep.has(index)) };
  });
}

/**
 * Reads one rollout's history from the store into the report model.
 * @returns undefined when the store has no such rollout
 */
export async function buildReportData(
  store: ReportSource,
  rolloutId: string,
  nowMillis: number = Date.now(),
): Promise<ReportData | undefined> {
  const [rollout, history] = await Promise.all([store.get(rolloutId), store.history(rolloutId)]);
  if (!rollout || !history) return undefined;
  const evaluations = [...history.evaluations].sort((a, b) => a.atMillis - b.atMillis);
  const transitions = [...history.transitions].sort((a, b) => a.atMillis - b.atMillis);
  // Evaluations first: at equal times the transition is the consequence, so its split wins
  // (the sort is stable).
  const sorted = [
    ...evaluations.map((evaluation) =>
      toShare(evaluation.atMillis, evaluation.canaryPercent, evaluation.controlPercent),
    ),
    ...transitions.map((transition) =>
      toShare(transition.atMillis, transition.canaryPercent, transition.controlPercent),
    ),
  ].sort((a, b) => a.atMillis - b.atMillis);
  const share = dedupeShares(sorted);
  const times = [...transitions.map((t) => t.atMillis), ...evaluations.map((e) => e.atMillis)];
  const startMillis = times.length > 0 ? Math.min(...times) : (rollout.startedAtMillis ?? rollout.updatedAtMillis);
  const endMillis =
    rollout.outcome === undefined
      ? Math.max(nowMillis, ...times, startMillis)
      : Math.max(...times, rollout.updatedAtMillis, startMillis);
  const last = share.at(-1);
  // Carry the last share to the end so a running or finished rollout's timeline reaches "now".
  if (last && last.atMillis < endMillis) share.push({ ...last, atMillis: endMillis });
  return {
    generatedAtMillis: nowMillis,
    rollout: {
      id: rollout.id,
      flagKey: rollout.flagKey,
      canaryRelease: rollout.canaryRelease,
      stableRelease: rollout.stableRelease,
      state: rollout.state,
      ...(rollout.outcome ? { outcome: rollout.outcome } : {}),
      stepIndex: rollout.stepIndex,
      stepCount: rollout.stepCount,
      canaryPercent: rollout.canaryPercent,
      steps: history.steps,
      ...(rollout.routingPending ? { routingPending: routingPendingOf(rollout) } : {}),
    },
    startMillis,
    endMillis,
    share,
    requests: evaluations.map((evaluation) => ({
      atMillis: evaluation.atMillis,
      requests: evaluation.result.requests,
    })),
    checks: checkSeriesOf(evaluations.map((evaluation) => evaluation.result)),
    ...(history.toolMix ? { toolMix: history.toolMix } : {}),
    decisions: transitions.map((transition) => ({
      atMillis: transition.atMillis,
      from: transition.from,
      to: transition.to,
      cause: transition.cause,
      actor: transition.actor,
      reason: transition.reason,
      ...(transition.result ? { verdict: transition.result.verdict } : {}),
      evidence: transition.result?.checks ?? [],
    })),
  };
}

function routingPendingOf(rollout: RolloutSummary): NonNullable<ReportData['rollout']['routingPending']> {
  const routing = rollout.routing;
  return {
    ...(routing?.pendingSinceMillis === undefined ? {} : { sinceMillis: routing.pendingSinceMillis }),
    ...(routing?.routed === undefined
      ? {}
      : {
          routedCanaryPercent: routing.routed.canaryBasisPoints / 100,
          routedControlPercent: routing.routed.controlBasisPoints / 100,
        }),
    ...(routing?.lastError === undefined ? {} : { lastError: routing.lastError }),
  };
}
