/**
 * The quality gate: `createGate` reads the cohort windows, advances the state
 * (`advance.ts`), runs the sample-ratio check (`sample-ratio.ts`), the sequential tests and
 * the thresholds (`checks/`), and combines their evidence into one verdict.
 */
import { type Cohort, VERDICT, type Verdict } from '@agent-canary/conventions';
import { diag } from '@opentelemetry/api';
import { advance, rhoOf } from './advance.js';
import { epochCounts, sequentialChecks, thresholdChecks } from './checks/index.js';
import type { GateContext, GateEvaluation, GateEvaluator, JsonValue } from './evaluator.js';
import { GATE_EVIDENCE, GATE_MODE, type GateConfig } from './options.js';
import { promotionReadiness } from './promotion.js';
import { sampleRatio } from './sample-ratio.js';
import { initialState, readState, toJson } from './state.js';
import type { CheckEvidence, GateResult } from './types.js';
import type { CohortWindows, MetricSource } from './windows.js';

function counts(windows: CohortWindows | undefined, key: 'requests' | 'subjects'): Record<Cohort, number> {
  return {
    stable: windows?.cohorts.stable[key] ?? 0,
    canary: windows?.cohorts.canary[key] ?? 0,
    control: windows?.cohorts.control[key] ?? 0,
  };
}

function worst(checks: readonly CheckEvidence[], verdict: Verdict): CheckEvidence[] {
  return checks.filter((c) => c.verdict === verdict);
}

/** The article's weighted score over threshold checks: Σ weights of passing checks / Σ weights measured. */
function weightedVerdict(
  config: GateConfig,
  thresholds: readonly CheckEvidence[],
): { verdict: Verdict; reason: string } {
  const weights = new Map<string, number>(Object.values(config.checks).map((c) => [c.name, c.weight]));
  let total = 0;
  let passed = 0;
  for (const evidence of thresholds) {
    if (evidence.verdict === VERDICT.inconclusive || evidence.observeOnly === true) continue;
    const weight = weights.get(evidence.check) ?? 0;
    total += weight;
    if (evidence.verdict !== VERDICT.fail) passed += weight;
  }
  if (total === 0)
    return { verdict: VERDICT.inconclusive, reason: 'no check has enough data for a weighted score yet' };
  const score = passed / total;
  const { passScore, warnScore } = config.weighted;
  const verdict = score >= passScore ? VERDICT.pass : score >= warnScore ? VERDICT.warn : VERDICT.fail;
  return {
    verdict,
    reason: `weighted score ${score.toFixed(2)} (${passed} of ${total} weight passing; pass ≥ ${passScore}, warn ≥ ${warnScore})`,
  };
}

function inconclusive(
  context: GateContext,
  reason: string,
  windows?: CohortWindows,
  checks: CheckEvidence[] = [],
): GateResult {
  return {
    verdict: VERDICT.inconclusive,
    sequentialFailure: false,
    thresholdFailure: false,
    sampleRatioMismatch: false,
    requests: counts(windows, 'requests'),
    subjects: counts(windows, 'subjects'),
    checks,
    reason,
    evaluatedAtMillis: context.nowMillis,
  };
}

function sentence(checks: readonly CheckEvidence[]): string {
  return checks.map((c) => c.reason.replace(/\.$/, '')).join('; ');
}

/**
 * The quality gate: reads cohort windows since the rollout start from `source`, runs the
 * canary-vs-control anytime-valid tests, the article's absolute thresholds and the
 * sample-ratio test, and returns a verdict with evidence and the state to persist.
 *
 * Verdict rule: `fail` if any sequential test crossed its boundary (`sequentialFailure`,
 * roll back at once) or any threshold failed (`thresholdFailure`, the controller rolls
 * back after N consecutive ones): in sequential mode a threshold fails only when its
 * anytime-valid bound at its share of `alphaTotal` is past the limit; `inconclusive` during
 * warm-up, below `minSamples` canary or control requests, when the source cannot answer,
 * and while a sample-ratio mismatch freezes verdicts; `warn` when a threshold's point
 * estimate is past its limit without that evidence or within `warnMarginFraction` of it,
 * a sequential e-value passed the square root of its boundary, or a drift effect exceeds
 * its tolerance without significance; `pass` otherwise.
 *
 * With `evidence: 'decision'` only failing checks carry reasons, bounds and quantiles
 * (a few times cheaper per evaluation, for simulations); decisions and state are the
 * same as with the default `'full'`.
 *
 * @example
 * const gate = createGate(resolveGateConfig(), inProcessSource(processor));
 * const { result, state } = await gate.evaluate({ ...context, state: previousState });
 */
