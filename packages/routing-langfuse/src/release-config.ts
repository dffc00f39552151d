import type { ModelParameterValue, ReleaseConfiguration } from '@agent-canary/conventions';
import { ConfigError, hashPrompt } from '@agent-canary/conventions';
import type { LangfuseClient } from '@langfuse/client';
import { diag } from '@opentelemetry/api';
import { versionOfRelease } from './config.js';

/** How a release id names a prompt version. */
export const RELEASE_ID_KIND = {
  /** The release id is a Langfuse label (`support-v2`, `production`). */
  label: 'label',
  /** The release id is a version number (`"7"` or `"v7"`), as with the label adapter. */
  version: 'version',
} as const;
/** One of {@link RELEASE_ID_KIND}. */
export type ReleaseIdKind = (typeof RELEASE_ID_KIND)[keyof typeof RELEASE_ID_KIND];

/** Options of {@link createPromptLabelLookup}. Required fields first. */
export interface PromptLabelLookupOptions {
  /** Prompt whose versions are the releases. */
  readonly promptName: string;
  /** What a release id names. @default 'label' */
  readonly releaseIs?: ReleaseIdKind;
  /**
   * How long an answer (a configuration, or none) is reused before Langfuse is asked
   * again: bounds how fast a moved label reaches this process. `0` asks on every call.
   * @default 60 (as the @langfuse/client prompt cache)
   */
  readonly cacheTtlSeconds?: number;
  /** Timeout of one Langfuse request. @default 5000 */
  readonly timeoutMillis?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Defaults of {@link PromptLabelLookupOptions}. */
export const PROMPT_LABEL_LOOKUP_DEFAULTS = Object.freeze({
  releaseIs: RELEASE_ID_KIND.label,
  cacheTtlSeconds: 60,
  timeoutMillis: 5_000,
});

/**
 * A release id to its configuration, or undefined when there is none. Never rejects.
 * Structurally the `PromptLabelLookup` of `@agent-canary/instrumentation`
 * (`resolveReleaseConfig(..., { source: { kind: 'prompt-label', lookup } })`).
 */
export type PromptReleaseLookup = (releaseId: string) => Promise<ReleaseConfiguration | undefined>;

const MODEL_KEY = 'model';
const PROVIDER_KEY = 'provider';
const PARAMETERS_KEY = 'parameters';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isParameter(value: unknown): value is ModelParameterValue {
  return (
    typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))
  );
}

/**
 * The release configuration a Langfuse prompt version stands for: the prompt's `config`
 * names the model (`{ "model": "gpt-4.1-mini", "provider": "openai", "temperature": 0.2 }`;
 * scalar keys besides `model` and `provider`, and those of a nested `parameters` object, are
 * the model parameters), and the prompt text is hashed with `hashPrompt` (a chat prompt's
 * messages as JSON). Returns undefined, with the reason, when `config.model` is missing.
 */
export function releaseConfigOfPrompt(
  releaseId: string,
  prompt: { readonly name: string; readonly version: number; readonly prompt: unknown; readonly config?: unknown },
  label?: string,
): { readonly ok: true; readonly config: ReleaseConfiguration } | { readonly ok: false; readonly reason: string } {
  const config = isRecord(prompt.config) ? prompt.config : {};
  const model = config[MODEL_KEY];
  if (typeof model !== 'string' || model.trim() === '') {
    return {
      ok: false,
      reason: `prompt "${prompt.name}" version ${prompt.version} has no config.model naming the model of release ${releaseId}`,
    };
  }
  const parameters: Record<string, ModelParameterValue> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key !== MODEL_KEY && key !== PROVIDER_KEY && key !== PARAMETERS_KEY && isParameter(value))
      parameters[key] = value;
  }
  const nested = config[PARAMETERS_KEY];
  if (isRecord(nested)) {
    for (const [key, value] of Object.entries(nested)) if (isParameter(value)) parameters[key] = value;
  }
  const provider = config[PROVIDER_KEY];
  const text = typeof prompt.prompt === 'string' ? prompt.prompt : JSON.stringify(prompt.prompt);
  return {
    ok: true,
    config: {
      id: releaseId,
      promptHash: hashPrompt(text),
      prompt: { name: prompt.name, version: prompt.version, ...(label === undefined ? {} : { label }) },
      model,
      ...(typeof provider === 'string' && provider !== '' ? { provider } : {}),
      parameters,
    },
  };
}

