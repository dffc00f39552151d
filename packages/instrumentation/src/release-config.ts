import {
  ATTR_GEN_AI_PROMPT_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_LANGFUSE_PROMPT_NAME,
  ATTR_LANGFUSE_PROMPT_VERSION,
  ATTR_PROMPT_HASH,
  ATTR_RELEASE_MODEL,
  ATTR_RELEASE_PROMPT_HASH,
  COHORT,
  FLAG_METADATA_COHORT,
  FLAG_METADATA_RELEASE,
  FLAG_METADATA_ROLLOUT_ID,
  hashPrompt,
  hashSubject,
  type ReleaseAssignment,
  type ReleaseConfigReader,
  type ReleaseConfiguration,
} from '@agent-canary/conventions';
import type { Client, EvaluationContext, JsonValue } from '@openfeature/server-sdk';
import { type Attributes, type Context, context, diag, trace } from '@opentelemetry/api';
import { contextWithRelease, releaseAttributes } from './release-context.js';
import { cohortOf, recordEvaluation, resolveRelease } from './resolve-release.js';

/**
 * The concrete configuration of a release: the prompt and model the app must use when it
 * is assigned this release (`ReleaseConfiguration` of `@agent-canary/conventions`).
 */
export type ReleaseConfig = ReleaseConfiguration;

/**
 * Resolves a release id to its configuration through prompt labels (Langfuse: the release
 * id is the label, the prompt's config carries the model). Implemented by the Langfuse
 * adapter package; must not throw (a rejection is treated as "not found").
 */
export type PromptLabelLookup = (releaseId: string) => Promise<ReleaseConfig | undefined>;

/** Where {@link resolveReleaseConfig} finds a release's configuration. */
export type ReleaseConfigSource =
  /** An OpenFeature OBJECT flag whose variant values are {@link ReleaseConfig}s. */
  | { readonly kind: 'flag-value' }
  /** A string release flag, and a registry that maps release ids to configurations. */
  | { readonly kind: 'registry'; readonly registry: ReleaseConfigReader }
  /** A string release flag, and a prompt-label lookup. */
  | { readonly kind: 'prompt-label'; readonly lookup: PromptLabelLookup };

/** Options of {@link resolveReleaseConfig}. */
export interface ResolveReleaseConfigOptions {
  readonly source: ReleaseConfigSource;
  /**
   * The configuration served when routing or the lookup fails (the stable release baked
   * into the app). A request assigned another release is then re-labelled with this
   * release and cohort `stable`, so spans never claim a release whose configuration was
   * not used; one assigned this very release keeps its cohort (`control` stays control).
   */
  readonly fallback: ReleaseConfig;
  /** Extra evaluation context for targeting rules (never put on spans). @default {} */
  readonly context?: EvaluationContext;
  /** Add a `feature_flag.evaluation` event to the active span. @default true */
  readonly recordEvaluation?: boolean;
}

/** Result of {@link resolveReleaseConfig}: the routing decision and the configuration that matches it. */
export interface ResolvedRelease {
  readonly assignment: ReleaseAssignment;
  /** Always the configuration of `assignment.release`. */
  readonly release: ReleaseConfig;
  /** Why the fallback was served, when it was. */
  readonly fallbackReason?: string;
}

/**
 * Resolves the release assigned to `targetingKey` AND its configuration in one call, so
 * the routing decision and the prompt / model actually used cannot disagree: when the
 * configuration cannot be found, the request is re-labelled as the fallback release in
 * cohort `stable`. Stamps the assignment, the prompt hash (`agent_canary.prompt.hash`), the
 * model (`gen_ai.request.model`) and the Langfuse prompt link on the active span (which
 * started before the assignment existed, so the tagging processor could not). Never throws.
 *
 * Run the request with {@link withResolvedRelease} so that every span carries the
 * assignment and the prescribed prompt hash and model.
 *
 * @example
 * const resolved = await resolveReleaseConfig(client, 'agent.release', userId, {
 *   source: { kind: 'registry', registry },
 *   fallback: STABLE_CONFIG,
 * });
 * await withResolvedRelease(resolved, () => agent.run({ model: resolved.release.model, ...resolved.release.parameters }));
 */
