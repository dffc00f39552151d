/**
 * The article's absolute thresholds (p99 latency, error rate, tool success, refusal rate,
 * thumbs-down, similarity, toxicity) on the canary alone. In sequential mode a threshold
 * fails only on evidence: when the anytime-valid bound at the check's `thresholdAlpha` on
 * the canary's value is past the limit. At the subject unit the value is over each
 * subject's first observation, which makes the bound valid however a user's requests are
 * correlated (they are independent draws across users).
 */
import { COHORT, VERDICT, type Verdict } from '@agent-canary/conventions';
import { boundedMeanBounds, boundedMeanTest } from '@agent-canary/stats';
import { countAbove, quantileOf, totalCount } from '../buckets.js';
import { ANALYSIS_UNIT, GATE_MODE, type GateConfig, type RateCheckConfig, type ResolvedCheck } from '../options.js';
import type { EProcessResult } from '../stat-tests.js';
import { effectiveUnit, latencyOf, RATE_SIGNAL, SUBJECT_DATA, similarityOf, toxicityOf } from '../tally.js';
import { CHECK_METHOD, type CheckEvidence } from '../types.js';
import type { BucketCounts, CohortWindow } from '../windows.js';
import { brief, type CheckInputs, fallbackNote, lean, measurement, num, percent, statistic } from './common.js';

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
interface ThresholdSpec {
  readonly operator: '<' | '>';
  readonly limit: number;
  /** Unit the value is over (after any fallback), and the unit the check asked for. */
  readonly unit: string;
  readonly requestedUnit: string;
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
 * Anytime-valid test "adverse mean > limit" of a threshold. A limit of 0 (or 1) needs no
 * statistics: one adverse event breaks it (nothing can).
 */
function thresholdTest(adverse: { sum: number; count: number }, limit: number, alpha: number): EProcessResult {
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

/** Threshold evidence of one check: sequential mode judges the bound, weighted mode the point estimate. */
function thresholdEvidence(inputs: CheckInputs, check: ResolvedCheck, spec: ThresholdSpec): CheckEvidence {
  const { windows, config } = inputs;
  const canary = spec.measure(windows.cohorts.canary);
  const pointOnly = config.mode === GATE_MODE.weighted;
  const adverse = spec.adverse(windows.cohorts.canary);
  // Bets only on "above the limit": with the mean at or below it, no bet ever gains
  // (Σ ln(1 + λ(x − m)) ≤ λ·Σ(x − m) ≤ 0), so decision mode skips the test then.
  const canReject = adverse.count > 0 && adverse.sum / adverse.count > spec.adverseLimit;
  const test =
    pointOnly || (lean(inputs) && !canReject)
      ? undefined
      : thresholdTest(adverse, spec.adverseLimit, check.thresholdAlpha);
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
    if (!pointOnly) return { ...brief(check.name, CHECK_METHOD.threshold, VERDICT.warn, spec.unit), ...stat };
  }
  const control = spec.measure(windows.cohorts.control);
  const measurements = [
    measurement(COHORT.canary, canary.value, canary.samples),
    measurement(COHORT.control, control.value, control.samples),
  ];
  const threshold = { operator: spec.operator, value: spec.limit };
  const rule = `${spec.operator} ${spec.describe(spec.limit)}`;
  const measured = `canary ${canary.value === undefined ? 'n/a' : spec.describe(canary.value)} (${canary.samples} ${spec.unit}s${
    control.value === undefined ? '' : `, control ${spec.describe(control.value)}`
  })${fallbackNote(spec.requestedUnit, spec.unit)}`;
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
    alpha: check.thresholdAlpha,
  });
  const level = `${Number(((1 - check.thresholdAlpha) * 100).toPrecision(4))}%`;
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

/** Adverse units and exposure of a rate threshold at `unit` (subject: each subject's first observation). */
function rateObservations(
  window: CohortWindow,
  signal: 'error' | 'tool' | 'refusal' | 'thumbs',
  unit: string,
): { events: number; exposure: number } {
  const firsts = window.subjectFirsts;
  if (unit === ANALYSIS_UNIT.subject && firsts !== undefined) {
    switch (signal) {
      case RATE_SIGNAL.error:
        return { events: firsts.turnErrors, exposure: firsts.turns };
      case RATE_SIGNAL.refusal:
        return { events: firsts.turnRefusals, exposure: firsts.turns };
      case RATE_SIGNAL.thumbsDown:
        return { events: firsts.thumbsDown, exposure: firsts.ratings };
      case RATE_SIGNAL.tool: {
        let calls = 0;
        let failures = 0;
        for (const counts of Object.values(firsts.toolsByName)) {
          calls += counts.calls;
          failures += counts.failures;
        }
        return { events: failures, exposure: calls };
      }
    }
  }
  switch (signal) {
    case RATE_SIGNAL.error:
      return { events: window.errors, exposure: window.requests };
    case RATE_SIGNAL.refusal:
      return { events: window.refusals, exposure: window.requests };
    case RATE_SIGNAL.thumbsDown:
      return { events: window.thumbsDown, exposure: window.feedback };
    case RATE_SIGNAL.tool:
      return { events: window.toolFailures, exposure: window.toolCalls };
  }
}

