/** What every check reads and the small helpers they share (formatting, brief evidence). */
import { type Cohort, VERDICT, type Verdict } from '@agent-canary/conventions';
import { ANALYSIS_UNIT, GATE_EVIDENCE, type GateConfig } from '../options.js';
import type { EProcessResult } from '../stat-tests.js';
import type { EpochMark, GateState, Tally } from '../state.js';
import { isEmptyTally, subtract } from '../state.js';
import type { CheckEvidence, CohortMeasurement } from '../types.js';
import type { CohortWindows } from '../windows.js';

/** Counts of one epoch: from its start to the next epoch's start (or now). */
export interface EpochCounts {
  readonly mark: EpochMark;
  readonly counts: Tally;
}

/** Splits the cumulative tally into per-epoch counts. */
export function epochCounts(epochs: readonly EpochMark[], now: Tally): EpochCounts[] {
  return epochs.map((mark, index) => {
    const end = epochs[index + 1]?.start ?? now;
    // The first epoch starts from zero: nothing to subtract, nothing to copy.
    return { mark, counts: isEmptyTally(mark.start) ? end : subtract(end, mark.start) };
  });
}

/** Everything a check needs to judge. */
export interface CheckInputs {
  readonly config: GateConfig;
  readonly windows: CohortWindows;
  readonly epochs: readonly EpochCounts[];
  readonly state: GateState;
}

/**
 * The epochs a canary-vs-control test may count at `unit`. A subject keeps the label it
 * drew when it entered, at the canary share of that time: subject-unit tests count only
 * epochs with the first epoch's canary/control ratio ρ0 (the default steps keep control as
 * large as the canary, so ρ0 stays ½ up to a 50% canary). Requests carry their own label.
 */
export function comparableEpochs(inputs: CheckInputs, unit: string): readonly EpochCounts[] {
  if (unit !== ANALYSIS_UNIT.subject) return inputs.epochs;
  const first = inputs.epochs[0]?.mark.rho0;
  return inputs.epochs.filter((epoch) => Math.abs(epoch.mark.rho0 - (first ?? 0)) < 1e-12);
}

export const percent = (value: number): string => `${(value * 100).toFixed(value < 0.01 ? 2 : 1)}%`;

export const num = (value: number): string => {
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (Math.abs(value) >= 1000) return value.toExponential(2);
  return Number(value.toPrecision(3)).toString();
};

export function measurement(cohort: Cohort, value: number | undefined, samples: number): CohortMeasurement {
  return value === undefined || !Number.isFinite(value) ? { cohort, samples } : { cohort, value, samples };
}

/** e-value at least the square root of its boundary (half-way in log scale) without crossing. */
export function building(result: EProcessResult): boolean {
  return !result.reject && result.eValue >= Math.sqrt(result.boundary);
}

export function statistic(result: EProcessResult) {
  return { eValue: result.eValue, boundary: result.boundary, alpha: result.alpha };
}

export function enoughArms(inputs: CheckInputs, canary: number, control: number): boolean {
  return canary >= inputs.config.minSamples && control >= inputs.config.minSamples;
}

/** Decision mode: only failing checks get their evidence built (see `GATE_EVIDENCE`). */
export function lean(inputs: CheckInputs): boolean {
  return inputs.config.evidence === GATE_EVIDENCE.decision;
}

/** A verdict without its evidence (decision mode, non-failing checks). */
export function brief(
  check: string,
  method: CheckEvidence['method'],
  verdict: Verdict,
  unit: string,
  result?: EProcessResult,
): CheckEvidence {
  return {
    check,
    method,
    verdict,
    unit,
    measurements: [],
    ...(result ? { statistic: statistic(result) } : {}),
    reason: '',
  };
}

/** The reason of a check that failed at an earlier look (rejections are final). */
export function rejectedEarlier(check: string, previous: string): string {
  return `${check}: rejected earlier (${previous}); rejections are final.`;
}

/** How a drift check's reason ends: proven beyond the tolerance, past it without proof, or neither. */
export function driftEnding(verdict: Verdict, pastTolerance: boolean): string {
  if (verdict === VERDICT.fail) return ': a change beyond the tolerance, proven.';
  return pastTolerance ? ': past the tolerance, but not yet told apart from which users landed in which arm.' : '.';
}

export function rejectedReason(state: GateState, check: string): string | undefined {
  return state.rejected[check];
}

/** What the evidence says of a subject-unit check that had to count requests. */
export function fallbackNote(requested: string, used: string): string {
  return requested === ANALYSIS_UNIT.subject && used !== ANALYSIS_UNIT.subject
    ? ' (the metric source has no per-subject data for this check: requests counted, valid only without sticky routing)'
    : '';
}
