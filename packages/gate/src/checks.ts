import { COHORT, type Cohort, VERDICT, type Verdict } from '@agent-canary/conventions';
import { boundedMeanBounds, boundedMeanTest } from '@agent-canary/stats';
import { countAbove, quantileOf, totalCount } from './buckets.js';
import {
  ANALYSIS_UNIT,
  GATE_EVIDENCE,
  GATE_MODE,
  type GateConfig,
  type RateCheckConfig,
  type ResolvedCheck,
} from './config.js';
import {
  type EProcessResult,
  latencyEProcess,
  mixEProcess,
  type RankCounts,
  rankScoreEProcess,
  rateEProcess,
} from './stat-tests.js';
import type { EpochMark, FrozenReference, GateState, Tally } from './state.js';
import { isEmptyTally, subtract } from './state.js';
import { distributionUnit, latencyOf, lengthOf, RATE_SIGNAL, type RateSignal, rateCounts } from './tally.js';
import { CHECK_METHOD, type CheckEvidence, type CohortMeasurement } from './types.js';
import type { BucketCounts, CohortWindow, CohortWindows } from './windows.js';

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

const percent = (value: number): string => `${(value * 100).toFixed(value < 0.01 ? 2 : 1)}%`;
const num = (value: number): string => {
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (Math.abs(value) >= 1000) return value.toExponential(2);
  return Number(value.toPrecision(3)).toString();
};

function measurement(cohort: Cohort, value: number | undefined, samples: number): CohortMeasurement {
  return value === undefined || !Number.isFinite(value) ? { cohort, samples } : { cohort, value, samples };
}

/** e-value at least the square root of its boundary (half-way in log scale) without crossing. */
function building(result: EProcessResult): boolean {
  return !result.reject && result.eValue >= Math.sqrt(result.boundary);
}

function statistic(result: EProcessResult) {
  return { eValue: result.eValue, boundary: result.boundary, alpha: result.alpha };
}

function enoughArms(inputs: CheckInputs, canary: number, control: number): boolean {
  return canary >= inputs.config.minSamples && control >= inputs.config.minSamples;
}

/** Decision mode: only failing checks get their evidence built (see `GATE_EVIDENCE`). */
function lean(inputs: CheckInputs): boolean {
  return inputs.config.evidence === GATE_EVIDENCE.decision;
}