export async function resolveReleaseConfig(
  client: Client,
  flagKey: string,
  targetingKey: string,
  options: ResolveReleaseConfigOptions,
): Promise<ResolvedRelease> {
  let resolved: ResolvedRelease;
  try {
    resolved =
      options.source.kind === 'flag-value'
        ? await fromObjectFlag(client, flagKey, targetingKey, options)
        : await fromLookup(client, flagKey, targetingKey, options, options.source);
  } catch (error) {
    diag.error('agent-canary: resolveReleaseConfig failed; serving the fallback release', error);
    resolved = fallback(
      { flagKey, release: options.fallback.id, cohort: COHORT.stable, subject: hashSubject(targetingKey) },
      options.fallback,
      'resolution threw',
    );
  }
  stampActiveSpan(resolved);
  return resolved;
}

function fallback(assignment: ReleaseAssignment, config: ReleaseConfig, reason: string): ResolvedRelease {
  // Same release (a stable or control request): keep the cohort, or the control group would shrink.
  if (assignment.release === config.id) return { assignment, release: config, fallbackReason: reason };
  const { rolloutId, subject } = assignment;
  return {
    assignment: {
      flagKey: assignment.flagKey,
      release: config.id,
      cohort: COHORT.stable,
      ...(rolloutId === undefined ? {} : { rolloutId }),
      ...(subject === undefined ? {} : { subject }),
    },
    release: config,
    fallbackReason: reason,
  };
}

async function fromLookup(
  client: Client,
  flagKey: string,
  targetingKey: string,
  options: ResolveReleaseConfigOptions,
  source: Extract<ReleaseConfigSource, { kind: 'registry' | 'prompt-label' }>,
): Promise<ResolvedRelease> {
  const assignment = await resolveRelease(client, flagKey, targetingKey, {
    defaultRelease: options.fallback.id,
    ...(options.context === undefined ? {} : { context: options.context }),
    ...(options.recordEvaluation === undefined ? {} : { recordEvaluation: options.recordEvaluation }),
  });
  let config: ReleaseConfig | undefined;
  try {
    config =
      source.kind === 'registry'
        ? await source.registry.getReleaseConfig(assignment.release)
        : await source.lookup(assignment.release);
  } catch (error) {
    diag.error(`agent-canary: looking up the configuration of release ${assignment.release} failed`, error);
  }
  const problem = config === undefined ? 'not found' : invalidConfig(config);
  if (config === undefined || problem !== undefined) {
    const reason = `configuration of release ${assignment.release} ${problem ?? 'not found'}`;
    diag.warn(`agent-canary: ${reason}; serving ${options.fallback.id}`);
    return fallback(assignment, options.fallback, reason);
  }
  return { assignment, release: { ...config, id: assignment.release } };
}

async function fromObjectFlag(
  client: Client,
  flagKey: string,
  targetingKey: string,
  options: ResolveReleaseConfigOptions,
): Promise<ResolvedRelease> {
  const subject = hashSubject(targetingKey);
  const details = await client.getObjectDetails(flagKey, options.fallback as unknown as JsonValue, {
    ...options.context,
    targetingKey,
  });
  const metadata = details.flagMetadata;
  const value = details.value as unknown as Partial<ReleaseConfig> | null;
  const rolloutId = metadata[FLAG_METADATA_ROLLOUT_ID];
  const metadataRelease = metadata[FLAG_METADATA_RELEASE];
  const release = typeof metadataRelease === 'string' && metadataRelease !== '' ? metadataRelease : value?.id;
  const assignment: ReleaseAssignment = {
    flagKey,
    release: typeof release === 'string' && release !== '' ? release : options.fallback.id,
    cohort: cohortOf(details.variant, metadata[FLAG_METADATA_COHORT]),
    ...(rolloutId === undefined || rolloutId === '' ? {} : { rolloutId: String(rolloutId) }),
    subject,
  };
  const problem =
    details.errorCode !== undefined ? `flag error ${details.errorCode}` : invalidConfig(value ?? undefined);
  const resolved =
    problem !== undefined
      ? fallback(assignment, options.fallback, `flag value of ${flagKey}: ${problem}`)
      : { assignment, release: { ...(value as ReleaseConfig), id: assignment.release } };
  if (resolved.fallbackReason !== undefined && details.errorCode === undefined) {
    diag.warn(`agent-canary: ${resolved.fallbackReason}; serving ${options.fallback.id}`);
  }
  if (options.recordEvaluation !== false) recordEvaluation(client, details, resolved.assignment);
  return resolved;
}

