import {
  type ApplyResult,
  ConfigError,
  ROUTING_ERROR_CODE,
  type RoutingAdapter,
  RoutingError,
  type RoutingSplit,
  withRetry,
} from '@agent-canary/conventions';
import {
  type LangfuseLabelAdapterOptions,
  type LangfuseLabelConfig,
  resolveLangfuseLabelConfig,
  versionOfRelease,
} from './config.js';

/** Provider name carried by routing errors. */
export const LANGFUSE_PROVIDER = 'langfuse';

/** Where the two labels point: prompt versions (the canary label may be on no version). */
export interface LabelPositions {
  readonly canary: number | undefined;
  readonly production: number;
}

/** The Langfuse label adapter: a `RoutingAdapter` plus label inspection. */
export interface LangfuseLabelAdapter extends RoutingAdapter {
  readonly config: LangfuseLabelConfig;
  /** Reads where the canary and production labels point now (uncached). */
  labels(): Promise<LabelPositions>;
}

/** Errors that no retry can fix: they leave `apply` at once. */
const PERMANENT: ReadonlySet<string> = new Set([ROUTING_ERROR_CODE.unauthorized, ROUTING_ERROR_CODE.flagNotFound]);
const isPermanent = (error: unknown) => error instanceof RoutingError && PERMANENT.has(error.code);

/**
 * Where the labels point after `split` was applied: the canary label on the canary
 * version while the canary gets traffic (on the stable version after a rollback), the
 * production label on the stable version until promotion moves it to the canary version.
 */
export function expectedLabels(split: RoutingSplit): LabelPositions {
  const canary = versionOf(split.canaryRelease, 'split.canaryRelease');
  const stable = versionOf(split.stableRelease, 'split.stableRelease');
  return {
    canary: split.canaryBasisPoints > 0 ? canary : stable,
    production: split.canaryBasisPoints >= 10_000 ? canary : stable,
  };
}

function versionOf(release: string, path: string): number {
  const version = versionOfRelease(release);
  if (version === undefined) {
    throw new ConfigError({
      path,
      expected: 'a Langfuse prompt version as release id, e.g. "7" or "v7"',
      received: release,
    });
  }
  return version;
}

/**
 * Releases as Langfuse prompt versions. The split (who is in the canary) lives in the
 * `inner` adapter; this one moves the labels the app reads: the canary cohort fetches
 * the prompt labelled `canary`, everyone else `production`. `apply` moves the labels
 * (PATCH `/api/public/v2/prompts/{name}/versions/{version}`), reads them back, then
 * applies the split through `inner`. A rollback (canary at 0) sets the split first, then
 * moves the canary label onto the production version. Promotion (canary at 10 000 bp)
 * moves `production` to the canary version.
 *
 * `read` returns the inner split when the labels sit where that split puts them; when
 * someone moved a label by hand it returns the releases the labels name, so the
 * controller's `sameSplit` check sees the change.
 *
 * @example
 * const routing = createLangfuseLabelAdapter({ client: new LangfuseClient(), promptName: 'support-agent', inner: new EmbeddedRoutingAdapter({ path: 'routing.json' }) });
 */
