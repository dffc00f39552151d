/**
 * Rate checks' canary-vs-control test (T-RATE, statistics.md §3.1): error, tool failure,
 * refusal, thumbs-down and low similarity. At the subject unit an adverse event is a
 * subject's FIRST such event (or, for similarity, its first score at or below the minimum),
 * counted in the cohort the subject entered.
 */
import { COHORT, VERDICT, type Verdict } from '@agent-canary/conventions';
import { ANALYSIS_UNIT, type ResolvedCheck } from '../options.js';
import { rateEProcess } from '../stat-tests.js';
import { effectiveUnit, RATE_SIGNAL, type RateSignal, rateCounts, SUBJECT_DATA } from '../tally.js';
import { CHECK_METHOD, type CheckEvidence } from '../types.js';
import {
  brief,
  building,
  type CheckInputs,
  comparableEpochs,
  enoughArms,
  fallbackNote,
  lean,
  measurement,
  num,
  percent,
  rejectedEarlier,
  rejectedReason,
  statistic,
} from './common.js';

const RATE_LABEL: Record<string, string> = {
  error: 'failed turns',
  tool: 'failed tool calls',
  refusal: 'refusals',
  thumbs: 'thumbs-down',
  lowsim: 'answers below the similarity minimum',
};

/** The unit a rate signal's sequential test counts for a check configured at `unit`. */
export function rateUnit(inputs: CheckInputs, signal: RateSignal, unit: string): string {
  const data = signal === RATE_SIGNAL.lowSimilarity ? SUBJECT_DATA.firsts : SUBJECT_DATA.adverse;
  return effectiveUnit(inputs.windows, unit, data);
}

/**
 * Sequential T-RATE evidence for a rate check: canary vs control adverse events per
 * epoch, relative risk with anytime bounds.
 */
export function rateSequential(
  inputs: CheckInputs,
  check: ResolvedCheck & { readonly maxRelativeRisk: number },
  signal: RateSignal,
): CheckEvidence {
  const { windows } = inputs;
  const unit = rateUnit(inputs, signal, check.unit);
  const min = inputs.config.checks.similarity.min;
  const canary = rateCounts(windows.cohorts.canary, signal, unit, min);
  const control = rateCounts(windows.cohorts.control, signal, unit, min);
  const epochs = comparableEpochs(inputs, unit).map(({ mark, counts }) => ({
    rho0: mark.rho0,
    canaryEvents: counts.rates[signal]?.[0] ?? 0,
    controlEvents: counts.rates[signal]?.[1] ?? 0,
  }));
  const previous = rejectedReason(inputs.state, check.name);
  if (lean(inputs)) {
    // The verdict needs the e-value and the exposures only; a failure gets full evidence below.
    const quick = rateEProcess(epochs, check.alpha, false);
    if (!quick.reject && !previous) {
      const verdict = building(quick)
        ? VERDICT.warn
        : enoughArms(inputs, canary.exposure, control.exposure)
          ? VERDICT.pass
          : VERDICT.inconclusive;
      return brief(check.name, CHECK_METHOD.sequential, verdict, canary.unit, quick);
    }
  }
  const result = rateEProcess(epochs, check.alpha);
  const rate = (c: { events: number; exposure: number }) => (c.exposure > 0 ? c.events / c.exposure : undefined);
  const canaryRate = rate(canary);
  const controlRate = rate(control);
  const rr = result.relativeRisk;
  const effect =
    rr === undefined
      ? undefined
      : {
          name: 'relative_risk',
          value: rr,
          lower: result.rrLower,
          ...(Number.isFinite(result.rrUpper) ? { upper: result.rrUpper } : {}),
        };
  const label = RATE_LABEL[signal] ?? signal;
  const per = canary.unit === ANALYSIS_UNIT.subject ? 'of subjects with' : `per ${canary.unit}:`;
  const rates = `canary ${canaryRate === undefined ? 'n/a' : percent(canaryRate)} vs control ${
    controlRate === undefined ? 'n/a' : percent(controlRate)
  } ${per} ${label}, ${canary.exposure} vs ${control.exposure} ${canary.unit}s${fallbackNote(check.unit, canary.unit)}`;
  const bounds = `RR ${rr === undefined ? 'n/a' : num(rr)} [${num(result.rrLower)}, ${num(result.rrUpper)}]`;
  let verdict: Verdict;
  let reason: string;
  if (result.reject || previous) {
    verdict = VERDICT.fail;
    reason =
      previous !== undefined && !result.reject
        ? rejectedEarlier(check.name, previous)
        : `${check.name}: the canary has more ${label} than control (${rates}, ${bounds}); E=${num(result.eValue)} crossed 1/α=${num(result.boundary)}.`;
  } else if (building(result)) {
    verdict = VERDICT.warn;
    reason = `${check.name}: evidence against the canary is building (${rates}, E=${num(result.eValue)} of ${num(result.boundary)}).`;
  } else if (!enoughArms(inputs, canary.exposure, control.exposure)) {
    verdict = VERDICT.inconclusive;
    reason = `${check.name}: too few ${canary.unit}s to judge yet (${rates}, E=${num(result.eValue)}).`;
  } else {
    verdict = VERDICT.pass;
    const ready = Number.isFinite(result.rrUpper) && result.rrUpper < check.maxRelativeRisk;
    reason = `${check.name}: no evidence the canary is worse (${rates}, ${bounds}, E=${num(result.eValue)} < ${num(
      result.boundary,
    )})${ready ? `; RR is below ${check.maxRelativeRisk} with confidence` : ''}.`;
  }
  return {
    check: check.name,
    method: CHECK_METHOD.sequential,
    verdict,
    unit: canary.unit,
    measurements: [
      measurement(COHORT.canary, canaryRate, canary.exposure),
      measurement(COHORT.control, controlRate, control.exposure),
    ],
    statistic: statistic(result),
    ...(effect ? { effect } : {}),
    reason,
  };
}
