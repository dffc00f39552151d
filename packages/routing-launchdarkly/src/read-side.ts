import {
  COHORT,
  FLAG_METADATA_COHORT,
  FLAG_METADATA_RELEASE,
  FLAG_METADATA_ROLLOUT_ID,
  hashSubject,
  type ReleaseAssignment,
} from '@agent-canary/conventions';
import {
  ErrorCode,
  type EvaluationContext,
  type Hook,
  type JsonValue,
  type Logger,
  type Provider,
  type ResolutionDetails,
  StandardResolutionReasons,
  type TrackingEventDetails,
} from '@openfeature/server-sdk';
import { parseReleaseVariationValue } from './flag-model.js';

/** Name reported by {@link LaunchDarklyReleaseProvider} (`feature_flag.provider.name`). */
export const LAUNCHDARKLY_RELEASE_PROVIDER_NAME = 'agent-canary-launchdarkly';

/** flagMetadata key carrying LaunchDarkly's variation index (the variant LaunchDarkly reports). */
export const FLAG_METADATA_VARIATION_INDEX = 'variationIndex';

/** Options of {@link LaunchDarklyReleaseProvider}. */
export interface LaunchDarklyReleaseProviderOptions {
  /**
   * Flags read as release flags. Other string flags pass straight to the LaunchDarkly
   * provider. Without it, every string evaluation is tried as a release flag first and
   * falls back to a plain string evaluation when the flag's value is not a JSON object.
   * @default undefined (all)
   */
  readonly releaseFlagKeys?: readonly string[];
}

/**
 * Maps a LaunchDarkly evaluation of a release flag (JSON variation `{ cohort, release,
 * rolloutId }`, variant = variation index) to the release-flag contract of
 * `resolveRelease`: value = release id, variant = cohort, flagMetadata with cohort,
 * release, rolloutId and the variation index. An evaluation error, or a value that is not a
 * release variation, gives `defaultValue` with an error code (evaluation never throws).
 */
export function releaseResolution(
  details: ResolutionDetails<JsonValue>,
  defaultValue: string,
): ResolutionDetails<string> {
  if (details.errorCode !== undefined) {
    return {
      value: defaultValue,
      reason: details.reason ?? StandardResolutionReasons.ERROR,
      errorCode: details.errorCode,
      ...(details.errorMessage === undefined ? {} : { errorMessage: details.errorMessage }),
    };
  }
  const value = parseReleaseVariationValue(details.value);
  if (value === undefined) {
    return {
      value: defaultValue,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode.PARSE_ERROR,
      errorMessage: `variation ${details.variant ?? '?'} is not a release variation {"cohort", "release"}`,
    };
  }
  const flagMetadata: Record<string, string | number | boolean> = {
    [FLAG_METADATA_COHORT]: value.cohort,
    [FLAG_METADATA_RELEASE]: value.release,
  };
  if (value.rolloutId !== undefined) flagMetadata[FLAG_METADATA_ROLLOUT_ID] = value.rolloutId;
  const index = Number(details.variant);
  if (details.variant !== undefined && Number.isInteger(index)) flagMetadata[FLAG_METADATA_VARIATION_INDEX] = index;
  return {
    value: value.release,
    variant: value.cohort,
    flagMetadata,
    ...(details.reason === undefined ? {} : { reason: details.reason }),
  };
}

/**
 * The routing decision of a LaunchDarkly evaluation of a release flag, for apps that call
 * the LaunchDarkly SDK (or `getObjectDetails`) directly instead of `resolveRelease`.
 *
 * @example
 * const details = await client.getObjectDetails('agent-release', {}, { targetingKey: userId });
 * const assignment = launchDarklyAssignment('agent-release', details, { defaultRelease: 'v1', targetingKey: userId });
 */
export function launchDarklyAssignment(
  flagKey: string,
  details: ResolutionDetails<JsonValue>,
  options: { readonly defaultRelease: string; readonly targetingKey?: string },
): ReleaseAssignment {
  const resolution = releaseResolution(details, options.defaultRelease);
  const subject = options.targetingKey === undefined ? {} : { subject: hashSubject(options.targetingKey) };
  if (resolution.errorCode !== undefined) {
    return { flagKey, release: options.defaultRelease, cohort: COHORT.stable, ...subject };
  }
  const value = parseReleaseVariationValue(details.value);
  return {
    flagKey,
    release: resolution.value,
    cohort: value?.cohort ?? COHORT.stable,
    ...(value?.rolloutId === undefined ? {} : { rolloutId: value.rolloutId }),
    ...subject,
  };
}

/**
 * An OpenFeature provider around LaunchDarkly's (`@launchdarkly/openfeature-node-server`)
 * that answers string evaluations of release flags with the release id as value and the
 * cohort as variant, so `resolveRelease` works unchanged. Everything else (other flag
 * types, events, tracking, hooks, initialisation) goes to the wrapped provider.
 *
 * @example
 * const ld = new LaunchDarklyProvider(process.env.LAUNCHDARKLY_SDK_KEY);
 * await OpenFeature.setProviderAndWait(new LaunchDarklyReleaseProvider(ld));
 * const assignment = await resolveRelease(OpenFeature.getClient(), 'agent-release', userId);
 */
export class LaunchDarklyReleaseProvider implements Provider {
  readonly metadata = { name: LAUNCHDARKLY_RELEASE_PROVIDER_NAME } as const;
  readonly runsOn = 'server' as const;
  private readonly releaseFlagKeys: ReadonlySet<string> | undefined;

  constructor(
    /** The LaunchDarkly OpenFeature provider (or any provider serving the same JSON variations). */
    readonly inner: Provider,
    options: LaunchDarklyReleaseProviderOptions = {},
  ) {
    this.releaseFlagKeys = options.releaseFlagKeys === undefined ? undefined : new Set(options.releaseFlagKeys);
  }

  /** The wrapped provider's events (ready, configuration changed...). */
  get events(): Provider['events'] {
    return this.inner.events;
  }

  get hooks(): Hook[] {
    return this.inner.hooks ?? [];
  }

  async initialize(context?: EvaluationContext): Promise<void> {
    await this.inner.initialize?.(context);
  }

  async onClose(): Promise<void> {
    await this.inner.onClose?.();
  }

  track(eventName: string, context: EvaluationContext, details: TrackingEventDetails): void {
    this.inner.track?.(eventName, context, details);
  }

  async resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<string>> {
    if (this.releaseFlagKeys !== undefined && !this.releaseFlagKeys.has(flagKey)) {
      return this.inner.resolveStringEvaluation(flagKey, defaultValue, context, logger);
    }
    const details = await this.inner.resolveObjectEvaluation<JsonValue>(flagKey, {}, context, logger);
    if (this.releaseFlagKeys === undefined && details.errorCode === ErrorCode.TYPE_MISMATCH) {
      // Not a JSON flag: a plain string flag of the app, evaluated as such.
      return this.inner.resolveStringEvaluation(flagKey, defaultValue, context, logger);
    }
    return releaseResolution(details, defaultValue);
  }

  resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<boolean>> {
    return this.inner.resolveBooleanEvaluation(flagKey, defaultValue, context, logger);
  }

  resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<number>> {
    return this.inner.resolveNumberEvaluation(flagKey, defaultValue, context, logger);
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<T>> {
    return this.inner.resolveObjectEvaluation(flagKey, defaultValue, context, logger);
  }
}
