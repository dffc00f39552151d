import {
  type ApplyResult,
  assertValidSplit,
  type RetryResult,
  ROUTING_ERROR_CODE,
  type RoutingAdapter,
  RoutingError,
  type RoutingSplit,
  sameSplit,
  withRetry,
} from '@agent-canary/conventions';
import {
  type LaunchDarklyAdapterConfig,
  type LaunchDarklyAdapterOptions,
  resolveLaunchDarklyAdapterConfig,
} from './config.js';
import {
  instructionsFor,
  LAUNCHDARKLY_PROVIDER,
  type LaunchDarklyRestFlag,
  releaseVariationsOf,
  type SemanticPatchInstruction,
  splitFromRestFlag,
} from './flag-model.js';

/** Content-Type of a semantic patch: without the domain-model suffix LaunchDarkly reads the body as JSON Patch. */
export const SEMANTIC_PATCH_CONTENT_TYPE = 'application/json; domain-model=launchdarkly.semanticpatch';

/** Body of a semantic patch request. */
export interface SemanticPatchBody {
  readonly environmentKey: string;
  readonly comment: string;
  readonly instructions: readonly SemanticPatchInstruction[];
}

/** A failed HTTP exchange that a retry may fix (429, 5xx, 409, network, timeout). */
class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** A RoutingError (credentials, missing flag, wrong shape, a refused request) is one no retry will fix. */
const isPermanent = (error: unknown) => error instanceof RoutingError;

/**
 * Routing through LaunchDarkly's REST API: `apply` reads the flag, sends one semantic patch
 * (`updateVariation` for changed release ids, `turnFlagOn`, `updateFallthroughVariationOrRollout`
 * with weights out of 100 000; or `turnFlagOff` as the emergency stop) and confirms by
 * reading the flag back, retrying 429 / 5xx / network failures with backoff and jitter.
 * `read` returns what the environment routes, hand edits included.
 *
 * `apply` and `read` throw a {@link RoutingError} for what retrying cannot fix: `unauthorized`
 * (401/403), `flagNotFound` (404, unknown environment), `flagShape` (no release variations,
 * rules or targets in the environment, 400 on the patch).
 */
export class LaunchDarklyRoutingAdapter implements RoutingAdapter {
  /** The resolved configuration. */
  readonly config: LaunchDarklyAdapterConfig;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(options: LaunchDarklyAdapterOptions = {}) {
    this.config = resolveLaunchDarklyAdapterConfig(options);
  }

  /** Writes the split (no request when the flag already routes it) and confirms it by reading back. */
  apply(split: RoutingSplit): Promise<ApplyResult> {
    try {
      assertValidSplit(split, { requireRolloutId: true });
    } catch (error) {
      return Promise.reject(error);
    }
    // Serialised: each patch is computed from a fresh read of the flag.
    const result = this.writes.then(() => this.applyNow(split));
    this.writes = result.catch(() => undefined);
    return result;
  }

  async read(flagKey: string): Promise<RoutingSplit | undefined> {
    const flag = await this.getFlag(flagKey);
    return splitFromRestFlag(flag, this.config.environmentKey);
  }

  /**
   * Emergency stop: turns the flag off in the environment, so everyone gets the off
   * variation (set to the stable variation in the same patch). Confirmed by reading back.
   */
  stop(flagKey: string, comment = 'agent-canary: emergency stop'): Promise<ApplyResult> {
    const result = this.writes.then(async () => {
      const outcome = await withRetry(
        async () => {
          const flag = await this.getFlag(flagKey);
          const instructions = this.stopInstructions(flag);
          if (instructions.length > 0)
            await this.patch(flagKey, { environmentKey: this.config.environmentKey, comment, instructions });
          const readBack = await this.getFlag(flagKey);
          if (readBack.environments[this.config.environmentKey]?.on !== false)
            throw new TransientError('flag not off yet');
          return { version: readBack._version };
        },
        { ...this.config.retry, isPermanent },
      );
      return this.result(outcome);
    });
    this.writes = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await this.writes;
  }

