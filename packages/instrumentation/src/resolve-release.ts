import {
  ATTR_COHORT,
  ATTR_ERROR_TYPE,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_ERROR_MESSAGE,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_FEATURE_FLAG_RESULT_VALUE,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  COHORT,
  type Cohort,
  EVENT_FEATURE_FLAG_EVALUATION,
  FLAG_METADATA_COHORT,
  FLAG_METADATA_RELEASE,
  FLAG_METADATA_ROLLOUT_ID,
  hashSubject,
  isCohort,
  type ReleaseAssignment,
} from '@agent-canary/conventions';
import type { Client, EvaluationContext, EvaluationDetails, FlagValue } from '@openfeature/server-sdk';
import { type Attributes, diag, trace } from '@opentelemetry/api';

/** Release used when a `resolveRelease` call sets no `defaultRelease`. */
export const DEFAULT_RELEASE = 'stable';

/** Options of `resolveRelease`. */
export interface ResolveReleaseOptions {
  /**
   * Release served when the flag cannot be evaluated (provider not ready, flag missing,
   * type mismatch): the request then runs in cohort `stable`.
   * @default 'stable'
   */
  readonly defaultRelease?: string;
  /** Extra evaluation context for targeting rules (never put on spans). @default {} */
  readonly context?: EvaluationContext;
  /**
   * Add a `feature_flag.evaluation` event to the active span.
   * @default true
   */
  readonly recordEvaluation?: boolean;
}

/**
 * Evaluates the release flag through OpenFeature and returns the routing decision. Never
 * throws: the OpenFeature client already turns provider failures into the default value,
 * and an errored evaluation maps to cohort `stable` with the default release.
 *
 * The flag contract: a string flag whose variants are named `canary`, `control` and
 * `stable` and whose value is the release id. When variant names are not cohorts,
 * `flagMetadata.cohort` names it; `flagMetadata.release` overrides the value as release
 * id; `flagMetadata.rolloutId` carries the rollout id.
 *
 * The evaluation is recorded on the active span with the OpenTelemetry feature-flag
 * conventions; `feature_flag.context.id` is the subject hash, never the targeting key.
 *
 * @example
 * const assignment = await resolveRelease(OpenFeature.getClient(), 'support-agent.release', userId, { defaultRelease: 'v1' });
 * await withRelease(assignment, () => agent.answer(question));
 */
export async function resolveRelease(
  client: Client,
  flagKey: string,
  targetingKey: string,
  options: ResolveReleaseOptions = {},
): Promise<ReleaseAssignment> {
  const defaultRelease = options.defaultRelease ?? DEFAULT_RELEASE;
  const subject = hashSubject(targetingKey);
  let details: EvaluationDetails<string>;
  try {
    details = await client.getStringDetails(flagKey, defaultRelease, { ...options.context, targetingKey });
  } catch (error) {
    // Only a broken client (not a provider) gets here; routing still must not fail the request.
    diag.error('agent-canary: resolveRelease: OpenFeature client threw', error);
    return { flagKey, release: defaultRelease, cohort: COHORT.stable, subject };
  }
  const assignment = assignmentFrom(details, flagKey, defaultRelease, subject);
  if (options.recordEvaluation !== false) recordEvaluation(client, details, assignment);
  return assignment;
}

function assignmentFrom(
  details: EvaluationDetails<string>,
  flagKey: string,
  defaultRelease: string,
  subject: string,
): ReleaseAssignment {
  if (details.errorCode !== undefined) return { flagKey, release: defaultRelease, cohort: COHORT.stable, subject };
  const metadata = details.flagMetadata;
  const metadataRelease = metadata[FLAG_METADATA_RELEASE];
  const release =
    typeof metadataRelease === 'string' && metadataRelease !== ''
      ? metadataRelease
      : typeof details.value === 'string' && details.value !== ''
        ? details.value
        : defaultRelease;
  const rolloutId = metadata[FLAG_METADATA_ROLLOUT_ID];
  return {
    flagKey,
    release,
    cohort: cohortOf(details.variant, metadata[FLAG_METADATA_COHORT]),
    ...(rolloutId === undefined || rolloutId === '' ? {} : { rolloutId: String(rolloutId) }),
    subject,
  };
}

/** Cohort of an evaluation: the variant when it names a cohort, else the `cohort` metadata, else stable. */
export function cohortOf(variant: string | undefined, metadataCohort: unknown): Cohort {
  if (isCohort(variant)) return variant;
  if (isCohort(metadataCohort)) return metadataCohort;
  if (metadataCohort !== undefined) {
    diag.warn(`agent-canary: flag metadata cohort ${JSON.stringify(metadataCohort)} is not a cohort; using stable`);
  }
  return COHORT.stable;
}

/**
 * Records a release-flag evaluation on the active span as a `feature_flag.evaluation` event
 * (OpenTelemetry feature-flag conventions), with the subject hash instead of the raw key.
 */
export function recordEvaluation(
  client: Client,
  details: EvaluationDetails<FlagValue>,
  assignment: ReleaseAssignment,
): void {
  try {
    const span = trace.getActiveSpan();
    if (span === undefined || !span.isRecording()) return;
    const attributes: Attributes = {
      [ATTR_FEATURE_FLAG_KEY]: details.flagKey,
      [ATTR_FEATURE_FLAG_PROVIDER_NAME]: client.metadata.providerMetadata.name,
      [ATTR_FEATURE_FLAG_RESULT_REASON]: (details.reason ?? 'unknown').toLowerCase(),
      [ATTR_FEATURE_FLAG_RESULT_VALUE]: assignment.release,
      [ATTR_RELEASE_ID]: assignment.release,
      [ATTR_COHORT]: assignment.cohort,
    };
    // The subject hash stands in for the targeting key, which is often a raw user id.
    if (assignment.subject !== undefined) attributes[ATTR_FEATURE_FLAG_CONTEXT_ID] = assignment.subject;
    if (details.variant !== undefined) attributes[ATTR_FEATURE_FLAG_RESULT_VARIANT] = details.variant;
    if (assignment.rolloutId !== undefined) attributes[ATTR_ROLLOUT_ID] = assignment.rolloutId;
    if (details.errorCode !== undefined) {
      attributes[ATTR_ERROR_TYPE] = details.errorCode.toLowerCase();
      if (details.errorMessage) attributes[ATTR_FEATURE_FLAG_ERROR_MESSAGE] = details.errorMessage;
    }
    span.addEvent(EVENT_FEATURE_FLAG_EVALUATION, attributes);
  } catch (error) {
    diag.error('agent-canary: recording the flag evaluation failed', error);
  }
}