/** Returns what is wrong with a configuration, or undefined when it is usable. */
function invalidConfig(config: Partial<ReleaseConfig> | undefined): string | undefined {
  if (config === undefined || config === null || typeof config !== 'object') return 'is not an object';
  if (typeof config.promptHash !== 'string' || config.promptHash === '') return 'has no promptHash';
  if (typeof config.model !== 'string' || config.model === '') return 'has no model';
  if (config.parameters !== undefined && (typeof config.parameters !== 'object' || config.parameters === null))
    return 'has parameters that are not an object';
  return undefined;
}

/** Span attributes of the configuration actually used, for the span that resolved it. */
function usedAttributes(config: ReleaseConfig): Attributes {
  const attributes: Attributes = {
    [ATTR_PROMPT_HASH]: config.promptHash,
    [ATTR_GEN_AI_REQUEST_MODEL]: config.model,
  };
  if (config.prompt !== undefined) {
    attributes[ATTR_GEN_AI_PROMPT_NAME] = config.prompt.name;
    attributes[ATTR_LANGFUSE_PROMPT_NAME] = config.prompt.name;
    if (config.prompt.version !== undefined) attributes[ATTR_LANGFUSE_PROMPT_VERSION] = config.prompt.version;
  }
  return attributes;
}

/** The span that resolved the release started before the assignment existed: tag it here. */
function stampActiveSpan(resolved: ResolvedRelease): void {
  try {
    const span = trace.getActiveSpan();
    if (!span?.isRecording()) return;
    span.setAttributes({ ...releaseAttributes(resolved.assignment), ...usedAttributes(resolved.release) });
  } catch (error) {
    diag.error('agent-canary: stamping the release configuration failed', error);
  }
}

/**
 * Returns `ctx` carrying the assignment (as {@link contextWithRelease} does) plus the prompt
 * hash and model the release prescribes, so `ReleaseTaggingSpanProcessor` stamps all of them
 * on every span started inside, with the same single lookup.
 */
export function contextWithResolvedRelease(ctx: Context, resolved: ResolvedRelease): Context {
  return contextWithRelease(
    ctx,
    resolved.assignment,
    Object.freeze({
      [ATTR_RELEASE_PROMPT_HASH]: resolved.release.promptHash,
      [ATTR_RELEASE_MODEL]: resolved.release.model,
    }),
  );
}

/**
 * Runs `fn` with the assignment and its configuration active: with
 * `ReleaseTaggingSpanProcessor` registered, every span started inside carries the release, the cohort, and the prompt hash and model the
 * release prescribes (`agent_canary.release.prompt_hash`, `agent_canary.release.model`).
 */
export function withResolvedRelease<T>(resolved: ResolvedRelease, fn: () => T): T {
  return context.with(contextWithResolvedRelease(context.active(), resolved), fn);
}

// One implementation, in conventions, shared with the registry and prompt-label lookups.
export { hashPrompt };

/**
 * Records on the active span (the model call, or the turn) the hash of the prompt the
 * app actually rendered, so a prompt that differs from the assigned release's shows up
 * as a mismatch. Never throws.
 */
export function recordPromptUsed(promptText: string): void {
  try {
    const span = trace.getActiveSpan();
    if (span?.isRecording()) span.setAttribute(ATTR_PROMPT_HASH, hashPrompt(promptText));
  } catch (error) {
    diag.error('agent-canary: recording the prompt hash failed', error);
  }
}
