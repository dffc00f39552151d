import {
  COHORT,
  type Cohort,
  isCohort,
  ROUTING_ERROR_CODE,
  RoutingError,
  type RoutingSplit,
} from '@agent-canary/conventions';

/** Provider name used in {@link RoutingError}s of this package. */
export const LAUNCHDARKLY_PROVIDER = 'launchdarkly';

/** LaunchDarkly rollout weights are thousandths of a percent: 100 000 in total. */
export const LAUNCHDARKLY_TOTAL_WEIGHT = 100_000;
/** Our shares are basis points of 10 000; one basis point is 10 LaunchDarkly weight units. */
const WEIGHT_PER_BASIS_POINT = LAUNCHDARKLY_TOTAL_WEIGHT / 10_000;

/**
 * Value of a release flag's variation: a JSON object naming the cohort it serves and the
 * release id. The cohort travels in the value because LaunchDarkly's SDKs report only the
 * variation index, and an index says nothing once someone reorders variations.
 */
export interface ReleaseVariationValue {
  readonly cohort: Cohort;
  readonly release: string;
  readonly rolloutId?: string;
}

/** A variation as the REST API returns it (`GET /api/v2/flags/...`). */
export interface LaunchDarklyVariation {
  readonly _id: string;
  readonly value: unknown;
  readonly name?: string;
}

/** The parts of a REST flag representation this package reads. */
export interface LaunchDarklyRestFlag {
  readonly key: string;
  readonly _version?: number;
  readonly variations: readonly LaunchDarklyVariation[];
  readonly environments: Readonly<Record<string, LaunchDarklyRestEnvironment | undefined>>;
}

/** One environment's targeting in a REST flag representation. */
export interface LaunchDarklyRestEnvironment {
  readonly on: boolean;
  readonly offVariation?: number;
  readonly fallthrough?: {
    readonly variation?: number;
    readonly rollout?: {
      readonly variations: ReadonlyArray<{ readonly variation: number; readonly weight: number }>;
      readonly bucketBy?: string;
      readonly contextKind?: string;
    };
  };
  readonly rules?: readonly unknown[];
  readonly targets?: readonly unknown[];
  readonly contextTargets?: readonly unknown[];
  readonly prerequisites?: readonly unknown[];
  readonly version?: number;
}

/** The three variations of a release flag, by cohort, with their index and REST id. */
export interface ReleaseVariations {
  readonly byCohort: Readonly<
    Record<Cohort, { readonly index: number; readonly id: string; readonly value: ReleaseVariationValue }>
  >;
}

/** The variation value for a cohort of a split (what `updateVariation` writes). */
export function releaseVariationValue(cohort: Cohort, split: RoutingSplit): ReleaseVariationValue {
  return {
    cohort,
    release: cohort === COHORT.canary ? split.canaryRelease : split.stableRelease,
    rolloutId: split.rolloutId,
  };
}

/** Reads a variation value; undefined when it is not a release variation. */
export function parseReleaseVariationValue(value: unknown): ReleaseVariationValue | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const cohort = record['cohort'];
  const release = record['release'];
  const rolloutId = record['rolloutId'];
  if (!isCohort(cohort) || typeof release !== 'string' || release === '') return undefined;
  return { cohort, release, ...(typeof rolloutId === 'string' && rolloutId !== '' ? { rolloutId } : {}) };
}

function shapeError(flagKey: string, message: string): RoutingError {
  return new RoutingError({
    code: ROUTING_ERROR_CODE.flagShape,
    provider: LAUNCHDARKLY_PROVIDER,
    flagKey,
    message: `LaunchDarkly flag "${flagKey}" ${message}`,
  });
}

/**
 * Finds the canary, control and stable variations (JSON values `{ cohort, release }`);
 * throws a `flagShape` {@link RoutingError} naming what is missing.
 */
