/**
 * The demo's scenarios: how the canary release `support-v2` behaves compared with the
 * stable `support-v1`, and what the controller is expected to do about it.
 */
import { type ReleaseBehavior, TONE } from './simulated-model.js';

/** Demo scenarios. */
export const SCENARIO = {
  /** v2 is as good as v1 (its tools fail slightly less): promoted to 100%. */
  healthy: 'healthy',
  /** v2 is identical to v1 (an A/A test): promoted, never rolled back. */
  aa: 'aa',
  /** 5% of v2's requests take the wrong tool path (a refund that usually fails): rolled back. */
  toolRegression: 'tool-regression',
  /** v2 answers turn casual and short, far from what v1 says: rolled back. */
  toneDrift: 'tone-drift',
  /** 40% of v2's tool calls fail: rolled back within a few dozen canary requests. */
  hardBreak: 'hard-break',
} as const;
export type Scenario = (typeof SCENARIO)[keyof typeof SCENARIO];

/** Every scenario, in the order the docs list them. */
export const SCENARIOS: readonly Scenario[] = Object.freeze(Object.values(SCENARIO));

/** Returns true when `value` names a scenario. */
export function isScenario(value: unknown): value is Scenario {
  return typeof value === 'string' && (SCENARIOS as readonly string[]).includes(value);
}

/** Release ids of the demo. */
export const RELEASE = { stable: 'support-v1', canary: 'support-v2' } as const;

/**
 * Stable's behaviour: a well-behaved agent on a small model. Its baseline rates sit well
 * below the gate's absolute limits (error 1%, tool failures 5%, refusals 5%): those
 * thresholds judge the canary's point estimate from 50 requests on, where a single
 * unlucky early failure of a noisier baseline would already break them.
 */
export const STABLE_BEHAVIOR: ReleaseBehavior = Object.freeze({
  model: 'sim-support-small',
  tone: TONE.formal,
  toolFailureRate: 0.005,
  wrongToolPathRate: 0,
  wrongRefundFailureRate: 0.7,
  modelErrorRate: 0,
  latencyFactor: 1,
  thumbsDownRate: 0.02,
});

/** The canary's behaviour in each scenario. */
export const CANARY_BEHAVIOR: Readonly<Record<Scenario, ReleaseBehavior>> = Object.freeze({
  healthy: Object.freeze({ ...STABLE_BEHAVIOR, model: 'sim-support-small-2', toolFailureRate: 0.004 }),
  aa: STABLE_BEHAVIOR,
  'tool-regression': Object.freeze({ ...STABLE_BEHAVIOR, model: 'sim-support-small-2', wrongToolPathRate: 0.05 }),
  'tone-drift': Object.freeze({ ...STABLE_BEHAVIOR, model: 'sim-support-small-2', tone: TONE.casual }),
  'hard-break': Object.freeze({ ...STABLE_BEHAVIOR, model: 'sim-support-small-2', toolFailureRate: 0.4 }),
});

/** What the controller is expected to do in each scenario (the demo's tests check it). */
export const EXPECTED_OUTCOME: Readonly<Record<Scenario, 'promoted' | 'rolled_back'>> = Object.freeze({
  healthy: 'promoted',
  aa: 'promoted',
  'tool-regression': 'rolled_back',
  'tone-drift': 'rolled_back',
  'hard-break': 'rolled_back',
});