  private async applyNow(split: RoutingSplit): Promise<ApplyResult> {
    const outcome = await withRetry(
      async () => {
        const flag = await this.getFlag(split.flagKey);
        let current: RoutingSplit | undefined;
        try {
          current = splitFromRestFlag(flag, this.config.environmentKey);
        } catch (error) {
          const rollback = split.canaryBasisPoints === 0 && split.controlBasisPoints === 0;
          if (!(rollback && error instanceof RoutingError && error.code === ROUTING_ERROR_CODE.flagShape)) throw error;
        }
        if (current === undefined) {
          // A rollback must not wait for someone to undo a hand edit (rules, targets): the
          // emergency stop serves the stable off variation to everyone, whatever the targeting.
          await this.patch(split.flagKey, {
            environmentKey: this.config.environmentKey,
            comment: `agent-canary rollout ${split.rolloutId}: rollback by turning the flag off (its targeting is not a plain rollout)`,
            instructions: this.stopInstructions(flag),
          });
          const readBack = await this.getFlag(split.flagKey);
          if (!sameSplit(splitFromRestFlag(readBack, this.config.environmentKey), split)) {
            throw new TransientError('read-back does not show the flag off yet');
          }
          return { version: readBack._version };
        }
        const instructions = instructionsFor(flag, this.config.environmentKey, split, this.config);
        if (
          !(
            sameSplit(current, split) &&
            current.rolloutId === split.rolloutId &&
            onlyRestatesRollout(instructions, flag, this.config.environmentKey, split)
          )
        ) {
          await this.patch(split.flagKey, {
            environmentKey: this.config.environmentKey,
            comment: `agent-canary rollout ${split.rolloutId}: canary ${split.canaryBasisPoints / 100}%, control ${split.controlBasisPoints / 100}% (${split.canaryRelease} vs ${split.stableRelease})`,
            instructions,
          });
        }
        const readBack = await this.getFlag(split.flagKey);
        const seen = splitFromRestFlag(readBack, this.config.environmentKey);
        if (!sameSplit(seen, split) || seen.rolloutId !== split.rolloutId) {
          throw new TransientError('read-back does not show the split yet');
        }
        return { version: readBack._version };
      },
      { ...this.config.retry, isPermanent },
    );
    return this.result(outcome);
  }

  /** Off variation = stable, flag off. Needs only the stable variation: works on a flag reshaped by hand. */
  private stopInstructions(flag: LaunchDarklyRestFlag): SemanticPatchInstruction[] {
    const stable = releaseVariationsOf(flag).byCohort.stable;
    const environment = flag.environments[this.config.environmentKey];
    const instructions: SemanticPatchInstruction[] = [];
    if (environment?.offVariation !== stable.index)
      instructions.push({ kind: 'updateOffVariation', variationId: stable.id });
    if (environment?.on !== false) instructions.push({ kind: 'turnFlagOff' });
    return instructions;
  }

  private result(outcome: RetryResult<{ version: number | undefined }>): ApplyResult {
    if (!outcome.ok) {
      return { acknowledged: false, attempts: outcome.attempts, reason: String(outcome.error) };
    }
    const version = outcome.value.version;
    return {
      acknowledged: true,
      acknowledgedAtMillis: this.config.clock(),
      attempts: outcome.attempts,
      ...(version === undefined ? {} : { version }),
    };
  }

  private flagUrl(flagKey: string): string {
    const { baseUrl, projectKey } = this.config;
    return `${baseUrl}/api/v2/flags/${encodeURIComponent(projectKey)}/${encodeURIComponent(flagKey)}`;
  }