export function releaseVariationsOf(flag: LaunchDarklyRestFlag): ReleaseVariations {
  if (!Array.isArray(flag.variations)) throw shapeError(flag.key, 'has no variations');
  const found: Partial<Record<Cohort, { index: number; id: string; value: ReleaseVariationValue }>> = {};
  flag.variations.forEach((variation, index) => {
    const value = parseReleaseVariationValue(variation.value);
    if (value === undefined) return;
    if (found[value.cohort] !== undefined) {
      throw shapeError(
        flag.key,
        `has two variations for cohort "${value.cohort}" (indexes ${found[value.cohort]?.index} and ${index})`,
      );
    }
    found[value.cohort] = { index, id: variation._id, value };
  });
  const missing = [COHORT.canary, COHORT.control, COHORT.stable].filter((cohort) => found[cohort] === undefined);
  if (missing.length > 0) {
    throw shapeError(
      flag.key,
      `has no variation for ${missing.map((c) => `"${c}"`).join(', ')}; a release flag needs three JSON variations {"cohort": "canary" | "control" | "stable", "release": "<id>"}`,
    );
  }
  return { byCohort: found as Record<Cohort, { index: number; id: string; value: ReleaseVariationValue }> };
}

/**
 * The split an environment of a release flag routes. Accepts a percentage rollout over the
 * three variations, a single fallthrough variation, and a flag that is off (everyone on the
 * off variation). Throws a `flagShape` {@link RoutingError} for individual targets, rules or
 * prerequisites (they take users out of the sticky split), weights on other variations, or
 * control serving another release than stable.
 */
export function splitFromRestFlag(flag: LaunchDarklyRestFlag, environmentKey: string): RoutingSplit {
  const variations = releaseVariationsOf(flag);
  const { canary, control, stable } = variations.byCohort;
  if (control.value.release !== stable.value.release) {
    throw shapeError(
      flag.key,
      `serves release "${control.value.release}" to control but "${stable.value.release}" to stable; control must run the stable release`,
    );
  }
  const environment = flag.environments?.[environmentKey];
  if (environment === undefined) {
    throw new RoutingError({
      code: ROUTING_ERROR_CODE.flagNotFound,
      provider: LAUNCHDARKLY_PROVIDER,
      flagKey: flag.key,
      message: `LaunchDarkly flag "${flag.key}" has no environment "${environmentKey}"`,
    });
  }
  const cohortOfIndex = (index: number | undefined): Cohort | undefined =>
    [COHORT.canary, COHORT.control, COHORT.stable].find((cohort) => variations.byCohort[cohort].index === index);
  let shares: { canaryBasisPoints: number; controlBasisPoints: number };
  if (!environment.on) {
    const cohort = cohortOfIndex(environment.offVariation);
    if (cohort === undefined) {
      throw shapeError(flag.key, `is off in "${environmentKey}" with an off variation that is not a release variation`);
    }
    shares = allOn(cohort);
  } else if (targetingOf(environment) !== undefined) {
    throw shapeError(
      flag.key,
      `has ${targetingOf(environment)} in environment "${environmentKey}"; a rollout needs the fallthrough to decide for everyone`,
    );
  } else if (environment.fallthrough?.rollout !== undefined) {
    const weights: Record<Cohort, number> = { canary: 0, control: 0, stable: 0 };
    for (const entry of environment.fallthrough.rollout.variations ?? []) {
      const cohort = cohortOfIndex(entry.variation);
      if (cohort === undefined) {
        if (entry.weight > 0)
          throw shapeError(
            flag.key,
            `gives rollout weight ${entry.weight} to variation ${entry.variation}, which is not a release variation`,
          );
        continue;
      }
      weights[cohort] += entry.weight;
    }
    const total = weights.canary + weights.control + weights.stable;
    if (total <= 0) throw shapeError(flag.key, 'has a fallthrough rollout whose weights sum to 0');
    shares = {
      canaryBasisPoints: Math.round((weights.canary * 10_000) / total),
      controlBasisPoints: Math.round((weights.control * 10_000) / total),
    };
  } else {
    const cohort = cohortOfIndex(environment.fallthrough?.variation);
    if (cohort === undefined)
      throw shapeError(flag.key, `has a fallthrough in "${environmentKey}" that is not a release variation`);
    shares = allOn(cohort);
  }
  return {
    flagKey: flag.key,
    rolloutId: canary.value.rolloutId ?? '',
    canaryRelease: canary.value.release,
    stableRelease: stable.value.release,
    ...shares,
    ...(typeof flag._version === 'number' ? { version: flag._version } : {}),
  };
}