export function createGate(config: GateConfig, source: MetricSource): GateEvaluator {
  async function read(context: GateContext) {
    try {
      return await source.read({
        flagKey: context.flagKey,
        rolloutId: context.rolloutId,
        releases: { canary: context.canaryRelease, stable: context.stableRelease },
        sinceMillis: context.startedAtMillis,
        untilMillis: context.nowMillis,
      });
    } catch (error) {
      // Sources promise not to throw; one that does must not take the controller down.
      diag.error(`agent-canary gate: metric source ${source.name} threw`, error);
      return { ok: false as const, reason: `metric source ${source.name} failed: ${String(error)}` };
    }
  }

  async function evaluate(context: GateContext): Promise<GateEvaluation> {
    try {
      return await judge(context);
    } catch (error) {
      // A decision returns a result with a reason: a bug or bad data must not crash the controller.
      diag.error('agent-canary gate: evaluation failed', error);
      const kept = readState(context.state, context.rolloutId) ?? initialState(context.rolloutId);
      return {
        result: inconclusive(context, `inconclusive: the gate could not evaluate (${String(error)}).`),
        state: toJson(kept),
      };
    }
  }

  async function judge(context: GateContext): Promise<GateEvaluation> {
    const previous = readState(context.state, context.rolloutId) ?? initialState(context.rolloutId);
    const answer = await read(context);
    if (!answer.ok) {
      return {
        result: inconclusive(context, `inconclusive: no metrics (${answer.reason}).`),
        state: toJson(previous),
      };
    }
    const { windows } = answer;
    const advanced = advance(config, context, windows, previous);
    let state = advanced.state;
    const { tally } = advanced;
    const srm = sampleRatio(config, state, tally);
    if (srm && srm.verdict === VERDICT.fail && !state.sampleRatioMismatch) {
      state = { ...state, sampleRatioMismatch: srm.reason };
    }
    const requests = counts(windows, 'requests');
    const subjects = counts(windows, 'subjects');
    const srmChecks = srm ? [srm] : [];
    const base = { requests, subjects, evaluatedAtMillis: context.nowMillis };
    if (state.sampleRatioMismatch) {
      return {
        result: {
          ...base,
          verdict: VERDICT.inconclusive,
          sequentialFailure: false,
          thresholdFailure: false,
          sampleRatioMismatch: true,
          checks: srmChecks,
          reason: `inconclusive: sample-ratio mismatch, verdicts are frozen; revert or investigate routing, never promote (${srm?.reason ?? state.sampleRatioMismatch}).`,
        },
        state: toJson(state),
      };
    }
    const inputs = { config, windows, epochs: epochCounts(state.epochs, tally), state };
    if (state.warmupEndedAtMillis === null) {
      // The rate tests need no reference and are valid from the first request: they run
      // (and a hard break rolls back) during warm-up too; the distribution and mix tests
      // start once warm-up froze their references, the thresholds once it ended.
      const early =
        config.mode === GATE_MODE.sequential && rhoOf(context) !== undefined ? sequentialChecks(inputs) : [];
      const failed = worst(
        early.filter((c) => c.observeOnly !== true),
        VERDICT.fail,
      );
      if (failed.length > 0) {
        const rejected = { ...state.rejected };
        for (const evidence of failed) rejected[evidence.check] ??= evidence.reason;
        return {
          result: {
            ...base,
            verdict: VERDICT.fail,
            sequentialFailure: true,
            thresholdFailure: false,
            sampleRatioMismatch: false,
            checks: [...early, ...srmChecks],
            reason: `fail (during warm-up): ${sentence(failed)}.`,
          },
          state: toJson({ ...state, rejected }),
        };
      }
      const elapsed = Math.round((context.nowMillis - context.startedAtMillis) / 1000);
      return {
        result: {
          ...inconclusive(context, '', windows, [...early, ...srmChecks]),
          reason: `inconclusive: warming up (${elapsed} s, ${requests.stable} stable and ${requests.canary} canary requests; ends at ${Math.round(
            config.warmup.minMillis / 1000,
          )} s or at ${config.warmup.minStableRequests} stable and ${config.warmup.minCanaryRequests} canary requests); the rate tests and the sample-ratio test run, the others start after it.`,
        },
        state: toJson(state),
      };
    }
    const thresholds = thresholdChecks(inputs);
    if (config.mode === GATE_MODE.weighted) {
      const weighted = weightedVerdict(config, thresholds);
      const result: GateResult = {
        ...base,
        verdict: weighted.verdict,
        sequentialFailure: false,
        thresholdFailure: weighted.verdict === VERDICT.fail,
        sampleRatioMismatch: false,
        checks: [...thresholds, ...srmChecks],
        reason: `${weighted.verdict}: ${weighted.reason}.`,
      };
      return { result, state: toJson(state) };
    }
    if (rhoOf(context) === undefined) {
      return {
        result: inconclusive(
          context,
          'inconclusive: canary or control has no traffic share, nothing to compare.',
          windows,
          [...thresholds, ...srmChecks],
        ),
        state: toJson(state),
      };
    }
    const sequential = sequentialChecks(inputs);
    const rejected = { ...state.rejected };
    for (const evidence of sequential) {
      if (evidence.verdict === VERDICT.fail && !rejected[evidence.check]) rejected[evidence.check] = evidence.reason;
    }
    state = { ...state, rejected };
    const checks = [...sequential, ...thresholds, ...srmChecks];
    // Observe-only checks are shown with their verdict but never decide.
    const acting = (list: readonly CheckEvidence[]) => list.filter((c) => c.observeOnly !== true);
    const sequentialFailed = worst(acting(sequential), VERDICT.fail);
    const thresholdFailed = worst(acting(thresholds), VERDICT.fail);
    const warned = worst(acting(checks), VERDICT.warn);
    const lean = config.evidence === GATE_EVIDENCE.decision;
    const enough = requests.canary >= config.minSamples && requests.control >= config.minSamples;
    let verdict: Verdict;
    let reason: string;
    if (sequentialFailed.length > 0 || thresholdFailed.length > 0) {
      verdict = VERDICT.fail;
      reason = `fail: ${sentence([...sequentialFailed, ...thresholdFailed])}.`;
    } else if (!enough) {
      verdict = VERDICT.inconclusive;
      reason = `inconclusive: ${requests.canary} canary and ${requests.control} control requests, ${config.minSamples} each needed before a pass.`;
    } else if (warned.length > 0) {
      verdict = VERDICT.warn;
      reason = lean
        ? `warn: ${warned.map((c) => c.check).join(', ')} (decision mode: evidence not computed).`
        : `warn: ${sentence(warned)}.`;
    } else {
      verdict = VERDICT.pass;
      reason = `pass: no check finds the canary worse than control over ${requests.canary} canary and ${requests.control} control requests, and every threshold holds.`;
    }
    const draft: GateResult = {
      ...base,
      verdict,
      sequentialFailure: sequentialFailed.length > 0,
      thresholdFailure: thresholdFailed.length > 0,
      sampleRatioMismatch: false,
      checks,
      reason,
    };
    // A pass is not evidence of safety: say whether it is enough to promote on (statistics.md §4).
    if (lean) return { result: draft, state: toJson(state) };
    const readiness = promotionReadiness(draft, config);
    const result =
      verdict === VERDICT.pass
        ? {
            ...draft,
            promotionReady: readiness.ready,
            reason: `${reason.replace(/\.$/, '')}; ${readiness.ready ? 'ready to promote' : 'not yet ready to promote'}: ${readiness.reason}.`,
          }
        : draft;
    return { result, state: toJson(state) };
  }

  async function snapshot(context: GateContext): Promise<JsonValue> {
    const answer = await read(context);
    if (!answer.ok) return { source: source.name, error: answer.reason };
    // JSON round trip: overflow buckets (`upper: Infinity`) become `upper: null`.
    return { source: source.name, windows: JSON.parse(JSON.stringify(answer.windows)) as JsonValue };
  }

  return { evaluate, snapshot };
}