/** The threshold of a rate check, at its unit. */
function rateThreshold(
  inputs: CheckInputs,
  check: RateCheckConfig,
  signal: 'error' | 'tool' | 'refusal' | 'thumbs',
): CheckEvidence | undefined {
  if (check.limit === undefined) return undefined;
  const success = signal === RATE_SIGNAL.tool;
  const unit = effectiveUnit(inputs.windows, check.unit, SUBJECT_DATA.firsts);
  const shownUnit = unit === ANALYSIS_UNIT.subject ? unit : success ? ANALYSIS_UNIT.toolCall : ANALYSIS_UNIT.request;
  return thresholdEvidence(inputs, check, {
    operator: success ? '>' : '<',
    limit: check.limit,
    unit: shownUnit,
    requestedUnit: check.unit,
    describe: percent,
    fraction: true,
    measure: (w) => {
      const c = rateObservations(w, signal, unit);
      if (c.exposure === 0) return { value: undefined, samples: 0 };
      const rate = c.events / c.exposure;
      return { value: success ? 1 - rate : rate, samples: c.exposure };
    },
    adverse: (w) => {
      const c = rateObservations(w, signal, unit);
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
  const { windows } = inputs;
  const out: CheckEvidence[] = [];
  if (checks.latencyP99.enabled) {
    const check = checks.latencyP99;
    const maxMillis = check.maxMillis;
    const unit = effectiveUnit(windows, check.unit, SUBJECT_DATA.latency);
    out.push(
      thresholdEvidence(inputs, check, {
        operator: '<',
        limit: maxMillis,
        unit,
        requestedUnit: check.unit,
        describe: (v) => `${num(v)} ms (p99)`,
        fraction: false,
        measure: (w) => ({ value: quantileOf(latencyOf(w, unit), 0.99), samples: totalCount(latencyOf(w, unit)) }),
        // p99 > L exactly when more than 1% of the units take longer than L.
        adverse: (w) => exceedancesAbove(latencyOf(w, unit), maxMillis),
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
    const check = checks.similarity;
    const unit = effectiveUnit(windows, check.unit, SUBJECT_DATA.firsts);
    out.push(
      thresholdEvidence(inputs, check, {
        operator: '>',
        limit: check.min,
        unit,
        requestedUnit: check.unit,
        describe: (v) => `${num(v)} mean similarity`,
        fraction: true,
        measure: (w) => {
          const scores = similarityOf(w, unit);
          return { value: scores.count > 0 ? scores.sum / scores.count : undefined, samples: scores.count };
        },
        // Dissimilarity 1 − s is in [0, 1] too: its mean must stay at most 1 − min.
        adverse: (w) => {
          const scores = similarityOf(w, unit);
          return { sum: scores.count - scores.sum, count: scores.count };
        },
        adverseLimit: 1 - check.min,
        scale: BOUND_SCALE.complement,
        effectName: 'mean_similarity',
      }),
    );
  }
  if (checks.toxicity.enabled) {
    const check = checks.toxicity;
    const unit = effectiveUnit(windows, check.unit, SUBJECT_DATA.firsts);
    out.push(
      thresholdEvidence(inputs, check, {
        operator: '<',
        limit: check.max,
        unit,
        requestedUnit: check.unit,
        describe: (v) => `${num(v)} mean toxicity`,
        fraction: false,
        measure: (w) => {
          const scores = toxicityOf(w, unit);
          return { value: scores.count > 0 ? scores.sum / scores.count : undefined, samples: scores.count };
        },
        adverse: (w) => {
          const scores = toxicityOf(w, unit);
          return { sum: scores.sum, count: scores.count };
        },
        adverseLimit: check.max,
        scale: BOUND_SCALE.same,
        effectName: 'mean_toxicity',
      }),
    );
  }
  return out;
}
