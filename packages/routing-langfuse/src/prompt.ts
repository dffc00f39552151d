import { COHORT, type ReleaseAssignment } from '@agent-canary/conventions';
import type { ChatPromptClient, LangfuseClient, TextPromptClient } from '@langfuse/client';
import { LANGFUSE_LABEL_DEFAULTS } from './config.js';

/** Options of {@link getReleasePrompt}. */
export interface ReleasePromptOptions {
  /** @default 'canary' */
  readonly canaryLabel?: string;
  /** @default 'production' */
  readonly productionLabel?: string;
  /**
   * The client's prompt cache TTL. It bounds how fast a label move (a rollback) reaches
   * this process: after expiry the client still serves the stale prompt once while it
   * refetches. `0` fetches on every call.
   * @default 60 (the @langfuse/client default)
   */
  readonly cacheTtlSeconds?: number;
  /** Prompt type. @default 'text' */
  readonly type?: 'text' | 'chat';
}

/** The prompt served for an assignment, and the release it really is. */
export interface ReleasePrompt {
  readonly prompt: TextPromptClient | ChatPromptClient;
  /** Label it was fetched by. */
  readonly label: string;
  /** Prompt version served. */
  readonly version: number;
  /**
   * True when the served version is the assignment's release. False in the short window
   * of a rollback (label moved back, split not yet) or while a cached prompt is stale:
   * tag the request with `version`, the release actually served.
   */
  readonly matchesAssignment: boolean;
}

/** The label a cohort reads: the canary cohort reads the canary label, control and stable read production. */
export function labelForCohort(
  cohort: ReleaseAssignment['cohort'],
  labels: { readonly canaryLabel?: string; readonly productionLabel?: string } = {},
): string {
  return cohort === COHORT.canary
    ? (labels.canaryLabel ?? LANGFUSE_LABEL_DEFAULTS.canaryLabel)
    : (labels.productionLabel ?? LANGFUSE_LABEL_DEFAULTS.productionLabel);
}

/**
 * Fetches the prompt for a routing decision (from `resolveRelease`) by label, through
 * the client's cache. Throws what `prompt.get` throws (pass your own fallback around it).
 *
 * @example
 * const assignment = await resolveRelease(OpenFeature.getClient(), 'support-agent.release', userId);
 * const { prompt, version } = await getReleasePrompt(langfuse, 'support-agent', assignment, { cacheTtlSeconds: 5 });
 */
export async function getReleasePrompt(
  client: LangfuseClient,
  promptName: string,
  assignment: Pick<ReleaseAssignment, 'cohort' | 'release'>,
  options: ReleasePromptOptions = {},
): Promise<ReleasePrompt> {
  const label = labelForCohort(assignment.cohort, options);
  const fetchOptions = {
    label,
    ...(options.cacheTtlSeconds === undefined ? {} : { cacheTtlSeconds: options.cacheTtlSeconds }),
  };
  const prompt =
    options.type === 'chat'
      ? await client.prompt.get(promptName, { ...fetchOptions, type: 'chat' })
      : await client.prompt.get(promptName, fetchOptions);
  const release = assignment.release.replace(/^v/, '');
  return { prompt, label, version: prompt.version, matchesAssignment: release === String(prompt.version) };
}
