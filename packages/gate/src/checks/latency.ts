/**
 * Latency's canary-vs-control test (T-LAT, statistics.md §3.2): the body bet averaged with
 * exceedance tests at the stable reference's p95 and p99, so a slower tail is seen even
 * with an unchanged median. Subject unit: each subject's first turn.
 */
import { COHORT, VERDICT, type Verdict } from '@agent-canary/conventions';
import { quantileOf, totalCount } from '../buckets.js';
import { latencyEProcess, type RankCounts } from '../stat-tests.js';
import type { FrozenReference } from '../state.js';
import { effectiveUnit, latencyOf, SUBJECT_DATA } from '../tally.js';
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
  rejectedEarlier,
  rejectedReason,
  statistic,
} from './common.js';

/** Per-epoch counts on a frozen reference's slots, at `unit`. */
export function rankEpochs(inputs: CheckInputs, which: 'lat' | 'len', unit: string): RankCounts[] {
  const out: RankCounts[] = [];
  for (const { mark, counts } of comparableEpochs(inputs, unit)) {
    const pair = counts[which];
    if (mark.ranked && pair) out.push({ rho0: mark.rho0, canary: pair[0], control: pair[1] });
  }
  return out;
}

/** Evidence of a distribution test that has not started: no stable reference yet. */
export function noReference(check: string, unit: string, what: string): CheckEvidence {
  return {
    check,
    method: CHECK_METHOD.sequential,
    verdict: VERDICT.inconclusive,
    unit,
    measurements: [],
    reason: `${check}: no ${what} reference frozen from stable traffic yet, so the test has not started.`,
  };
}

/** T-LAT: canary vs control latency on the frozen stable reference, p99 ratio as the effect. */
export function latencySequential(inputs: CheckInputs, reference: FrozenReference | null): CheckEvidence {
  const check = inputs.config.checks.latencyP99;
  const unit = effectiveUnit(inputs.windows, check.unit, SUBJECT_DATA.latency);
  if (!reference) return noReference(check.name, unit, 'latency');
  const epochs = rankEpochs(inputs, 'lat', unit);
  const previous = rejectedReason(inputs.state, check.name);
  const decision = latencyEProcess(reference, epochs, check.alpha, false);
  // The body bet's own e-value is evidence only: skipped in decision mode unless failing.
  const failing = decision.reject || previous !== undefined;
  const result = lean(inputs) && !failing ? decision : latencyEProcess(reference, epochs, check.alpha, true);
  const canary = latencyOf(inputs.windows.cohorts.canary, unit);
  const control = latencyOf(inputs.windows.cohorts.control, unit);
  if (lean(inputs) && !failing) {
    const verdict = building(result)
      ? VERDICT.warn
      : !enoughArms(inputs, totalCount(canary), totalCount(control))
        ? VERDICT.inconclusive
        : VERDICT.pass;
    return brief(check.name, CHECK_METHOD.sequential, verdict, unit, result);
  }
  const canaryP99 = quantileOf(canary, 0.99);
  const controlP99 = quantileOf(control, 0.99);
  const ratio = canaryP99 !== undefined && controlP99 ? canaryP99 / controlP99 : undefined;
  const described = `canary p99 ${canaryP99 === undefined ? 'n/a' : `${num(canaryP99)} ms`} vs control ${
    controlP99 === undefined ? 'n/a' : `${num(controlP99)} ms`
  } over ${totalCount(canary)} vs ${totalCount(control)} ${unit}s${fallbackNote(check.unit, unit)}`;
  const parts = `body bet ${num(result.body)}, averaged with the p95 and p99 exceedance tests`;
  let verdict: Verdict;
  let reason: string;
  if (result.reject || previous) {
    verdict = VERDICT.fail;
    reason =
      previous !== undefined && !result.reject
        ? rejectedEarlier(check.name, previous)
        : `${check.name}: the canary is slower than control (${described}); E=${num(result.eValue)} (${parts}) crossed 1/α=${num(result.boundary)}.`;
  } else if (building(result)) {
    verdict = VERDICT.warn;
    reason = `${check.name}: evidence of a slower canary is building (${described}, E=${num(result.eValue)}).`;
  } else if (!enoughArms(inputs, totalCount(canary), totalCount(control))) {
    verdict = VERDICT.inconclusive;
    reason = `${check.name}: too few observations to judge yet (${described}).`;
  } else {
    verdict = VERDICT.pass;
    reason = `${check.name}: no evidence the canary is slower (${described}, E=${num(result.eValue)} < ${num(result.boundary)}).`;
  }
  return {
    check: check.name,
    method: CHECK_METHOD.sequential,
    verdict,
    unit,
    measurements: [
      measurement(COHORT.canary, canaryP99, totalCount(canary)),
      measurement(COHORT.control, controlP99, totalCount(control)),
    ],
    statistic: statistic(result),
    ...(ratio === undefined ? {} : { effect: { name: 'p99_ratio', value: ratio } }),
    reason,
  };
}
