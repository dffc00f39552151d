import {
  COHORT,
  FLAG_METADATA_ROLLOUT_ID,
  ROUTING_ERROR_CODE,
  RoutingError,
  type RoutingSplit,
} from '@agent-canary/conventions';

/** Provider name used in {@link RoutingError}s of this package. */
export const FLAGD_PROVIDER = 'flagd';

/** Metadata key marking a flag as written by agent-canary (flagMetadata reaches the app). */
export const FLAGD_MANAGED_BY_METADATA = 'managedBy';
/** Value of {@link FLAGD_MANAGED_BY_METADATA}. */
export const FLAGD_MANAGED_BY = 'agent-canary';
/** Metadata key of the write counter (OpenTelemetry maps flagMetadata `version` to `feature_flag.version`). */
export const FLAGD_VERSION_METADATA = 'version';

/** Total weight of the `fractional` split: one weight unit per basis point, as in our bucketing. */
export const FLAGD_TOTAL_WEIGHT = 10_000;

/** One flag of a flagd flag file (https://flagd.dev/reference/flag-definitions/). */
export interface FlagdFlag {
  readonly state: 'ENABLED' | 'DISABLED';
  readonly variants: Readonly<Record<string, unknown>>;
  readonly defaultVariant?: string | null;
  readonly targeting?: unknown;
  readonly metadata?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The flag definition of a split: variants named by cohort whose values are release ids,
 * and a `fractional` rule over canary, control, stable (in that order) with integer
 * weights of 10 000. Without a bucketing expression flagd hashes `flagKey + targetingKey`,
 * exactly like the embedded provider's `bucketFor`, so users keep their cohort when a
 * team moves between the two.
 *
 * @example
 * flagdFlagFor({ flagKey: 'agent-release', rolloutId: 'r1', canaryRelease: 'v2', stableRelease: 'v1', canaryBasisPoints: 500, controlBasisPoints: 500 }, 1);
 */
export function flagdFlagFor(split: RoutingSplit, version: number): FlagdFlag {
  const stableWeight = FLAGD_TOTAL_WEIGHT - split.canaryBasisPoints - split.controlBasisPoints;
  return {
    state: 'ENABLED',
    variants: {
      [COHORT.canary]: split.canaryRelease,
      [COHORT.control]: split.stableRelease,
      [COHORT.stable]: split.stableRelease,
    },
    defaultVariant: COHORT.stable,
    targeting: {
      fractional: [
        [COHORT.canary, split.canaryBasisPoints],
        [COHORT.control, split.controlBasisPoints],
        [COHORT.stable, stableWeight],
      ],
    },
    metadata: {
      [FLAG_METADATA_ROLLOUT_ID]: split.rolloutId,
      [FLAGD_MANAGED_BY_METADATA]: FLAGD_MANAGED_BY,
      [FLAGD_VERSION_METADATA]: version,
    },
  };
}

/**
 * Reads a flag definition back into the split it routes. Accepts what {@link flagdFlagFor}
 * writes and hand edits that keep its meaning (other weights, a flag without targeting
 * that serves one variant to everyone); throws a {@link RoutingError} `flagShape`
 * naming what is wrong for anything else, so the controller holds instead of guessing.
 */
export function splitFromFlagdFlag(flagKey: string, flag: unknown): RoutingSplit {
  const shape = (message: string): RoutingError =>
    new RoutingError({
      code: ROUTING_ERROR_CODE.flagShape,
      provider: FLAGD_PROVIDER,
      flagKey,
      message: `flagd flag "${flagKey}" ${message}`,
    });
  if (!isRecord(flag)) throw shape('is not an object');
  if (flag['state'] !== 'ENABLED') {
    throw shape(`has state ${JSON.stringify(flag['state'])}; a rollout needs "ENABLED"`);
  }
  const variants = flag['variants'];
  if (!isRecord(variants)) throw shape('has no variants object');
  const releases: Record<string, string> = {};
  for (const cohort of [COHORT.canary, COHORT.control, COHORT.stable]) {
    const value = variants[cohort];
    if (typeof value !== 'string' || value === '') {
      throw shape(`has no string variant "${cohort}" (variants must be canary, control, stable -> release id)`);
    }
    releases[cohort] = value;
  }
  const canaryRelease = releases[COHORT.canary] ?? '';
  const stableRelease = releases[COHORT.stable] ?? '';
  if (releases[COHORT.control] !== stableRelease) {
    throw shape(
      `serves ${JSON.stringify(releases[COHORT.control])} to control but ${JSON.stringify(stableRelease)} to stable; control must run the stable release`,
    );
  }
  const metadata = isRecord(flag['metadata']) ? flag['metadata'] : {};
  const rolloutId = typeof metadata[FLAG_METADATA_ROLLOUT_ID] === 'string' ? metadata[FLAG_METADATA_ROLLOUT_ID] : '';
  const version = typeof metadata[FLAGD_VERSION_METADATA] === 'number' ? metadata[FLAGD_VERSION_METADATA] : undefined;
  const shares = sharesOf(flag, shape);
  return {
    flagKey,
    rolloutId,
    canaryRelease,
    stableRelease,
    ...shares,
    ...(version === undefined ? {} : { version }),
  };
}

function sharesOf(
  flag: Readonly<Record<string, unknown>>,
  shape: (message: string) => RoutingError,
): { canaryBasisPoints: number; controlBasisPoints: number } {
  const targeting = flag['targeting'];
  if (targeting === undefined || targeting === null || (isRecord(targeting) && Object.keys(targeting).length === 0)) {
    // flagd serves the default variant to everyone: a split with all of it in one cohort.
    const fallback = flag['defaultVariant'];
    if (fallback === COHORT.stable) return { canaryBasisPoints: 0, controlBasisPoints: 0 };
    if (fallback === COHORT.canary) return { canaryBasisPoints: FLAGD_TOTAL_WEIGHT, controlBasisPoints: 0 };
    if (fallback === COHORT.control) return { canaryBasisPoints: 0, controlBasisPoints: FLAGD_TOTAL_WEIGHT };
    throw shape(`has no targeting and defaultVariant ${JSON.stringify(fallback)}`);
  }
  if (!isRecord(targeting) || Object.keys(targeting).length !== 1 || !Array.isArray(targeting['fractional'])) {
    throw shape('has targeting that is not a single "fractional" rule');
  }
  const weights: Record<string, number> = {};
  const order: string[] = [];
  for (const entry of targeting['fractional'] as unknown[]) {
    if (!Array.isArray(entry)) {
      // A leading non-array argument is a bucketing expression: it would bucket users differently from ours.
      throw shape(
        'has a custom bucketing expression in "fractional"; only the default flagKey + targetingKey is supported',
      );
    }
    const [variant, weight = 1] = entry as unknown[];
    if (typeof variant !== 'string' || typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) {
      throw shape(
        `has a "fractional" entry ${JSON.stringify(entry)}; expected [variant name, non-negative integer weight]`,
      );
    }
    if (variant in weights) throw shape(`names variant "${variant}" twice in "fractional"`);
    weights[variant] = weight;
    order.push(variant);
  }
  const expected = [COHORT.canary, COHORT.control, COHORT.stable];
  if (order.join() !== expected.join()) {
    // The order decides which buckets each cohort owns; another order re-buckets users.
    throw shape(`has "fractional" variants [${order.join(', ')}]; expected [${expected.join(', ')}] in that order`);
  }
  const canary = weights[COHORT.canary] ?? 0;
  const control = weights[COHORT.control] ?? 0;
  const total = canary + control + (weights[COHORT.stable] ?? 0);
  if (total <= 0) throw shape('has "fractional" weights that sum to 0');
  return {
    canaryBasisPoints: Math.round((canary * FLAGD_TOTAL_WEIGHT) / total),
    controlBasisPoints: Math.round((control * FLAGD_TOTAL_WEIGHT) / total),
  };
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
