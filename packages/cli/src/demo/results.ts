/**
 * What a demo run reports: its outcome, the controller's decisions with the data behind
 * them, and its progress, derived from the controller's status and its store.
 */
import type { RolloutStatus, RolloutStore, StoredTransition, TickResult } from '@agent-canary/controller';
import { COHORT, type Cohort, type Verdict } from '@agent-canary/conventions';
import type { Scenario } from './scenarios.js';

/** Outcomes of a demo run. `held`: the rollout was still running at the horizon. */
export const DEMO_OUTCOME = { promoted: 'promoted', rolledBack: 'rolled_back', held: 'held' } as const;
/** One of {@link DEMO_OUTCOME}. */
export type DemoOutcome = (typeof DEMO_OUTCOME)[keyof typeof DEMO_OUTCOME];

/** Progress of a running demo. */
export interface DemoProgress {
  /** Virtual milliseconds since the rollout started. */
  readonly elapsedMillis: number;
  readonly phase: RolloutStatus['phase'];
  /** 1-based step number. */
  readonly step: number;
  readonly stepCount: number;
  /** Canary share of traffic, percent. */
  readonly sharePercent: number;
  /** Requests served so far, per cohort. */
  readonly requests: Readonly<Record<Cohort, number>>;
  readonly lastVerdict?: Verdict;
  readonly lastReason?: string;
}

/** One decision of the controller (a state transition), with the data behind it. */
export interface DemoDecision {
  /** Virtual milliseconds since the rollout started. */
  readonly elapsedMillis: number;
  readonly from: string;
  readonly to: string;
  /** 1-based step the rollout was at when it decided (the new step when it advanced). */
  readonly step: number;
  /** Canary share of traffic after the decision, percent. */
  readonly sharePercent: number;
  /** Gate verdict behind an automatic decision. */
  readonly verdict?: Verdict;
  readonly reason: string;
  /** Canary requests the gate had counted since the rollout start. */
  readonly canaryRequests: number;
  /** Names of the checks that failed (rollbacks). */
  readonly failedChecks: readonly string[];
  readonly actor: string;
}

/** What `runDemo` returns (and `agent-canary demo --json` prints). */
export interface DemoResult {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly outcome: DemoOutcome;
  readonly rolloutId: string;
  readonly decisions: readonly DemoDecision[];
  /** Absolute path of the HTML report. */
  readonly reportPath: string;
  /** Absolute path of the rollout store (SQLite). */
  readonly storePath: string;
  /** Virtual time the rollout took. */
  readonly virtualDurationMillis: number;
  /** Wall-clock time the run took. */
  readonly wallMillis: number;
  /** Requests served per cohort. */
  readonly requests: Readonly<Record<Cohort, number>>;
  /** When the gate's warm-up ended, and the canary requests it had counted then. */
  readonly warmup?: { readonly elapsedMillis: number; readonly canaryRequests: number };
  /** Set when `restartControllerAtMillis` was used: the virtual offset of the restart. */
  readonly controllerRestartedAtMillis?: number;
  /** URL of the dashboard, when one was served. */
  readonly dashboardUrl?: string;
}

function percentOfLabel(label: string): number | undefined {
  if (label === 'promoted') return 100;
  if (label === 'rolled_back' || label === 'aborted' || label === 'draft') return 0;
  const match = /@(\d+(?:\.\d+)?)%$/.exec(label);
  return match ? Number(match[1]) : undefined;
}

function stepOf(percent: number | undefined, steps: readonly { readonly percent: number }[]): number {
  const index = steps.findIndex((step) => step.percent === percent);
  return index < 0 ? 0 : index + 1;
}

/** One transition of the audit log as a decision of the demo; `startMillis` is the rollout start. */
export function decisionOf(
  transition: StoredTransition,
  startMillis: number,
  steps: readonly { readonly percent: number }[],
): DemoDecision {
  const after = percentOfLabel(transition.to) ?? 0;
  // A rollback happens at the step it leaves; everything else lands on the step it names.
  const stepLabel = transition.to === 'rolled_back' || transition.to === 'aborted' ? transition.from : transition.to;
  const evidence = transition.evidence;
  return {
    elapsedMillis: transition.atMillis - startMillis,
    from: transition.from,
    to: transition.to,
    step: stepOf(percentOfLabel(stepLabel), steps),
    sharePercent: after,
    ...(evidence === undefined ? {} : { verdict: evidence.verdict }),
    reason: transition.reason,
    canaryRequests: evidence?.requests.canary ?? 0,
    failedChecks: evidence === undefined ? [] : evidence.checks.filter((c) => c.verdict === 'fail').map((c) => c.check),
    actor: transition.actor,
  };
}

/** When the gate's warm-up ended (its first verdict not warming up), or undefined when it never did. */
export function warmupOf(
  store: RolloutStore,
  rolloutId: string,
  startMillis: number,
): DemoResult['warmup'] | undefined {
  const verdicts = [...store.verdicts(rolloutId)].sort((a, b) => a.atMillis - b.atMillis);
  const first = verdicts.find((verdict) => !verdict.reason.includes('warming up'));
  return first === undefined
    ? undefined
    : { elapsedMillis: first.atMillis - startMillis, canaryRequests: first.result.requests.canary };
}

/** The progress callback's view of a running rollout. */
export function progressOf(
  status: RolloutStatus,
  elapsedMillis: number,
  requests: Readonly<Record<Cohort, number>>,
  tick: TickResult | undefined,
): DemoProgress {
  return {
    elapsedMillis,
    phase: status.phase,
    step: status.stepIndex + 1,
    stepCount: status.config.steps.length,
    sharePercent: status.canaryBasisPoints / 100,
    requests: {
      [COHORT.stable]: requests.stable,
      [COHORT.canary]: requests.canary,
      [COHORT.control]: requests.control,
    },
    ...(tick?.gate === undefined ? {} : { lastVerdict: tick.gate.verdict, lastReason: tick.gate.reason }),
  };
}
