/**
 * The mapping between a `RoutingSplit` and the one Unleash strategy the controller owns:
 * a `flexibleRollout` whose rollout percentage is canary + control and whose strategy
 * variants divide that slice between `canary` and `control`.
 */

import { COHORT, ConfigError, ROUTING_ERROR_CODE, RoutingError, type RoutingSplit } from '@agent-canary/conventions';

/** Title prefix marking the strategy as written by agent-canary; the rollout id follows it. */
export const STRATEGY_TITLE_PREFIX = 'agent-canary rollout ';

/**
 * Strategy parameter carrying the rollout id. Unlike the title, parameters reach the
 * client SDKs, so the read side can report the rollout id too.
 */
export const ROLLOUT_ID_PARAMETER = 'agentCanaryRolloutId';

/** Unleash's total variant weight. */
export const UNLEASH_WEIGHT_TOTAL = 1000;

/** Provider name carried by routing errors. */
export const UNLEASH_PROVIDER = 'unleash';

/** A strategy variant as the Admin API takes and returns it. */
export interface UnleashStrategyVariant {
  readonly name: string;
  readonly weight: number;
  readonly weightType?: string;
  readonly stickiness?: string;
  readonly payload?: { readonly type: string; readonly value: string };
}

/** A feature strategy as the Admin API takes and returns it (fields we read). */
export interface UnleashStrategy {
  readonly id?: string;
  readonly name: string;
  readonly title?: string | null;
  readonly disabled?: boolean | null;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly constraints?: readonly unknown[];
  readonly segments?: readonly unknown[];
  readonly variants?: readonly UnleashStrategyVariant[];
}

/**
 * The strategy body that routes `split`. Throws a `ConfigError` when Unleash cannot
 * represent the split exactly: its rollout works in whole percents and variants in
 * thousandths of the slice, and a rounded split would read back as a hand change.
 *
 * @example
 * strategyForSplit({ flagKey: 'agent.release', rolloutId: 'r1', canaryRelease: 'v2', stableRelease: 'v1', canaryBasisPoints: 500, controlBasisPoints: 500 });
 * // { name: 'flexibleRollout', parameters: { rollout: '10', stickiness: 'userId', groupId: 'agent.release' }, variants: [canary 500 (fix), control 500 (variable)] }
 */
export function strategyForSplit(split: RoutingSplit): UnleashStrategy {
  const slice = split.canaryBasisPoints + split.controlBasisPoints;
  if (
    !Number.isInteger(split.canaryBasisPoints) ||
    !Number.isInteger(split.controlBasisPoints) ||
    split.canaryBasisPoints < 0 ||
    split.controlBasisPoints < 0 ||
    slice > 10_000
  ) {
    throw new ConfigError({
      path: 'split',
      expected: 'canaryBasisPoints and controlBasisPoints: non-negative integers summing to at most 10000',
      received: { canaryBasisPoints: split.canaryBasisPoints, controlBasisPoints: split.controlBasisPoints },
    });
  }
  if (slice % 100 !== 0) {
    throw new ConfigError({
      path: 'split.canaryBasisPoints + split.controlBasisPoints',
      expected: 'a multiple of 100 basis points (Unleash rolls out in whole percents; use steps like 0.5, 5, 20, 50)',
      received: slice,
    });
  }
  // An empty slice keeps the variants (they carry the release ids) with an even weight.
  const canaryWeight =
    slice === 0 ? UNLEASH_WEIGHT_TOTAL / 2 : (split.canaryBasisPoints * UNLEASH_WEIGHT_TOTAL) / slice;
  if (!Number.isInteger(canaryWeight)) {
    throw new ConfigError({
      path: 'split.canaryBasisPoints',
      expected: `a share of the ${slice} bp slice that is a whole number of thousandths (Unleash variant weights)`,
      received: split.canaryBasisPoints,
    });
  }
  return {
    name: 'flexibleRollout',
    title: `${STRATEGY_TITLE_PREFIX}${split.rolloutId}`,
    disabled: false,
    parameters: {
      rollout: String(slice / 100),
      stickiness: 'userId',
      groupId: split.flagKey,
      [ROLLOUT_ID_PARAMETER]: split.rolloutId,
    },
    constraints: [],
    segments: [],
    variants: [
      // `fix` keeps the canary weight as written; `variable` gives control the rest. Two
      // `variable` variants would be re-balanced to equal weights by the server.
      variant(COHORT.canary, canaryWeight, 'fix', split.canaryRelease),
      variant(COHORT.control, UNLEASH_WEIGHT_TOTAL - canaryWeight, 'variable', split.stableRelease),
    ],
  };
}

