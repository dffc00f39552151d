import { VERDICT } from '@agent-canary/conventions';
import type { GateConfig, RateCheckConfig } from './options.js';
import { CHECK_METHOD, type GateResult } from './types.js';

/** Why a passing gate may or may not promote (statistics.md §4: the tests never accept). */
export const PROMOTION_BASIS = {
  /** The canary served `maxExposureRequests`: enough power for the headline effects. */
  exposure: 'exposure',
  /** Every critical rate check's anytime upper bound on the relative risk is below its tolerance. */
  bounds: 'bounds',
  /** Neither yet. */
  none: 'none',
} as const;
export type PromotionBasis = (typeof PROMOTION_BASIS)[keyof typeof PROMOTION_BASIS];

/** Whether a gate result supports promotion, and why. */
export interface PromotionReadiness {
  readonly ready: boolean;
  readonly basis: PromotionBasis;
  readonly reason: string;
}

/**
 * Promotion readiness of a gate result. A sequential test that has not rejected is not
 * evidence of safety, so a `pass` alone must not promote: promote when the verdict is
 * `pass` and either the canary reached `maxExposureRequests` (the power the defaults were
 * sized for) or every enabled critical rate check (error, tool success, refusal) has an
 * anytime-valid upper bound on its relative risk below its `maxRelativeRisk`.
 *
 * @example
 * const { ready, reason } = promotionReadiness(result, config);
 */
export function promotionReadiness(result: GateResult, config: GateConfig): PromotionReadiness {
  if (result.verdict !== VERDICT.pass) {
    return { ready: false, basis: PROMOTION_BASIS.none, reason: `the verdict is ${result.verdict}, not pass` };
  }
  if (result.requests.canary >= config.maxExposureRequests) {
    return {
      ready: true,
      basis: PROMOTION_BASIS.exposure,
      reason: `the canary served ${result.requests.canary} requests (maximum exposure ${config.maxExposureRequests}) without a rejection`,
    };
  }
  const critical: RateCheckConfig[] = [
    config.checks.errorRate,
    config.checks.toolSuccessRate,
    config.checks.refusalRate,
  ];
  const open: string[] = [];
  for (const check of critical) {
    if (!check.enabled || check.alpha <= 0) continue;
    const evidence = result.checks.find((c) => c.check === check.name && c.method === CHECK_METHOD.sequential);
    const upper = evidence?.effect?.upper;
    if (upper === undefined || !(upper < check.maxRelativeRisk)) {
      open.push(
        `${check.name} (RR upper bound ${upper === undefined ? '∞' : upper.toPrecision(3)} ≥ ${check.maxRelativeRisk})`,
      );
    }
  }
  if (open.length === 0) {
    return {
      ready: true,
      basis: PROMOTION_BASIS.bounds,
      reason: 'every critical rate check bounds the relative risk below its tolerance',
    };
  }
  return {
    ready: false,
    basis: PROMOTION_BASIS.none,
    reason: `${result.requests.canary} of ${config.maxExposureRequests} canary requests, and not yet bounded: ${open.join(', ')}`,
  };
}