  private async getFlag(flagKey: string): Promise<LaunchDarklyRestFlag> {
    const url = `${this.flagUrl(flagKey)}?env=${encodeURIComponent(this.config.environmentKey)}`;
    const response = await this.request(flagKey, url, {
      method: 'GET',
      headers: { Authorization: this.config.accessToken },
    });
    const body = (await response.json()) as LaunchDarklyRestFlag;
    if (typeof body !== 'object' || body === null || !Array.isArray(body.variations)) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.flagShape,
        provider: LAUNCHDARKLY_PROVIDER,
        flagKey,
        message: `LaunchDarkly returned no variations for flag "${flagKey}"`,
      });
    }
    return { ...body, key: body.key ?? flagKey, environments: body.environments ?? {} };
  }

  private async patch(flagKey: string, body: SemanticPatchBody): Promise<void> {
    await this.request(flagKey, this.flagUrl(flagKey), {
      method: 'PATCH',
      headers: { Authorization: this.config.accessToken, 'Content-Type': SEMANTIC_PATCH_CONTENT_TYPE },
      body: JSON.stringify(body),
    });
  }

  private async request(flagKey: string, url: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await this.config.fetch(url, {
        ...init,
        signal: AbortSignal.timeout(this.config.requestTimeoutMillis),
      });
    } catch (error) {
      throw new TransientError(`LaunchDarkly ${init.method} ${url} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (response.ok) return response;
    const detail = await errorDetail(response);
    const where = `project "${this.config.projectKey}", environment "${this.config.environmentKey}"`;
    if (response.status === 401 || response.status === 403) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.unauthorized,
        provider: LAUNCHDARKLY_PROVIDER,
        flagKey,
        message: `LaunchDarkly rejected the access token (HTTP ${response.status}${detail}) for flag "${flagKey}" in ${where}; it needs an API access token allowed to update the flag's targeting and variations`,
      });
    }
    if (response.status === 404) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.flagNotFound,
        provider: LAUNCHDARKLY_PROVIDER,
        flagKey,
        message: `LaunchDarkly has no flag "${flagKey}" in ${where} (HTTP 404${detail})`,
      });
    }
    if (response.status === 400 || response.status === 422) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.flagShape,
        provider: LAUNCHDARKLY_PROVIDER,
        flagKey,
        message: `LaunchDarkly refused the change to flag "${flagKey}" in ${where} (HTTP ${response.status}${detail})`,
      });
    }
    if (response.status < 500 && ![408, 409, 429].includes(response.status)) {
      // Another 4xx (e.g. an environment that requires approvals) will not change on retry.
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.unavailable,
        provider: LAUNCHDARKLY_PROVIDER,
        flagKey,
        message: `LaunchDarkly answered HTTP ${response.status}${detail} for flag "${flagKey}" in ${where}`,
      });
    }
    // 408, 409 (concurrent change), 429 (rate limit), 5xx: worth another try after the backoff.
    throw new TransientError(`LaunchDarkly ${init.method} flag "${flagKey}": HTTP ${response.status}${detail}`);
  }
}

/**
 * Creates the LaunchDarkly routing adapter.
 *
 * @example
 * const routing = createLaunchDarklyAdapter({ projectKey: 'support', environmentKey: 'production' }); // token from LAUNCHDARKLY_ACCESS_TOKEN
 */
export function createLaunchDarklyAdapter(options: LaunchDarklyAdapterOptions = {}): LaunchDarklyRoutingAdapter {
  return new LaunchDarklyRoutingAdapter(options);
}

/**
 * True when the flag already routes the split exactly as the patch would leave it, so the
 * PATCH can be skipped (idempotent apply). Only a fallthrough restatement is then left.
 */
function onlyRestatesRollout(
  instructions: readonly SemanticPatchInstruction[],
  flag: LaunchDarklyRestFlag,
  environmentKey: string,
  split: RoutingSplit,
): boolean {
  const environment = flag.environments[environmentKey];
  const stoppedAlready =
    environment?.on === false &&
    split.canaryBasisPoints === 0 &&
    split.controlBasisPoints === 0 &&
    instructions.length === 0;
  if (stoppedAlready) return true;
  return (
    environment?.on === true &&
    environment.fallthrough?.rollout !== undefined &&
    instructions.every((instruction) => instruction.kind === 'updateFallthroughVariationOrRollout')
  );
}

async function errorDetail(response: Response): Promise<string> {
  try {
    const text = (await response.text()).trim();
    if (text === '') return '';
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    const parts = [body.code, body.message].filter((part) => typeof part === 'string');
    return parts.length > 0 ? `: ${parts.join(': ')}` : '';
  } catch {
    return '';
  }
}