/** The first kind of targeting that takes users out of the fallthrough, if any (an off flag ignores them). */
function targetingOf(environment: LaunchDarklyRestEnvironment): string | undefined {
  return (['rules', 'targets', 'contextTargets', 'prerequisites'] as const).find(
    (list) => (environment[list]?.length ?? 0) > 0,
  );
}

function allOn(cohort: Cohort): { canaryBasisPoints: number; controlBasisPoints: number } {
  if (cohort === COHORT.canary) return { canaryBasisPoints: 10_000, controlBasisPoints: 0 };
  if (cohort === COHORT.control) return { canaryBasisPoints: 0, controlBasisPoints: 10_000 };
  return { canaryBasisPoints: 0, controlBasisPoints: 0 };
}

/** A semantic patch instruction. */
export type SemanticPatchInstruction = Readonly<Record<string, unknown>> & { readonly kind: string };

/** What {@link instructionsFor} needs besides the split. */
export interface InstructionSettings {
  readonly contextKind: string;
  readonly bucketBy: string | undefined;
  readonly rollbackWithFlagOff: boolean;
}

/**
 * The semantic patch instructions that make `flag` route `split` in its environment:
 * `updateVariation` for variation values that changed (release ids, rollout id), then
 * either `turnFlagOff` (emergency stop) or `turnFlagOn` + `updateFallthroughVariationOrRollout`
 * with `rolloutWeights` out of 100 000. The canary is listed first, as it owns the lowest buckets.
 */
export function instructionsFor(
  flag: LaunchDarklyRestFlag,
  environmentKey: string,
  split: RoutingSplit,
  settings: InstructionSettings,
): SemanticPatchInstruction[] {
  const { byCohort } = releaseVariationsOf(flag);
  const instructions: SemanticPatchInstruction[] = [];
  for (const cohort of [COHORT.canary, COHORT.control, COHORT.stable]) {
    const wanted = releaseVariationValue(cohort, split);
    const current = byCohort[cohort].value;
    if (current.release !== wanted.release || current.rolloutId !== wanted.rolloutId) {
      instructions.push({ kind: 'updateVariation', variationId: byCohort[cohort].id, value: wanted });
    }
  }
  const environment = flag.environments?.[environmentKey];
  const stop = settings.rollbackWithFlagOff && split.canaryBasisPoints === 0 && split.controlBasisPoints === 0;
  if (stop) {
    if (environment?.offVariation !== byCohort.stable.index) {
      instructions.push({ kind: 'updateOffVariation', variationId: byCohort.stable.id });
    }
    if (environment?.on !== false) instructions.push({ kind: 'turnFlagOff' });
    return instructions;
  }
  if (environment?.on !== true) instructions.push({ kind: 'turnFlagOn' });
  const stableBasisPoints = 10_000 - split.canaryBasisPoints - split.controlBasisPoints;
  instructions.push({
    kind: 'updateFallthroughVariationOrRollout',
    rolloutWeights: {
      [byCohort.canary.id]: split.canaryBasisPoints * WEIGHT_PER_BASIS_POINT,
      [byCohort.control.id]: split.controlBasisPoints * WEIGHT_PER_BASIS_POINT,
      [byCohort.stable.id]: stableBasisPoints * WEIGHT_PER_BASIS_POINT,
    },
    rolloutContextKind: settings.contextKind,
    ...(settings.bucketBy === undefined ? {} : { rolloutBucketBy: settings.bucketBy }),
  });
  return instructions;
}
