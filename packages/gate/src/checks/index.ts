/** Every enabled check, in the order evidence lists them. */
import { VERDICT } from '@agent-canary/conventions';
import type { GateConfig, ResolvedCheck } from '../options.js';
import { RATE_SIGNAL } from '../tally.js';
import { CHECK_METHOD, type CheckEvidence } from '../types.js';
import type { CheckInputs } from './common.js';
import { lengthDrift, toolMixDrift } from './drift.js';
import { latencySequential } from './latency.js';
import { rateSequential, rateUnit } from './rates.js';
import { thresholdChecks as thresholds } from './thresholds.js';

export type { CheckInputs, EpochCounts } from './common.js';
export { epochCounts } from './common.js';
export { ksBetween } from './drift.js';

const observeOnly = new WeakMap<GateConfig, ReadonlySet<string>>();

/** Names of a configuration's observe-only checks (resolved configurations are frozen: computed once). */
function observeOnlyOf(config: GateConfig): ReadonlySet<string> {
  let names = observeOnly.get(config);
  if (names === undefined) {
    names = new Set(
      Object.values(config.checks)
        .filter((check) => check.observe)
        .map((check) => check.name as string),
    );
    observeOnly.set(config, names);
  }
  return names;
}

/** Marks the evidence of observe-only checks: shown everywhere, never acted on. */
function observed(inputs: CheckInputs, evidence: CheckEvidence[]): CheckEvidence[] {
  const observe = observeOnlyOf(inputs.config);
  if (observe.size === 0) return evidence;
  return evidence.map((e) => (observe.has(e.check) ? { ...e, observeOnly: true } : e));
}

/** All threshold checks of the article's table that are enabled. */
export function thresholdChecks(inputs: CheckInputs): CheckEvidence[] {
  return observed(inputs, thresholds(inputs));
}

/** All sequential and drift checks that are enabled and hold alpha. */
export function sequentialChecks(inputs: CheckInputs): CheckEvidence[] {
  const { checks } = inputs.config;
  const { state } = inputs;
  const out: CheckEvidence[] = [];
  const on = (check: ResolvedCheck) => check.enabled && check.alpha > 0;
  if (on(checks.latencyP99)) out.push(latencySequential(inputs, state.latencyReference));
  if (on(checks.errorRate)) out.push(rateSequential(inputs, checks.errorRate, RATE_SIGNAL.error));
  if (on(checks.toolSuccessRate)) out.push(rateSequential(inputs, checks.toolSuccessRate, RATE_SIGNAL.tool));
  if (on(checks.refusalRate)) out.push(rateSequential(inputs, checks.refusalRate, RATE_SIGNAL.refusal));
  if (on(checks.thumbsDownRate)) out.push(rateSequential(inputs, checks.thumbsDownRate, RATE_SIGNAL.thumbsDown));
  if (on(checks.similarity)) {
    // Without similarity scores on control there is nothing to bet on: every low score
    // would be a canary one, and the test would fire on an A/A.
    const unit = rateUnit(inputs, RATE_SIGNAL.lowSimilarity, checks.similarity.unit);
    if (inputs.windows.cohorts.control.similarity.count > 0) {
      out.push(rateSequential(inputs, checks.similarity, RATE_SIGNAL.lowSimilarity));
    } else {
      out.push({
        check: checks.similarity.name,
        method: CHECK_METHOD.sequential,
        verdict: VERDICT.inconclusive,
        unit,
        measurements: [],
        reason: `${checks.similarity.name}: control answers carry no similarity score, so there is no comparison to test; only the threshold applies.`,
      });
    }
  }
  if (on(checks.toolMix)) out.push(toolMixDrift(inputs));
  if (on(checks.responseLength)) out.push(lengthDrift(inputs, state.lengthReference));
  return observed(inputs, out);
}