function variant(name: string, weight: number, weightType: string, release: string): UnleashStrategyVariant {
  return { name, weight, weightType, stickiness: 'userId', payload: { type: 'string', value: release } };
}

/** True when `strategy` carries the agent-canary title. */
export function isOwnStrategy(strategy: UnleashStrategy): boolean {
  return typeof strategy.title === 'string' && strategy.title.startsWith(STRATEGY_TITLE_PREFIX);
}

/**
 * Reads a split back from the environment's strategies. Returns undefined when there is
 * no strategy; throws a `RoutingError` (flagShape) when the strategies are not the one
 * agent-canary writes, since any other shape routes users in a way a split cannot describe.
 */
export function splitFromStrategies(
  flagKey: string,
  environmentEnabled: boolean,
  strategies: readonly UnleashStrategy[],
  where: string,
): RoutingSplit | undefined {
  if (strategies.length === 0) return undefined;
  const shape = (problem: string) =>
    new RoutingError({
      code: ROUTING_ERROR_CODE.flagShape,
      provider: UNLEASH_PROVIDER,
      flagKey,
      message: `flag "${flagKey}" ${where}: ${problem}; expected one "${STRATEGY_TITLE_PREFIX}…" flexibleRollout strategy with variants canary and control`,
    });
  if (strategies.length > 1) throw shape(`has ${strategies.length} strategies`);
  const strategy = strategies[0] as UnleashStrategy;
  if (strategy.name !== 'flexibleRollout') throw shape(`has a "${strategy.name}" strategy`);
  if (!isOwnStrategy(strategy))
    throw shape(`has a strategy titled ${JSON.stringify(strategy.title ?? null)} that agent-canary did not write`);
  if ((strategy.constraints?.length ?? 0) > 0 || (strategy.segments?.length ?? 0) > 0) {
    throw shape('has constraints or segments on its strategy');
  }
  const parameters = strategy.parameters ?? {};
  if (parameters['stickiness'] !== 'userId' || parameters['groupId'] !== flagKey) {
    throw shape(
      `has stickiness ${JSON.stringify(parameters['stickiness'])} / groupId ${JSON.stringify(parameters['groupId'])}`,
    );
  }
  const rolloutText = parameters['rollout'] ?? '';
  const rollout = Number(rolloutText);
  if (!/^\d+$/.test(rolloutText) || rollout > 100) throw shape(`has rollout ${JSON.stringify(rolloutText)}`);
  const variants = strategy.variants ?? [];
  const canary = variants.find((v) => v.name === COHORT.canary);
  const control = variants.find((v) => v.name === COHORT.control);
  if (variants.length !== 2 || canary === undefined || control === undefined) {
    throw shape(`has variants ${JSON.stringify(variants.map((v) => v.name))}`);
  }
  const canaryRelease = canary.payload?.value;
  const stableRelease = control.payload?.value;
  if (
    typeof canaryRelease !== 'string' ||
    typeof stableRelease !== 'string' ||
    canaryRelease === '' ||
    stableRelease === ''
  ) {
    throw shape('has a variant without a release id payload');
  }
  const totalWeight = canary.weight + control.weight;
  if (totalWeight <= 0) throw shape('has variant weights summing to 0');
  // A disabled environment or strategy serves nobody a variant: effectively an empty slice.
  const effective = environmentEnabled && strategy.disabled !== true ? rollout * 100 : 0;
  const canaryBasisPoints = Math.round((effective * canary.weight) / totalWeight);
  return {
    flagKey,
    rolloutId: parameters[ROLLOUT_ID_PARAMETER] ?? (strategy.title as string).slice(STRATEGY_TITLE_PREFIX.length),
    canaryRelease,
    stableRelease,
    canaryBasisPoints,
    controlBasisPoints: effective - canaryBasisPoints,
  };
}

/** True when the stored strategy already is `desired` (no write needed). */
export function sameStrategy(stored: UnleashStrategy, desired: UnleashStrategy): boolean {
  const normalise = (s: UnleashStrategy) =>
    JSON.stringify({
      name: s.name,
      title: s.title ?? null,
      disabled: s.disabled === true,
      parameters: Object.fromEntries(Object.entries(s.parameters ?? {}).sort(([a], [b]) => a.localeCompare(b))),
      constraints: s.constraints ?? [],
      segments: s.segments ?? [],
      variants: (s.variants ?? []).map((v) => ({
        name: v.name,
        weight: v.weight,
        weightType: v.weightType,
        stickiness: v.stickiness,
        payload: v.payload ? { type: v.payload.type, value: v.payload.value } : null,
      })),
    });
  return normalise(stored) === normalise(desired);
}
