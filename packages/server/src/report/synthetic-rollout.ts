/**
 * A seeded, synthetic rollout history (for report and dashboard tests): 5% -> 20% -> 50%, gate
 * evaluations every 30 s, and a tool-success regression that crosses its sequential
 * boundary at the 50% step and rolls back. Not a simulation of the statistics: the
 * numbers only need the shapes the real gate writes.
 */

import type { Cohort, Verdict } from '@agent-canary/conventions';
import type { CheckEvidence, GateResult } from '@agent-canary/gate';
import type { EvaluationRecord, ReportSource, RolloutHistory, RolloutSummary, TransitionRecord } from './model.js';

/** A deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of `syntheticRollout`. */
export interface SyntheticRolloutOptions {
  readonly seed?: number;
  readonly startMillis?: number;
  /** Names used for the releases (tests put hostile strings here). */
  readonly canaryRelease?: string;
  readonly stableRelease?: string;
  readonly rolloutId?: string;
  /** Reason written on the manual pause (hostile strings too). */
  readonly pauseReason?: string;
}

/** One synthetic rollout: its summary and history. */
export interface SyntheticRollout {
  readonly summary: RolloutSummary;
  readonly history: RolloutHistory;
  readonly endMillis: number;
}

const STEP_MINUTES = [0, 10, 22] as const;
const PERCENTS = [5, 20, 50] as const;