/** A verdict without its evidence (decision mode, non-failing checks). */
function brief(
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

function rejectedReason(state: GateState, check: string): string | undefined {
  return state.rejected[check];
}

const RATE_LABEL: Record<string, string> = {
  error: 'failed turns',
  tool: 'failed tool calls',
  refusal: 'refusals',
  thumbs: 'thumbs-down',
  lowsim: 'answers below the similarity minimum',
};

/**
 * Sequential T-RATE evidence for a rate check: canary vs control adverse events per
 * epoch, relative risk with anytime bounds.
 */
export function rateSequential(
  inputs: CheckInputs,
  check: ResolvedCheck & { readonly maxRelativeRisk: number },
  signal: RateSignal,
  unit: string,
): CheckEvidence {
  const { windows } = inputs;
  const min = inputs.config.checks.similarity.min;
  const canary = rateCounts(windows.cohorts.canary, signal, unit, min);
  const control = rateCounts(windows.cohorts.control, signal, unit, min);
  const epochs = inputs.epochs.map(({ mark, counts }) => ({
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
  const measurements = [
    measurement(COHORT.canary, canaryRate, canary.exposure),
    measurement(COHORT.control, controlRate, control.exposure),
  ];
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
  const rates = `canary ${canaryRate === undefined ? 'n/a' : percent(canaryRate)} vs control ${
    controlRate === undefined ? 'n/a' : percent(controlRate)
  } ${label} per ${canary.unit}`;
  const bounds = `RR ${rr === undefined ? 'n/a' : num(rr)} [${num(result.rrLower)}, ${num(result.rrUpper)}]`;
  let verdict: Verdict;
  let reason: string;
  if (result.reject || previous) {
    verdict = VERDICT.fail;
    reason = result.reject
      ? `${check.name}: the canary has more ${label} than control (${rates}, ${bounds}); E=${num(result.eValue)} crossed 1/α=${num(result.boundary)}.`
      : `${check.name}: rejected earlier (${previous}); rejections are final.`;
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
    measurements,
    statistic: statistic(result),
    ...(effect ? { effect } : {}),
    reason,
  };
}

/** Warn or pass for a value that meets its limit: warn within `warnMarginFraction` of it. */
function closeToLimit(
  value: number,
  spec: { readonly operator: '<' | '>'; readonly limit: number; readonly fraction: boolean },
  config: GateConfig,
): Verdict {
  const margin = config.warnMarginFraction;
  let close: boolean;
  if (spec.operator === '<') close = value >= spec.limit * (1 - margin);
  else if (spec.fraction) close = 1 - value >= (1 - spec.limit) * (1 - margin);
  else close = value <= spec.limit * (1 + margin);
  return close ? VERDICT.warn : VERDICT.pass;
}

/** How a threshold's bound reads next to its value. */
const BOUND_SCALE = {
  /** The value is the adverse mean itself (error rate, toxicity): its lower bound. */
  same: 'same',
  /** The value is 1 − the adverse mean (tool success, similarity): its upper bound. */
  complement: 'complement',
  /** The adverse mean is the share above the limit (p99 latency). */
  exceedance: 'exceedance',
} as const;
type BoundScale = (typeof BOUND_SCALE)[keyof typeof BOUND_SCALE];

/** One absolute threshold: the value the article compares, and the evidence that judges it. */
export interface ThresholdSpec {
  readonly operator: '<' | '>';
  readonly limit: number;
  readonly unit: string;
  readonly describe: (value: number) => string;
  readonly measure: (window: CohortWindow) => { value: number | undefined; samples: number };
  /** Fraction-valued metrics warn on the complement's margin (success 0.95 → failure 0.05). */
  readonly fraction: boolean;
  /**
   * Observations in [0, 1] whose mean must stay at most `adverseLimit` for the threshold
   * to hold: the canary's failures, exceedances or scores, summed.
   */
  readonly adverse: (window: CohortWindow) => { sum: number; count: number };
  readonly adverseLimit: number;
  readonly scale: BoundScale;
  /** Name of the effect in the evidence (`error_rate`, `share_above_limit`, ...). */
  readonly effectName: string;
}

/**
 * Anytime-valid test "adverse mean > limit" of a threshold, at `thresholdAlpha`. A limit
 * of 0 (or 1) needs no statistics: one adverse event breaks it (nothing can).
 */
function thresholdTest(
  adverse: { sum: number; count: number },
  limit: number,
  alpha: number,
): Pick<EProcessResult, 'eValue' | 'boundary' | 'alpha' | 'reject'> {
  // Scores outside [0, 1] would void the bound; sources promise 0..1, clamp any slip.
  const sum = Math.min(adverse.count, Math.max(0, adverse.sum));
  if (limit <= 0 || limit >= 1) {
    const reject = limit <= 0 && sum > 0;
    return { eValue: reject ? Number.POSITIVE_INFINITY : 1, boundary: 1 / alpha, alpha, reject };
  }
  const result = boundedMeanTest({ sum, count: adverse.count, limit, alpha });
  return { eValue: result.eValue, boundary: result.boundary, alpha, reject: result.reject };
}

function passesLimit(value: number, spec: ThresholdSpec): boolean {
  return spec.operator === '<' ? value < spec.limit : value > spec.limit;
}

/**
 * Absolute threshold on the canary's value (the article's check table). In `sequential`
 * mode it fails only on evidence: when the anytime-valid bound at `thresholdAlpha` on the
 * canary's value is past the limit; a point estimate past the limit without it warns
 * (evidence building). `weighted` mode keeps the article's rule on the point estimate.
 */
export function thresholdEvidence(inputs: CheckInputs, check: ResolvedCheck, spec: ThresholdSpec): CheckEvidence {
  const { windows, config } = inputs;
  const canary = spec.measure(windows.cohorts.canary);
  const pointOnly = config.mode === GATE_MODE.weighted;
  const adverse = spec.adverse(windows.cohorts.canary);
  const test = pointOnly ? undefined : thresholdTest(adverse, spec.adverseLimit, config.thresholdAlpha);
  const rejected = test?.reject === true;
  const enough = canary.value !== undefined && canary.samples >= config.minSamples;
  if (lean(inputs) && !rejected) {
    const stat = test ? { statistic: statistic(test) } : {};
    const value = canary.value;
    if (value === undefined || !enough) {
      return { ...brief(check.name, CHECK_METHOD.threshold, VERDICT.inconclusive, spec.unit), ...stat };
    }
    if (passesLimit(value, spec)) {
      return { ...brief(check.name, CHECK_METHOD.threshold, closeToLimit(value, spec, config), spec.unit), ...stat };
    }
    if (test) return { ...brief(check.name, CHECK_METHOD.threshold, VERDICT.warn, spec.unit), ...stat };
  }
  const control = spec.measure(windows.cohorts.control);
  const measurements = [
    measurement(COHORT.canary, canary.value, canary.samples),
    measurement(COHORT.control, control.value, control.samples),
  ];
  const threshold = { operator: spec.operator, value: spec.limit };
  const rule = `${spec.operator} ${spec.describe(spec.limit)}`;
  const measured = `canary ${canary.value === undefined ? 'n/a' : spec.describe(canary.value)} (n=${canary.samples}${
    control.value === undefined ? '' : `, control ${spec.describe(control.value)}`
  })`;
  const base = {
    check: check.name,
    method: CHECK_METHOD.threshold,
    unit: spec.unit,
    measurements,
    threshold,
    ...(test ? { statistic: statistic(test) } : {}),
  };
  if (!test) return pointThreshold(inputs, check, spec, canary, base, measured, rule);
  const bounds = boundedMeanBounds({
    sum: Math.min(adverse.count, Math.max(0, adverse.sum)),
    count: adverse.count,
    alpha: config.thresholdAlpha,
  });
  const level = `${Number(((1 - config.thresholdAlpha) * 100).toPrecision(4))}%`;
  const past = rejected ? '' : 'not ';
  let effect: CheckEvidence['effect'];
  let evidence: string;
  if (spec.scale === BOUND_SCALE.exceedance) {
    effect = { name: spec.effectName, value: bounds.mean, lower: bounds.lower, upper: bounds.upper };
    evidence = `${adverse.count > 0 ? percent(bounds.mean) : 'n/a'} of ${spec.unit}s above the limit, ${level} lower bound ${percent(
      bounds.lower,
    )} — ${past}above the ${percent(spec.adverseLimit)} a p99 within the limit allows`;
  } else if (spec.scale === BOUND_SCALE.complement) {
    effect = { name: spec.effectName, value: 1 - bounds.mean, lower: 1 - bounds.upper, upper: 1 - bounds.lower };
    evidence = `${level} upper bound ${spec.describe(1 - bounds.lower)} — ${past}below the ${spec.describe(spec.limit)} limit`;
  } else {
    effect = { name: spec.effectName, value: bounds.mean, lower: bounds.lower, upper: bounds.upper };
    evidence = `${level} lower bound ${spec.describe(bounds.lower)} — ${past}above the ${spec.describe(spec.limit)} limit`;
  }
  const withEffect = adverse.count > 0 ? { ...base, effect } : base;
  if (rejected) {
    return { ...withEffect, verdict: VERDICT.fail, reason: `${check.name}: ${measured}, ${evidence}.` };
  }
  if (canary.value === undefined || !enough) {
    return {
      ...withEffect,
      verdict: VERDICT.inconclusive,
      reason: `${check.name}: ${canary.samples} canary ${spec.unit}s measured, ${config.minSamples} needed to judge ${rule} (${evidence}).`,
    };
  }
  if (!passesLimit(canary.value, spec)) {
    return {
      ...withEffect,
      verdict: VERDICT.warn,
      reason: `${check.name}: ${measured}, ${evidence}: evidence building, not a failure yet.`,
    };
  }
  if (closeToLimit(canary.value, spec, config) === VERDICT.warn) {
    return {
      ...withEffect,
      verdict: VERDICT.warn,
      reason: `${check.name}: ${measured} is within ${percent(config.warnMarginFraction)} of the limit ${rule}.`,
    };
  }
  return { ...withEffect, verdict: VERDICT.pass, reason: `${check.name}: ${measured} meets ${rule}.` };
}

/** `weighted` mode: the article's rule, on the point estimate once `minSamples` are in. */
function pointThreshold(
  inputs: CheckInputs,
  check: ResolvedCheck,
  spec: ThresholdSpec,
  canary: { value: number | undefined; samples: number },
  base: Omit<CheckEvidence, 'verdict' | 'reason'>,
  measured: string,
  rule: string,
): CheckEvidence {
  const { config } = inputs;
  if (canary.value === undefined || canary.samples < config.minSamples) {
    return {
      ...base,
      verdict: VERDICT.inconclusive,
      reason: `${check.name}: ${canary.samples} canary ${spec.unit}s measured, ${config.minSamples} needed to judge ${rule}.`,
    };
  }
  if (!passesLimit(canary.value, spec)) {
    return { ...base, verdict: VERDICT.fail, reason: `${check.name}: ${measured} breaks the limit ${rule}.` };
  }
  if (closeToLimit(canary.value, spec, config) === VERDICT.warn) {
    return {
      ...base,
      verdict: VERDICT.warn,
      reason: `${check.name}: ${measured} is within ${percent(config.warnMarginFraction)} of the limit ${rule}.`,
    };
  }
  return { ...base, verdict: VERDICT.pass, reason: `${check.name}: ${measured} meets ${rule}.` };
}

/**
 * Observations strictly above `limit` that a bucketed distribution proves: those in
 * buckets above the first edge at or above the limit (the bucket holding the limit may
 * hold values on both sides, so it does not count: the bound stays conservative).
 */
function exceedancesAbove(buckets: BucketCounts, limit: number): { sum: number; count: number } {
  let edge = Number.POSITIVE_INFINITY;
  for (const bucket of buckets) if (bucket.upper >= limit && bucket.upper < edge) edge = bucket.upper;
  return { sum: countAbove(buckets, edge), count: totalCount(buckets) };
}

function rankEpochs(inputs: CheckInputs, which: 'lat' | 'len'): RankCounts[] {
  const out: RankCounts[] = [];
  for (const { mark, counts } of inputs.epochs) {
    const pair = counts[which];
    if (mark.ranked && pair) out.push({ rho0: mark.rho0, canary: pair[0], control: pair[1] });
  }
  return out;
}

function noReference(check: string, unit: string, what: string): CheckEvidence {
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
  if (!reference) return noReference(check.name, distributionUnit(inputs.windows, check.unit, 'latency'), 'latency');
  const epochs = rankEpochs(inputs, 'lat');
  const previous = rejectedReason(inputs.state, check.name);
  const decision = latencyEProcess(reference, epochs, check.alpha, false);
  // The body bet's own e-value is evidence only: skipped in decision mode unless failing.
  const failing = decision.reject || previous !== undefined;
  const result = lean(inputs) && !failing ? decision : latencyEProcess(reference, epochs, check.alpha, true);
  const unit = distributionUnit(inputs.windows, check.unit, 'latency');
  const canary = latencyOf(inputs.windows.cohorts.canary, unit);
  const control = latencyOf(inputs.windows.cohorts.control, unit);
  const canaryP99 = quantileOf(canary, 0.99);
  const controlP99 = quantileOf(control, 0.99);
  const ratio = canaryP99 !== undefined && controlP99 ? canaryP99 / controlP99 : undefined;
  if (lean(inputs) && !failing) {
    const verdict = building(result)
      ? VERDICT.warn
      : !enoughArms(inputs, totalCount(canary), totalCount(control))
        ? VERDICT.inconclusive
        : ratio !== undefined && ratio > check.maxQuantileRatio
          ? VERDICT.warn
          : VERDICT.pass;
    return brief(check.name, CHECK_METHOD.sequential, verdict, unit, result);
  }
  const measurements = [
    measurement(COHORT.canary, canaryP99, totalCount(canary)),
    measurement(COHORT.control, controlP99, totalCount(control)),
  ];
  const described = `canary p99 ${canaryP99 === undefined ? 'n/a' : `${num(canaryP99)} ms`} vs control ${
    controlP99 === undefined ? 'n/a' : `${num(controlP99)} ms`
  }`;
  const parts = `body bet ${num(result.body)}, averaged with the p95 and p99 exceedance tests`;
  let verdict: Verdict;
  let reason: string;
  if (result.reject || previous) {
    verdict = VERDICT.fail;
    reason = result.reject
      ? `${check.name}: the canary is slower than control (${described}); E=${num(result.eValue)} (${parts}) crossed 1/α=${num(result.boundary)}.`
      : `${check.name}: rejected earlier (${previous}); rejections are final.`;
  } else if (building(result)) {
    verdict = VERDICT.warn;
    reason = `${check.name}: evidence of a slower canary is building (${described}, E=${num(result.eValue)}).`;
  } else if (!enoughArms(inputs, totalCount(canary), totalCount(control))) {
    verdict = VERDICT.inconclusive;
    reason = `${check.name}: too few observations to judge yet (${described}).`;
  } else if (ratio !== undefined && ratio > check.maxQuantileRatio) {
    verdict = VERDICT.warn;
    reason = `${check.name}: ${described} is a ratio of ${num(ratio)} above ${check.maxQuantileRatio}, not yet significant (E=${num(result.eValue)}).`;
  } else {
    verdict = VERDICT.pass;
    reason = `${check.name}: no evidence the canary is slower (${described}, E=${num(result.eValue)} < ${num(result.boundary)}).`;
  }
  return {
    check: check.name,
    method: CHECK_METHOD.sequential,
    verdict,
    unit,
    measurements,
    statistic: statistic(result),
    ...(ratio === undefined ? {} : { effect: { name: 'p99_ratio', value: ratio } }),
    reason,
  };
}

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
 * Drift verdict rule (documented in the report): a rejection with an effect at or above
 * tolerance fails; a rejection below tolerance, or an effect above tolerance without a
 * rejection, warns; otherwise pass (or inconclusive below the minimum sample).
 */
function driftVerdict(reject: boolean, effect: number | undefined, tolerance: number, enough: boolean): Verdict {
  const large = effect !== undefined && effect >= tolerance;
  if (reject && large) return VERDICT.fail;
  if (reject || (large && enough)) return VERDICT.warn;
  return enough ? VERDICT.pass : VERDICT.inconclusive;
}

/** T-DIST: two-sided rank test of response length; KS distance as the effect. */
export function lengthDrift(inputs: CheckInputs, reference: FrozenReference | null): CheckEvidence {
  const check = inputs.config.checks.responseLength;
  const unit = distributionUnit(inputs.windows, check.unit, 'length');
  if (!reference) return noReference(check.name, unit, 'response-length');
  const result = rankScoreEProcess(reference, rankEpochs(inputs, 'len'), check.alpha);
  const canary = lengthOf(inputs.windows.cohorts.canary, unit);
  const control = lengthOf(inputs.windows.cohorts.control, unit);
  const ks = ksBetween(canary, control);
  const enough = enoughArms(inputs, totalCount(canary), totalCount(control));
  const previous = rejectedReason(inputs.state, check.name);
  const verdict = previous ? VERDICT.fail : driftVerdict(result.reject, ks, check.maxKsDistance, enough);
  if (lean(inputs) && verdict !== VERDICT.fail) return brief(check.name, CHECK_METHOD.drift, verdict, unit, result);
  const canaryMedian = quantileOf(canary, 0.5);
  const controlMedian = quantileOf(control, 0.5);
  const described = `median length canary ${canaryMedian === undefined ? 'n/a' : num(canaryMedian)} vs control ${
    controlMedian === undefined ? 'n/a' : num(controlMedian)
  } chars, KS ${ks === undefined ? 'n/a' : num(ks)} (tolerance ${check.maxKsDistance})`;
  const reason = previous
    ? `${check.name}: rejected earlier (${previous}); rejections are final.`
    : `${check.name}: ${described}; E=${num(result.eValue)} ${result.reject ? '≥' : '<'} 1/α=${num(result.boundary)}${
        verdict === VERDICT.warn ? ' (drift without both significance and size: warn)' : ''
      }.`;
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

function shares(counts: Readonly<Record<string, number>>): { total: number; shares: Map<string, number> } {
  let total = 0;
  for (const value of Object.values(counts)) total += value;
  const out = new Map<string, number>();
  for (const [key, value] of Object.entries(counts)) out.set(key, total > 0 ? value / total : 0);
  return { total, shares: out };
}

/** T-MIX: canary vs control tool-call mix; largest per-tool share change as the effect. */
export function toolMixDrift(inputs: CheckInputs): CheckEvidence {
  const check = inputs.config.checks.toolMix;
  const result = mixEProcess(
    inputs.epochs.map(({ mark, counts }) => ({
      rho0: mark.rho0,
      canary: counts.mix[0],
      control: counts.mix[1],
    })),
    check.alpha,
    inputs.state.toolReference ?? undefined,
  );
  const byName = (w: CohortWindow) =>
    Object.fromEntries(Object.entries(w.toolCallsByName).map(([k, v]) => [k, v.calls]));
  const canary = shares(byName(inputs.windows.cohorts.canary));
  const control = shares(byName(inputs.windows.cohorts.control));
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
  const enough = enoughArms(inputs, canary.total, control.total);
  const previous = rejectedReason(inputs.state, check.name);
  const verdict = previous ? VERDICT.fail : driftVerdict(result.reject, drift, check.maxShareDrift, enough);
  if (lean(inputs) && verdict !== VERDICT.fail) {
    return brief(check.name, CHECK_METHOD.drift, verdict, ANALYSIS_UNIT.toolCall, result);
  }
  const moved =
    drift === undefined
      ? 'no tool calls in one of the arms'
      : `largest share change ${percent(drift)} on ${tool} (canary ${percent(canary.shares.get(tool) ?? 0)} vs control ${percent(
          control.shares.get(tool) ?? 0,
        )}, tolerance ${percent(check.maxShareDrift)})`;
  const reason = previous
    ? `${check.name}: rejected earlier (${previous}); rejections are final.`
    : `${check.name}: ${moved}; E=${num(result.eValue)} ${result.reject ? '≥' : '<'} 1/α=${num(result.boundary)}.`;
  return {
    check: check.name,
    method: CHECK_METHOD.drift,
    verdict,
    unit: ANALYSIS_UNIT.toolCall,
    measurements: [measurement(COHORT.canary, drift, canary.total), measurement(COHORT.control, 0, control.total)],
    statistic: statistic(result),
    ...(drift === undefined ? {} : { effect: { name: 'max_share_drift', value: drift } }),
    reason,
  };
}

/** Threshold specs of the rate checks, for both modes. */
export function rateThreshold(
  inputs: CheckInputs,
  check: RateCheckConfig,
  signal: 'error' | 'tool' | 'refusal' | 'thumbs',
): CheckEvidence | undefined {
  if (check.limit === undefined) return undefined;
  const success = signal === RATE_SIGNAL.tool;
  const counts = (w: CohortWindow) => rateCounts(w, signal, ANALYSIS_UNIT.request, 0);
  return thresholdEvidence(inputs, check, {
    operator: success ? '>' : '<',
    limit: check.limit,
    unit: success ? ANALYSIS_UNIT.toolCall : ANALYSIS_UNIT.request,
    describe: percent,
    fraction: true,
    measure: (w) => {
      const c = counts(w);
      if (c.exposure === 0) return { value: undefined, samples: 0 };
      const rate = c.events / c.exposure;
      return { value: success ? 1 - rate : rate, samples: c.exposure };
    },
    adverse: (w) => {
      const c = counts(w);
      return { sum: c.events, count: c.exposure };
    },
    adverseLimit: success ? 1 - check.limit : check.limit,
    scale: success ? BOUND_SCALE.complement : BOUND_SCALE.same,
    effectName: check.name,
  });
}

/** All threshold checks of the article's table that are enabled. */
export function thresholdChecks(inputs: CheckInputs): CheckEvidence[] {
  const { checks } = inputs.config;
  const out: CheckEvidence[] = [];
  if (checks.latencyP99.enabled) {
    const maxMillis = checks.latencyP99.maxMillis;
    out.push(
      thresholdEvidence(inputs, checks.latencyP99, {
        operator: '<',
        limit: maxMillis,
        unit: ANALYSIS_UNIT.request,
        describe: (v) => `${num(v)} ms (p99)`,
        fraction: false,
        measure: (w) => ({ value: quantileOf(w.latencyMillis, 0.99), samples: totalCount(w.latencyMillis) }),
        // p99 > L exactly when more than 1% of requests take longer than L.
        adverse: (w) => exceedancesAbove(w.latencyMillis, maxMillis),
        adverseLimit: 0.01,
        scale: BOUND_SCALE.exceedance,
        effectName: 'share_above_limit',
      }),
    );
  }
  const rates: [RateCheckConfig, 'error' | 'tool' | 'refusal' | 'thumbs'][] = [
    [checks.errorRate, RATE_SIGNAL.error],
    [checks.toolSuccessRate, RATE_SIGNAL.tool],
    [checks.refusalRate, RATE_SIGNAL.refusal],
    [checks.thumbsDownRate, RATE_SIGNAL.thumbsDown],
  ];
  for (const [check, signal] of rates) {
    if (!check.enabled) continue;
    const evidence = rateThreshold(inputs, check, signal);
    if (evidence) out.push(evidence);
  }
  if (checks.similarity.enabled) {
    out.push(
      thresholdEvidence(inputs, checks.similarity, {
        operator: '>',
        limit: checks.similarity.min,
        unit: ANALYSIS_UNIT.request,
        describe: (v) => `${num(v)} mean similarity`,
        fraction: true,
        measure: (w) => ({
          value: w.similarity.count > 0 ? w.similarity.sum / w.similarity.count : undefined,
          samples: w.similarity.count,
        }),
        // Dissimilarity 1 − s is in [0, 1] too: its mean must stay at most 1 − min.
        adverse: (w) => ({ sum: w.similarity.count - w.similarity.sum, count: w.similarity.count }),
        adverseLimit: 1 - checks.similarity.min,
        scale: BOUND_SCALE.complement,
        effectName: 'mean_similarity',
      }),
    );
  }
  if (checks.toxicity.enabled) {
    out.push(
      thresholdEvidence(inputs, checks.toxicity, {
        operator: '<',
        limit: checks.toxicity.max,
        unit: ANALYSIS_UNIT.request,
        describe: (v) => `${num(v)} mean toxicity`,
        fraction: false,
        measure: (w) => ({
          value: w.toxicity.count > 0 ? w.toxicity.sum / w.toxicity.count : undefined,
          samples: w.toxicity.count,
        }),
        adverse: (w) => ({ sum: w.toxicity.sum, count: w.toxicity.count }),
        adverseLimit: checks.toxicity.max,
        scale: BOUND_SCALE.same,
        effectName: 'mean_toxicity',
      }),
    );
  }
  return out;
}

/** All sequential and drift checks that are enabled and hold alpha. */
export function sequentialChecks(inputs: CheckInputs): CheckEvidence[] {
  const { checks } = inputs.config;
  const { state } = inputs;
  const out: CheckEvidence[] = [];
  const on = (check: ResolvedCheck) => check.enabled && check.alpha > 0;
  if (on(checks.latencyP99)) out.push(latencySequential(inputs, state.latencyReference));
  if (on(checks.errorRate))
    out.push(rateSequential(inputs, checks.errorRate, RATE_SIGNAL.error, checks.errorRate.unit));
  if (on(checks.toolSuccessRate)) {
    out.push(rateSequential(inputs, checks.toolSuccessRate, RATE_SIGNAL.tool, checks.toolSuccessRate.unit));
  }
  if (on(checks.refusalRate)) {
    out.push(rateSequential(inputs, checks.refusalRate, RATE_SIGNAL.refusal, checks.refusalRate.unit));
  }
  if (on(checks.thumbsDownRate)) {
    out.push(rateSequential(inputs, checks.thumbsDownRate, RATE_SIGNAL.thumbsDown, checks.thumbsDownRate.unit));
  }
  if (on(checks.similarity)) {
    // Without similarity scores on control there is nothing to bet on: every low score
    // would be a canary one, and the test would fire on an A/A.
    if (inputs.windows.cohorts.control.similarity.count > 0) {
      out.push(rateSequential(inputs, checks.similarity, RATE_SIGNAL.lowSimilarity, ANALYSIS_UNIT.request));
    } else {
      out.push({
        check: checks.similarity.name,
        method: CHECK_METHOD.sequential,
        verdict: VERDICT.inconclusive,
        unit: ANALYSIS_UNIT.request,
        measurements: [],
        reason: `${checks.similarity.name}: control answers carry no similarity score, so there is no comparison to test; only the threshold applies.`,
      });
    }
  }
  if (on(checks.toolMix)) out.push(toolMixDrift(inputs));
  if (on(checks.responseLength)) out.push(lengthDrift(inputs, state.lengthReference));
  return out;
}
