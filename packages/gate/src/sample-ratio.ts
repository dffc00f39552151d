/**
 * The sample-ratio mismatch check (§3.5): do the cohorts' unit counts follow the
 * configured split? A mismatch means routing is broken and freezes every verdict.
 */
import { COHORT, VERDICT } from '@agent-canary/conventions';
import { ANALYSIS_UNIT, GATE_CHECK, GATE_EVIDENCE, type GateConfig } from './options.js';
import { sampleRatioEProcess } from './stat-tests.js';
import type { GateState, Tally } from './state.js';
import { CHECK_METHOD, type CheckEvidence } from './types.js';

const BASIS_POINTS = 10_000;

const num = (value: number): string =>
  Math.abs(value) >= 1000 ? value.toExponential(2) : `${Number(value.toPrecision(3))}`;

/**
 * SRM (§3.5) on the first split only: after a share change, subjects already known to
 * one cohort reappear as new ones in another, so later counts do not follow the split.
 */
export function sampleRatio(config: GateConfig, state: GateState, tally: Tally): CheckEvidence | undefined {
  if (!config.sampleRatio.enabled) return undefined;
  const split = state.sampleRatioSplit;
  const unit = config.sampleRatio.unit === ANALYSIS_UNIT.subject ? ANALYSIS_UNIT.subject : ANALYSIS_UNIT.request;
  const cohorts = [COHORT.stable, COHORT.canary, COHORT.control] as const;
  const baseline = state.sampleRatioBaseline ?? null;
  const observed = cohorts.map((_, index) => (tally.n[index] ?? 0) - (baseline?.[index] ?? 0));
  const measurements = cohorts.map((cohort, index) => ({ cohort, samples: observed[index] ?? 0 }));
  const base = { check: GATE_CHECK.sampleRatio, method: CHECK_METHOD.sampleRatio, unit, measurements };
  if (state.sampleRatioMismatch) {
    return { ...base, verdict: VERDICT.fail, reason: `${state.sampleRatioMismatch} (detected earlier; final).` };
  }
  if (!split) {
    return {
      ...base,
      verdict: state.epochs.length === 0 ? VERDICT.inconclusive : VERDICT.pass,
      reason:
        state.epochs.length === 0
          ? 'sample_ratio: canary or control has no traffic share yet.'
          : 'sample_ratio: checked on the first split only; the split has changed since.',
    };
  }
  if (baseline === null) {
    return {
      ...base,
      verdict: VERDICT.pass,
      reason: `sample_ratio: waiting ${config.sampleRatio.settleMillis} ms for routing to settle before counting.`,
    };
  }
  const shares = [
    BASIS_POINTS - split.canaryBasisPoints - split.controlBasisPoints,
    split.canaryBasisPoints,
    split.controlBasisPoints,
  ].map((bp) => bp / BASIS_POINTS);
  // A cohort with no share and no units says nothing (and a zero Dirichlet weight is undefined).
  const counted: Record<string, number> = {};
  const split3: Record<string, number> = {};
  cohorts.forEach((cohort, index) => {
    const share = shares[index] ?? 0;
    const count = observed[index] ?? 0;
    if (share > 0 || count > 0) {
      counted[cohort] = count;
      split3[cohort] = share;
    }
  });
  const result = sampleRatioEProcess(counted, split3, config.sampleRatio.alpha);
  if (config.evidence === GATE_EVIDENCE.decision && !result.reject) {
    const statistic = { eValue: result.eValue, boundary: result.boundary, alpha: result.alpha };
    return { ...base, measurements: [], verdict: VERDICT.pass, statistic, reason: '' };
  }
  const total = observed.reduce((a, b) => a + b, 0);
  const observedShares = observed.map((n) => (total > 0 ? `${((100 * n) / total).toFixed(1)}%` : 'n/a')).join('/');
  const expectedShares = shares.map((s) => `${(100 * s).toFixed(1)}%`).join('/');
  const described = `stable/canary/control ${unit}s ${observed.join('/')} (${observedShares}) vs configured ${expectedShares}`;
  return {
    ...base,
    verdict: result.reject ? VERDICT.fail : VERDICT.pass,
    statistic: { eValue: result.eValue, boundary: result.boundary, alpha: result.alpha },
    reason: result.reject
      ? `sample_ratio: ${described}; E=${num(result.eValue)} ≥ ${num(result.boundary)}: routing does not follow the split, verdicts are frozen.`
      : `sample_ratio: ${described} is consistent with the split (E=${num(result.eValue)}).`,
  };
}