/**
 * Resolves release ids to configurations through Langfuse prompts: the release id is a
 * label of `promptName` (or a version number with `releaseIs: 'version'`), the prompt's
 * `config` carries the model and its parameters, and the prompt text's hash is the
 * release's `promptHash`. Answers are cached for `cacheTtlSeconds`, and concurrent
 * lookups of one release share one request. It reads the public API directly rather than
 * `client.prompt.get`, which logs failures to the console. Never rejects: a
 * missing label, an unreachable Langfuse or a prompt without `config.model` resolve to
 * undefined (reported through `diag`), and `resolveReleaseConfig` then serves its fallback.
 *
 * @example
 * const lookup = createPromptLabelLookup(new LangfuseClient(), { promptName: 'support-agent' });
 * const resolved = await resolveReleaseConfig(client, 'support-agent.release', userId, {
 *   source: { kind: 'prompt-label', lookup },
 *   fallback: STABLE_CONFIG,
 * });
 * @throws ConfigError when an option is invalid.
 */
export function createPromptLabelLookup(
  client: LangfuseClient,
  options: PromptLabelLookupOptions,
): PromptReleaseLookup {
  if (client === undefined || client === null || typeof client.api?.prompts?.get !== 'function') {
    throw new ConfigError({ path: 'client', expected: 'a LangfuseClient from @langfuse/client', received: client });
  }
  if (typeof options?.promptName !== 'string' || options.promptName.trim() === '') {
    throw new ConfigError({
      path: 'promptName',
      expected: 'the name of the Langfuse prompt',
      received: options?.promptName,
    });
  }
  const releaseIs = options.releaseIs ?? PROMPT_LABEL_LOOKUP_DEFAULTS.releaseIs;
  if (!Object.values(RELEASE_ID_KIND).includes(releaseIs)) {
    throw new ConfigError({ path: 'releaseIs', expected: "'label' or 'version'", received: releaseIs });
  }
  const cacheTtlSeconds = options.cacheTtlSeconds ?? PROMPT_LABEL_LOOKUP_DEFAULTS.cacheTtlSeconds;
  if (typeof cacheTtlSeconds !== 'number' || !(cacheTtlSeconds >= 0)) {
    throw new ConfigError({
      path: 'cacheTtlSeconds',
      expected: 'a number of seconds, 0 or more',
      received: cacheTtlSeconds,
    });
  }
  const timeoutMillis = options.timeoutMillis ?? PROMPT_LABEL_LOOKUP_DEFAULTS.timeoutMillis;
  if (typeof timeoutMillis !== 'number' || !(timeoutMillis > 0)) {
    throw new ConfigError({
      path: 'timeoutMillis',
      expected: 'a positive number of milliseconds',
      received: timeoutMillis,
    });
  }
  const { promptName } = options;
  const clock = options.clock ?? Date.now;
  const requestOptions = { maxRetries: 0, timeoutInSeconds: timeoutMillis / 1000 };
  const cache = new Map<
    string,
    { readonly expiresAtMillis: number; readonly answer: Promise<ReleaseConfiguration | undefined> }
  >();

  async function fetchConfig(releaseId: string): Promise<ReleaseConfiguration | undefined> {
    try {
      const version = releaseIs === RELEASE_ID_KIND.version ? versionOfRelease(releaseId) : undefined;
      if (releaseIs === RELEASE_ID_KIND.version && version === undefined) {
        diag.warn(`agent-canary langfuse: release id "${releaseId}" is not a prompt version of "${promptName}"`);
        return undefined;
      }
      const prompt = await client.api.prompts.get(
        promptName,
        version === undefined ? { label: releaseId } : { version },
        requestOptions,
      );
      const result = releaseConfigOfPrompt(releaseId, prompt, version === undefined ? releaseId : undefined);
      if (!result.ok) {
        diag.warn(`agent-canary langfuse: ${result.reason}`);
        return undefined;
      }
      return result.config;
    } catch (error) {
      diag.warn(`agent-canary langfuse: no configuration for release "${releaseId}" of prompt "${promptName}"`, error);
      return undefined;
    }
  }

  return (releaseId) => {
    const now = clock();
    const cached = cache.get(releaseId);
    if (cached !== undefined && cached.expiresAtMillis > now) return cached.answer;
    const answer = fetchConfig(releaseId);
    if (cacheTtlSeconds > 0) {
      // Release ids are few (one per rollout); drop expired entries so the map stays that small.
      for (const [id, entry] of cache) if (entry.expiresAtMillis <= now) cache.delete(id);
      cache.set(releaseId, { expiresAtMillis: now + cacheTtlSeconds * 1000, answer });
    }
    return answer;
  };
}