/** Builds the synthetic rollout. */
export function syntheticRollout(options: SyntheticRolloutOptions = {}): SyntheticRollout {
  const random = prng(options.seed ?? 7);
  const start = options.startMillis ?? Date.UTC(2026, 10, 26, 9, 0, 0);
  const id = options.rolloutId ?? 'support-agent-7f3a';
  const canaryRelease = options.canaryRelease ?? 'support-v2';
  const stableRelease = options.stableRelease ?? 'support-v1';
  const minute = 60_000;
  const evaluations: EvaluationRecord[] = [];
  const transitions: TransitionRecord[] = [
    {
      atMillis: start,
      from: 'draft',
      to: 'canary@5%',
      cause: 'start',
      actor: 'alice',
      reason: 'rollout started at 5%',
      canaryPercent: 5,
      controlPercent: 5,
    },
  ];
  let eTool = 1;
  let eError = 1;
  let eLatency = 1;
  let eMix = 1;
  let rolledBackAt: number | undefined;
  for (let t = 30_000; t <= 34 * minute; t += 30_000) {
    const at = start + t;
    const step = t >= STEP_MINUTES[2] * minute ? 2 : t >= STEP_MINUTES[1] * minute ? 1 : 0;
    const percent = PERCENTS[step];
    const regressed = step === 2 && t >= 25 * minute;
    const windowRequests = Math.round((t / 1000) * 4);
    const requests: Record<Cohort, number> = {
      canary: Math.round((windowRequests * percent) / 100),
      control: Math.round((windowRequests * percent) / 100 + random() * 6 - 3),
      stable: Math.round((windowRequests * (100 - 2 * percent)) / 100),
    };
    const noise = () => (random() - 0.5) * 0.004;
    const errorCanary = 0.006 + noise();
    const errorControl = 0.005 + noise();
    const toolCanary = regressed ? 0.86 + noise() : 0.975 + noise();
    const toolControl = 0.976 + noise();
    eTool = regressed ? eTool * (2.1 + random()) : Math.max(0.05, eTool * (0.9 + random() * 0.15));
    eError = Math.max(0.05, eError * (0.92 + random() * 0.14));
    eLatency = Math.max(0.05, eLatency * (0.93 + random() * 0.14));
    eMix = regressed ? eMix * 1.3 : Math.max(0.1, eMix * (0.95 + random() * 0.1));
    const boundary = (alpha: number) => 1 / alpha;
    const verdictOf = (e: number, alpha: number, samples: number): Verdict =>
      e >= boundary(alpha) ? 'fail' : samples < 50 ? 'inconclusive' : e > boundary(alpha) / 4 ? 'warn' : 'pass';
    const checks: CheckEvidence[] = [
      {
        check: 'error_rate',
        method: 'sequential',
        verdict: verdictOf(eError, 0.0025, requests.canary),
        unit: 'subject',
        measurements: [
          { cohort: 'canary', value: errorCanary, samples: requests.canary },
          { cohort: 'control', value: errorControl, samples: requests.control },
        ],
        threshold: { operator: '<', value: 0.01 },
        statistic: { eValue: eError, boundary: boundary(0.0025), alpha: 0.0025 },
        effect: { name: 'relative_risk', value: errorCanary / errorControl, lower: 0.6, upper: 1.9 },
        reason: `error_rate: canary ${(errorCanary * 100).toFixed(2)}% vs control ${(errorControl * 100).toFixed(2)}%.`,
      },
      {
        check: 'latency_p99',
        method: 'sequential',
        verdict: verdictOf(eLatency, 0.002, requests.canary),
        unit: 'subject',
        measurements: [
          { cohort: 'canary', value: 2100 + random() * 300, samples: requests.canary },
          { cohort: 'control', value: 2050 + random() * 300, samples: requests.control },
        ],
        threshold: { operator: '<', value: 3000 },
        statistic: { eValue: eLatency, boundary: boundary(0.002), alpha: 0.002 },
        reason: 'latency_p99: canary and control within 10%.',
      },
      {
        check: 'tool_success_rate',
        method: 'sequential',
        verdict: verdictOf(eTool, 0.0025, requests.canary),
        unit: 'tool_call',
        measurements: [
          { cohort: 'canary', value: toolCanary, samples: requests.canary * 2 },
          { cohort: 'control', value: toolControl, samples: requests.control * 2 },
        ],
        threshold: { operator: '>', value: 0.95 },
        statistic: { eValue: eTool, boundary: boundary(0.0025), alpha: 0.0025 },
        reason: regressed
          ? `tool_success_rate: canary ${(toolCanary * 100).toFixed(1)}% vs control ${(toolControl * 100).toFixed(1)}%; lookup_order fails more often.`
          : 'tool_success_rate: no difference detected.',
      },
      {
        check: 'refusal_rate',
        method: 'threshold',
        verdict: requests.canary < 50 ? 'inconclusive' : 'pass',
        unit: 'request',
        measurements: [
          { cohort: 'canary', value: 0.02 + noise(), samples: requests.canary },
          { cohort: 'control', value: 0.021 + noise(), samples: requests.control },
        ],
        threshold: { operator: '<', value: 0.05 },
        reason: 'refusal_rate: below the 5% limit.',
      },
      {
        check: 'tool_mix',
        method: 'drift',
        verdict: regressed ? 'warn' : 'pass',
        unit: 'tool_call',
        measurements: [
          { cohort: 'canary', value: regressed ? 0.11 : 0.03 + random() * 0.02, samples: requests.canary * 2 },
          { cohort: 'control', value: 0, samples: requests.control * 2 },
        ],
        statistic: { eValue: eMix, boundary: boundary(0.0005), alpha: 0.0005 },
        effect: { name: 'max_share_drift', value: regressed ? 0.11 : 0.03 + random() * 0.02 },
        threshold: { operator: '<', value: 0.15 },
        reason: regressed ? 'tool_mix: lookup_order share up 11 points.' : 'tool_mix: within tolerance.',
      },
    ];
    const failing = checks.filter((check) => check.verdict === 'fail');
    const verdict: Verdict =
      failing.length > 0
        ? 'fail'
        : checks.some((check) => check.verdict === 'inconclusive')
          ? 'inconclusive'
          : checks.some((check) => check.verdict === 'warn')
            ? 'warn'
            : 'pass';
    const result: GateResult = {
      verdict,
      sequentialFailure: failing.some((check) => check.method === 'sequential'),
      thresholdFailure: false,
      sampleRatioMismatch: false,
      requests,
      subjects: {
        canary: Math.round(requests.canary * 0.7),
        control: Math.round(requests.control * 0.7),
        stable: Math.round(requests.stable * 0.7),
      },
      checks,
      reason:
        failing.length > 0 ? `${failing.map((c) => c.check).join(', ')} crossed the boundary` : `verdict ${verdict}`,
      evaluatedAtMillis: at,
    };
    const controlPercent = percent;
    evaluations.push({ atMillis: at, canaryPercent: percent, controlPercent, result });
    if (t === STEP_MINUTES[1] * minute || t === STEP_MINUTES[2] * minute) {
      const previous = PERCENTS[step - 1] ?? 5;
      transitions.push({
        atMillis: at,
        from: `canary@${previous}%`,
        to: `canary@${percent}%`,
        cause: 'tick',
        actor: 'controller',
        reason: `step ${step} done: minimum time and ${requests.canary} canary requests reached, gate ${verdict}`,
        canaryPercent: percent,
        controlPercent,
        result,
      });
    }
    if (t === 15 * minute) {
      transitions.push(
        {
          atMillis: at,
          from: 'canary@20%',
          to: 'paused@20%',
          cause: 'pause',
          actor: 'bob',
          reason: options.pauseReason ?? 'holding during the support team stand-up',
          canaryPercent: 20,
          controlPercent: 20,
        },
        {
          atMillis: at + 2 * minute,
          from: 'paused@20%',
          to: 'canary@20%',
          cause: 'resume',
          actor: 'bob',
          reason: 'stand-up over',
          canaryPercent: 20,
          controlPercent: 20,
        },
      );
    }
    if (result.sequentialFailure) {
      rolledBackAt = at;
      transitions.push({
        atMillis: at,
        from: `canary@${percent}%`,
        to: 'rolled_back',
        cause: 'tick',
        actor: 'controller',
        reason: `sequential test failed: ${result.reason}`,
        canaryPercent: 0,
        controlPercent: 0,
        result,
      });
      break;
    }
  }
  const endMillis = rolledBackAt ?? start + 34 * minute;
  const last = evaluations.at(-1)?.result;
  return {
    summary: {
      id,
      flagKey: 'support-agent-release',
      canaryRelease,
      stableRelease,
      state: rolledBackAt ? 'rolled_back' : 'canary',
      stepIndex: 2,
      stepCount: 4,
      canaryPercent: rolledBackAt ? 0 : 50,
      ...(rolledBackAt ? { outcome: 'rolled_back' as const } : {}),
      startedAtMillis: start,
      updatedAtMillis: endMillis,
      ...(last ? { lastResult: last } : {}),
    },
    history: {
      steps: [
        { percent: 5, minDurationMillis: 10 * minute, minCanaryRequests: 100 },
        { percent: 20, minDurationMillis: 10 * minute, minCanaryRequests: 100 },
        { percent: 50, minDurationMillis: 20 * minute, minCanaryRequests: 100 },
        { percent: 100, minDurationMillis: 0, minCanaryRequests: 0 },
      ],
      transitions,
      evaluations,
      toolMix: {
        tools: ['search_kb', 'lookup_order', 'create_ticket', 'refund', 'escalate'],
        share: { canary: [0.34, 0.37, 0.15, 0.08, 0.06], control: [0.41, 0.26, 0.18, 0.09, 0.06] },
      },
    },
    endMillis,
  };
}

/** An in-memory {@link ReportSource} (with a listing) over fixed rollouts. */
export function memoryReportSource(
  rollouts: readonly SyntheticRollout[],
): ReportSource & { list(): Promise<readonly RolloutSummary[]> } {
  const byId = new Map(rollouts.map((rollout) => [rollout.summary.id, rollout]));
  return {
    async get(rolloutId) {
      return byId.get(rolloutId)?.summary;
    },
    async list() {
      return rollouts.map((rollout) => rollout.summary);
    },
    async history(rolloutId) {
      return byId.get(rolloutId)?.history;
    },
  };
}
