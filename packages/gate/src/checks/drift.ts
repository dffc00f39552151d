/**
 * Behaviour drift, canary vs control, with materiality built into the tests: tool use
 * (which tool users call first; how often they switch tools between their first and second
 * call) and answer length. Each test's null is "no change larger than the tolerance" (no
 * rise at all for tool switching), so a rejection proves a material change and fails; a
 * point estimate past the tolerance without that proof — which users landed in which arm
 * can produce one — only warns.
 */
import { COHORT, VERDICT, type Verdict } from '@agent-canary/conventions';
import { quantileOf, totalCount } from '../buckets.js';
import { ANALYSIS_UNIT } from '../options.js';
import { type EProcessResult, mixShareEProcess, rankScoreEProcess, rateEProcess } from '../stat-tests.js';
import type { FrozenReference } from '../state.js';
import { effectiveUnit, lengthOf, SUBJECT_DATA, toolsOf } from '../tally.js';
import { CHECK_METHOD, type CheckEvidence } from '../types.js';
import type { BucketCounts, CohortWindow } from '../windows.js';
import {
  brief,
  building,
  type CheckInputs,
  comparableEpochs,
  driftEnding,
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
import { noReference, rankEpochs } from './latency.js';

/** Largest |ΔF| between two distributions over the union of their edges. */
export function ksBetween(a: BucketCounts, b: BucketCounts): number | undefined {
  const na = totalCount(a);
  const nb = totalCount(b);
  if (na === 0 || nb === 0) return undefined;
  let fa = 0;
  let fb = 0;
  let ia = 0;
  let ib = 0;
  let max = 0;
  // Both are ascending: walk the union of their edges in one merge pass.
  while (ia < a.length || ib < b.length) {
    const edge = Math.min(a[ia]?.upper ?? Number.POSITIVE_INFINITY, b[ib]?.upper ?? Number.POSITIVE_INFINITY);
    while (ia < a.length && (a[ia]?.upper ?? Number.POSITIVE_INFINITY) <= edge) fa += a[ia++]?.count ?? 0;
    while (ib < b.length && (b[ib]?.upper ?? Number.POSITIVE_INFINITY) <= edge) fb += b[ib++]?.count ?? 0;
    max = Math.max(max, Math.abs(fa / na - fb / nb));
  }
  return max;
}

/**
 * Drift verdict, judged on the test, never on the effect estimate: a rejection (of the
 * tolerance-shifted null) fails; evidence building (E ≥ √(1/α)) warns; otherwise pass, or
 * inconclusive below the minimum sample. An estimate past the tolerance without that
 * evidence is what which-users-landed-where produces: the reason says so, the verdict
 * does not act on it.
 */
function driftVerdict(result: EProcessResult, enough: boolean): Verdict {
  if (result.reject) return VERDICT.fail;
  if (building(result)) return VERDICT.warn;
  return enough ? VERDICT.pass : VERDICT.inconclusive;
}

function shares(tools: ReturnType<typeof toolsOf>): { total: number; shares: Map<string, number> } {
  let total = 0;
  for (const counts of Object.values(tools)) total += counts.calls;
  const out = new Map<string, number>();
  for (const [tool, counts] of Object.entries(tools)) out.set(tool, total > 0 ? counts.calls / total : 0);
  return { total, shares: out };
}

function switchRate(window: CohortWindow): { rate: number | undefined; samples: number } {
  const firsts = window.subjectFirsts;
  if (firsts === undefined || firsts.secondTools === 0) return { rate: undefined, samples: firsts?.secondTools ?? 0 };
  return { rate: firsts.toolSwitches / firsts.secondTools, samples: firsts.secondTools };
}

/**
 * Tool mix: the share of each tool among the units' tool use (subject unit: each subject's
 * first tool call) and, at the subject unit, the share of subjects whose second tool call
 * used another tool than their first. The share test has materiality `maxShareDrift`; the
 * switch test is one-sided without a tolerance — a user's own consistency is not a matter
 * of taste, and any proven rise of switching is a regression. Each test runs at half the
 * check's alpha (Bonferroni); the check's e-value is max(E_share, E_switch) / 2.
 */
export function toolMixDrift(inputs: CheckInputs): CheckEvidence {
  const check = inputs.config.checks.toolMix;
  const { windows, state } = inputs;
  const unit = effectiveUnit(windows, check.unit, SUBJECT_DATA.firsts);
  const reference = state.toolReference;
  const shownUnit = unit === ANALYSIS_UNIT.subject ? unit : ANALYSIS_UNIT.toolCall;
  if (reference === null) return noReference(check.name, shownUnit, 'tool-use');
  const epochs = comparableEpochs(inputs, unit);
  const tolerance = check.maxShareDrift;
  const switches = unit === ANALYSIS_UNIT.subject;
  const parts = switches ? 2 : 1;
  const share = mixShareEProcess(
    epochs.map(({ mark, counts }) => ({ rho0: mark.rho0, canary: counts.mix[0], control: counts.mix[1] })),
    reference,
    tolerance,
    check.alpha / parts,
  );
  const switching = switches
    ? rateEProcess(
        epochs.map(({ mark, counts }) => ({
          rho0: mark.rho0,
          canaryEvents: counts.switches[0],
          controlEvents: counts.switches[1],
        })),
        check.alpha / parts,
        false,
      )
    : undefined;
  const eValue = Math.max(share.eValue, switching?.eValue ?? 0) / parts;
  const result: EProcessResult = {
    eValue,
    boundary: 1 / check.alpha,
    alpha: check.alpha,
    reject: share.reject || switching?.reject === true,
  };
  const canary = shares(toolsOf(windows.cohorts.canary, unit));
  const control = shares(toolsOf(windows.cohorts.control, unit));
  let drift: number | undefined;
  let tool = '';
  if (canary.total > 0 && control.total > 0) {
    drift = 0;
    for (const name of new Set([...canary.shares.keys(), ...control.shares.keys()])) {
      const delta = Math.abs((canary.shares.get(name) ?? 0) - (control.shares.get(name) ?? 0));
      if (delta > drift) {
        drift = delta;
        tool = name;
      }
    }
  }
  const canarySwitch = switchRate(windows.cohorts.canary);
  const controlSwitch = switchRate(windows.cohorts.control);
  const switchDrift =
    switching !== undefined && canarySwitch.rate !== undefined && controlSwitch.rate !== undefined
      ? Math.abs(canarySwitch.rate - controlSwitch.rate)
      : undefined;
  const largest = Math.max(drift ?? 0, switchDrift ?? 0);
  const enough = enoughArms(inputs, canary.total, control.total);
  const previous = rejectedReason(state, check.name);
  const verdict = previous ? VERDICT.fail : driftVerdict(result, enough);
  if (lean(inputs) && verdict !== VERDICT.fail)
    return brief(check.name, CHECK_METHOD.drift, verdict, shownUnit, result);
  const moved =
    drift === undefined
      ? 'no tool use in one of the arms'
      : `largest share change ${percent(drift)} on ${tool} (canary ${percent(canary.shares.get(tool) ?? 0)} vs control ${percent(
          control.shares.get(tool) ?? 0,
        )} of ${canary.total} vs ${control.total} ${shownUnit}s)`;
  const switched =
    switchDrift === undefined
      ? ''
      : `; tool switch at the second call: canary ${percent(canarySwitch.rate ?? 0)} vs control ${percent(
          controlSwitch.rate ?? 0,
        )} of ${canarySwitch.samples} vs ${controlSwitch.samples} subjects`;
  const tests = `E=${num(result.eValue)} ${result.reject ? '≥' : '<'} 1/α=${num(result.boundary)} (share test E=${num(
    share.eValue,
  )}${switching ? `, switch test E=${num(switching.eValue)}` : ''}, each at α/${parts})`;
  const reason = previous
    ? rejectedEarlier(check.name, previous)
    : `${check.name}: ${moved}${switched}; share tolerance ${percent(tolerance)}${fallbackNote(check.unit, unit)}; ${tests}${driftEnding(verdict, (drift ?? 0) > tolerance)}`;
  return {
    check: check.name,
    method: CHECK_METHOD.drift,
    verdict,
    unit: shownUnit,
    measurements: [measurement(COHORT.canary, largest, canary.total), measurement(COHORT.control, 0, control.total)],
    statistic: statistic(result),
    ...(drift === undefined && switchDrift === undefined
      ? {}
      : { effect: { name: 'max_share_drift', value: largest } }),
    reason,
  };
}

/** T-DIST: two-sided rank test of response length against the KS tolerance; KS distance as the effect. */
export function lengthDrift(inputs: CheckInputs, reference: FrozenReference | null): CheckEvidence {
  const check = inputs.config.checks.responseLength;
  const unit = effectiveUnit(inputs.windows, check.unit, SUBJECT_DATA.length);
  if (!reference) return noReference(check.name, unit, 'response-length');
  // A KS distance of at most κ bounds the mean rank-score shift by 2κ (see rankScoreLogEValue).
  const result = rankScoreEProcess(reference, rankEpochs(inputs, 'len', unit), check.alpha, 2 * check.maxKsDistance);
  const canary = lengthOf(inputs.windows.cohorts.canary, unit);
  const control = lengthOf(inputs.windows.cohorts.control, unit);
  const enough = enoughArms(inputs, totalCount(canary), totalCount(control));
  const previous = rejectedReason(inputs.state, check.name);
  const verdict = previous ? VERDICT.fail : driftVerdict(result, enough);
  if (lean(inputs) && verdict !== VERDICT.fail) return brief(check.name, CHECK_METHOD.drift, verdict, unit, result);
  const ks = ksBetween(canary, control);
  const canaryMedian = quantileOf(canary, 0.5);
  const controlMedian = quantileOf(control, 0.5);
  const described = `median length canary ${canaryMedian === undefined ? 'n/a' : num(canaryMedian)} vs control ${
    controlMedian === undefined ? 'n/a' : num(controlMedian)
  } chars over ${totalCount(canary)} vs ${totalCount(control)} ${unit}s, KS ${ks === undefined ? 'n/a' : num(ks)} (tolerance ${
    check.maxKsDistance
  })${fallbackNote(check.unit, unit)}`;
  const reason = previous
    ? rejectedEarlier(check.name, previous)
    : `${check.name}: ${described}; E=${num(result.eValue)} ${result.reject ? '≥' : '<'} 1/α=${num(result.boundary)}${driftEnding(verdict, ks !== undefined && ks > check.maxKsDistance)}`;
  return {
    check: check.name,
    method: CHECK_METHOD.drift,
    verdict,
    unit,
    measurements: [
      measurement(COHORT.canary, canaryMedian, totalCount(canary)),
      measurement(COHORT.control, controlMedian, totalCount(control)),
    ],
    statistic: statistic(result),
    ...(ks === undefined ? {} : { effect: { name: 'ks_distance', value: ks } }),
    reason,
  };
}