export function createLangfuseLabelAdapter(options: LangfuseLabelAdapterOptions): LangfuseLabelAdapter {
  const config = resolveLangfuseLabelConfig(options);
  const { client, promptName, canaryLabel, productionLabel, inner } = config;
  const requestOptions = { maxRetries: 0, timeoutInSeconds: config.timeoutMillis / 1000 };

  async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toRoutingError(error, what, promptName);
    }
  }

  async function versionWithLabel(label: string): Promise<number | undefined> {
    try {
      const prompt = await client.api.prompts.get(promptName, { label }, requestOptions);
      return prompt.version;
    } catch (error) {
      // 404 for a label means "no version carries it": a valid state (e.g. before the first rollout).
      if (statusOf(error) === 404) return undefined;
      throw toRoutingError(error, `GET prompt "${promptName}" label "${label}"`, promptName);
    }
  }

  async function labels(): Promise<LabelPositions> {
    const [canary, production] = await Promise.all([versionWithLabel(canaryLabel), versionWithLabel(productionLabel)]);
    if (production === undefined) {
      // Both labels missing also means a missing prompt: Langfuse answers 404 either way.
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.flagNotFound,
        provider: LANGFUSE_PROVIDER,
        flagKey: promptName,
        message: `prompt "${promptName}" has no version labelled "${productionLabel}" (or does not exist); create it and label the stable version "${productionLabel}"`,
      });
    }
    return { canary, production };
  }

  /** Moves the labels to `targetFor(now)` and reads them back, with retries. Throws only permanent errors. */
  async function moveLabels(
    targetFor: (now: LabelPositions) => LabelPositions,
  ): Promise<{ attempts: number; problem?: string }> {
    const outcome = await withRetry(
      async () => {
        const now = await labels();
        const target = targetFor(now);
        for (const [label, version, current] of [
          [canaryLabel, target.canary, now.canary],
          [productionLabel, target.production, now.production],
        ] as const) {
          if (version === undefined || version === current) continue;
          // Labels are unique per prompt: setting one on a version removes it from the others.
          await call(`PATCH prompt "${promptName}" version ${version}`, () =>
            client.api.promptVersion.update(promptName, version, { newLabels: [label] }, requestOptions),
          );
        }
        const back = await labels();
        if (back.canary !== target.canary || back.production !== target.production) {
          throw new Error(
            `labels read back as ${canaryLabel}=${back.canary} ${productionLabel}=${back.production}, not ${target.canary}/${target.production}`,
          );
        }
      },
      { ...config.retry, isPermanent },
    );
    if (outcome.ok) return { attempts: outcome.attempts };
    const problem = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    return { attempts: outcome.attempts, problem: `labels: ${problem}` };
  }

  return {
    config,
    labels,
    async apply(split: RoutingSplit): Promise<ApplyResult> {
      const target = expectedLabels(split);
      // Exposure moves the labels before the split (the canary cohort must find the new
      // version); a rollback shrinks the split first, the faster of the two paths.
      if (split.canaryBasisPoints > 0) {
        const moved = await moveLabels(() => target);
        if (moved.problem !== undefined)
          return { acknowledged: false, attempts: moved.attempts, reason: moved.problem };
        return combine(moved.attempts, await inner.apply(split), undefined, config.clock);
      }
      const innerResult = await inner.apply(split);
      // Rollback moves only the canary label, onto whatever production serves now: the
      // canary cohort then gets what everyone gets, and production is never touched.
      const moved = await moveLabels((now) => ({ canary: now.production, production: now.production }));
      return combine(moved.attempts, innerResult, moved.problem, config.clock);
    },
    async read(flagKey: string): Promise<RoutingSplit | undefined> {
      const split = await inner.read(flagKey);
      if (split === undefined) return undefined;
      const now = await labels();
      const expected = expectedLabels(split);
      if (now.canary === expected.canary && now.production === expected.production) return split;
      // Someone moved a label: report the releases the app actually serves from the labels.
      return {
        ...split,
        canaryRelease: now.canary === undefined ? '' : releaseLike(now.canary, split.canaryRelease),
        stableRelease: releaseLike(now.production, split.stableRelease),
      };
    },
    async close() {
      await inner.close();
    },
  };
}

function combine(
  labelAttempts: number,
  inner: ApplyResult,
  labelProblem: string | undefined,
  clock: () => number,
): ApplyResult {
  const attempts = labelAttempts + inner.attempts;
  if (!inner.acknowledged) return { ...inner, attempts, reason: `split: ${inner.reason ?? 'not acknowledged'}` };
  if (labelProblem !== undefined) return { acknowledged: false, attempts, reason: labelProblem };
  return {
    acknowledged: true,
    // Seen when the last of the two writes read back.
    acknowledgedAtMillis: Math.max(inner.acknowledgedAtMillis ?? 0, clock()),
    attempts,
    ...(inner.version === undefined ? {} : { version: inner.version }),
  };
}

/** Writes `version` in the same style as `like` (`"7"` or `"v7"`), so equal releases compare equal. */
function releaseLike(version: number, like: string): string {
  return like.startsWith('v') ? `v${version}` : String(version);
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function toRoutingError(error: unknown, what: string, promptName: string): RoutingError {
  if (error instanceof RoutingError) return error;
  const status = statusOf(error);
  const base = { provider: LANGFUSE_PROVIDER, flagKey: promptName, cause: error };
  if (status === 401 || status === 403) {
    return new RoutingError({
      ...base,
      code: ROUTING_ERROR_CODE.unauthorized,
      message: `Langfuse rejected the API keys (HTTP ${status}) on ${what}; the project's public + secret key pair is needed (prompts: read and update labels)`,
    });
  }
  if (status === 404) {
    return new RoutingError({
      ...base,
      code: ROUTING_ERROR_CODE.flagNotFound,
      message: `${what}: not found (HTTP 404)`,
    });
  }
  return new RoutingError({
    ...base,
    code: ROUTING_ERROR_CODE.unavailable,
    message: `${what} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${error instanceof Error ? error.message : String(error)}`,
  });
}
