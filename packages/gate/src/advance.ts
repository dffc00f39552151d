/**
 * Moves the gate's state forward at each look: ends warm-up, freezes the references the
 * distribution and tool-mix tests compare against, opens a new epoch when the traffic
 * split changes, and fixes the sample-ratio test's split and baseline.
 */
import type { GateContext } from './evaluator.js';
import type { GateConfig } from './options.js';
import { emptyTally, type GateState, type Tally } from './state.js';
import { effectiveUnit, freezeReference, latencyOf, lengthOf, SUBJECT_DATA, tallyOf, toolsOf } from './tally.js';
import type { CohortWindow, CohortWindows } from './windows.js';

/** Did warm-up end? After `minMillis`, or earlier once both request minima are met. */
function warmupDone(config: GateConfig, context: GateContext, windows: CohortWindows): boolean {
  const { warmup } = config;
  if (context.nowMillis - context.startedAtMillis >= warmup.minMillis) return true;
  return (
    windows.cohorts.stable.requests >= warmup.minStableRequests &&
    windows.cohorts.canary.requests >= warmup.minCanaryRequests
  );
}

/** Canary share of the canary-vs-control comparison, or undefined when either arm has no share. */
export function rhoOf(context: GateContext): number | undefined {
  const total = context.canaryBasisPoints + context.controlBasisPoints;
  if (context.canaryBasisPoints <= 0 || context.controlBasisPoints <= 0) return undefined;
  return context.canaryBasisPoints / total;
}

/** Advances warm-up, references and epochs; returns the state to judge with. */
export function advance(
  config: GateConfig,
  context: GateContext,
  windows: CohortWindows,
  previous: GateState,
): { state: GateState; tally: Tally } {
  let state: GateState = previous;
  let references = { latency: state.latencyReference, length: state.lengthReference };
  let froze = false;
  if (state.warmupEndedAtMillis === null && warmupDone(config, context, windows)) {
    state = { ...state, warmupEndedAtMillis: context.nowMillis };
  }
  if (state.warmupEndedAtMillis !== null) {
    const { stable, control } = windows.cohorts;
    const min = config.warmup.minReferenceSamples;
    // References come from stable traffic; a rollout that starts with no stable share (a
    // 50% canary) freezes them from control instead. Bets then start after the freeze, so
    // no control unit is both in the reference and bet on.
    const freeze = <T>(read: (window: CohortWindow) => T | null): T | null => {
      const fromStable = read(stable);
      if (fromStable !== null) return fromStable;
      const fromControl = read(control);
      if (fromControl !== null) froze = true;
      return fromControl;
    };
    if (!references.latency && config.checks.latencyP99.enabled) {
      const unit = effectiveUnit(windows, config.checks.latencyP99.unit, SUBJECT_DATA.latency);
      const latency = freeze((w) => freezeReference(latencyOf(w, unit), min));
      if (latency) {
        references = { ...references, latency };
        froze = true;
      }
    }
    if (!references.length && config.checks.responseLength.enabled) {
      const unit = effectiveUnit(windows, config.checks.responseLength.unit, SUBJECT_DATA.length);
      const length = freeze((w) => freezeReference(lengthOf(w, unit), min));
      if (length) {
        references = { ...references, length };
        froze = true;
      }
    }
    state = { ...state, latencyReference: references.latency, lengthReference: references.length };
    const mixUnit = effectiveUnit(windows, config.checks.toolMix.unit, SUBJECT_DATA.firsts);
    if (state.toolReference === null && config.checks.toolMix.enabled) {
      const toolReference = freeze((w) => {
        const tools: Record<string, number> = {};
        let total = 0;
        for (const [tool, counts] of Object.entries(toolsOf(w, mixUnit))) {
          tools[tool] = counts.calls;
          total += counts.calls;
        }
        return total >= min ? tools : null;
      });
      if (toolReference) state = { ...state, toolReference };
    }
  }
  const tally = tallyOf(windows, config, references);
  const rho0 = rhoOf(context);
  if (rho0 !== undefined) {
    const last = state.epochs[state.epochs.length - 1];
    const ranked = references.latency !== null || references.length !== null;
    if (!last || Math.abs(last.rho0 - rho0) > 1e-12 || froze) {
      // The tally holds all data up to now: anything served under the new share since
      // the change and before this look is attributed to the previous epoch (one tick).
      const start = last ? tally : emptyTally();
      state = { ...state, epochs: [...state.epochs, { rho0, startMillis: context.nowMillis, ranked, start }] };
    }
  }
  const split = { canaryBasisPoints: context.canaryBasisPoints, controlBasisPoints: context.controlBasisPoints };
  if (previous.epochs.length === 0 && state.epochs.length > 0) {
    state = { ...state, sampleRatioSplit: split };
  } else if (
    state.sampleRatioSplit !== null &&
    (state.sampleRatioSplit.canaryBasisPoints !== split.canaryBasisPoints ||
      state.sampleRatioSplit.controlBasisPoints !== split.controlBasisPoints)
  ) {
    // Once the split changed, the SRM test stops for good (null after the first epoch).
    state = { ...state, sampleRatioSplit: null };
  }
  const firstEpoch = state.epochs[0];
  if (
    state.sampleRatioSplit !== null &&
    (state.sampleRatioBaseline ?? null) === null &&
    firstEpoch !== undefined &&
    context.nowMillis >= firstEpoch.startMillis + config.sampleRatio.settleMillis
  ) {
    // Units seen while the flag system was still serving the old split are not counted.
    const baseline = config.sampleRatio.settleMillis === 0 ? [0, 0, 0] : [...tally.n];
    state = { ...state, sampleRatioBaseline: baseline };
  }
  return { state, tally };
}
