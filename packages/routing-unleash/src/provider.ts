import { createRequire } from 'node:module';
import {
  COHORT,
  ConfigError,
  FLAG_METADATA_COHORT,
  FLAG_METADATA_RELEASE,
  FLAG_METADATA_ROLLOUT_ID,
  isCohort,
} from '@agent-canary/conventions';
import {
  type EvaluationContext,
  type FlagMetadata,
  FlagNotFoundError,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
  StandardResolutionReasons,
  TypeMismatchError,
} from '@openfeature/server-sdk';
import { diag } from '@opentelemetry/api';
import type * as UnleashClientModule from 'unleash-client';
import type { Context, Unleash } from 'unleash-client';
import { ROLLOUT_ID_PARAMETER, type UnleashStrategy } from './strategy.js';

/**
 * Loads unleash-client when a provider is created. The admin adapter (all the CLI needs to
 * write a split) uses none of it, so the SDK is an optional peer that only apps reading
 * flags through {@link UnleashProvider} install.
 */
function loadUnleashClient(): typeof UnleashClientModule {
  try {
    return createRequire(import.meta.url)('unleash-client') as typeof UnleashClientModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new ConfigError({
      path: 'client',
      expected: 'the unleash-client package next to @agent-canary/routing-unleash (npm install unleash-client)',
    });
  }
}

/** Environment variables read by {@link UnleashProvider} when it creates its own client. */
export const UNLEASH_PROVIDER_ENV = Object.freeze({
  url: 'UNLEASH_URL',
  apiToken: 'UNLEASH_API_TOKEN',
  appName: 'UNLEASH_APP_NAME',
});

/** Options of {@link UnleashProvider}: pass `client`, or the connection fields to let the provider create one. */
export interface UnleashProviderOptions {
  /** An `unleash-client` instance you already run. The provider does not destroy it on close. */
  readonly client?: Unleash;
  /** Base URL of Unleash (or of Unleash Edge); `/api` is appended when missing. Env `UNLEASH_URL`. */
  readonly url?: string;
  /** Backend (client SDK) token. Env `UNLEASH_API_TOKEN`. */
  readonly apiToken?: string;
  /** Env `UNLEASH_APP_NAME`. @default 'agent-canary' */
  readonly appName?: string;
  /**
   * How often the client polls for flag changes: the floor of rollback latency in the app.
   * @default 15000 (unleash-client's own default)
   */
  readonly refreshIntervalMillis?: number;
  /** Send usage metrics to Unleash. @default true */
  readonly metrics?: boolean;
  /**
   * Release served to users outside the canary and control slices when the flag carries
   * none. Normally the `control` variant's payload (the stable release the controller
   * wrote) is used; this is the fallback before the first rollout. @default undefined
   */
  readonly stableRelease?: string;
  /** How long `initialize` waits for the first flag fetch. @default 10000 */
  readonly initTimeoutMillis?: number;
}

/** Defaults of {@link UnleashProviderOptions}. */
export const UNLEASH_PROVIDER_DEFAULTS = Object.freeze({
  appName: 'agent-canary',
  refreshIntervalMillis: 15_000,
  metrics: true,
  initTimeoutMillis: 10_000,
});

/** Provider name reported in evaluation details and telemetry. */
export const UNLEASH_PROVIDER_NAME = 'agent-canary-unleash';

/**
 * An OpenFeature server provider over `unleash-client` for release flags. The variant
 * Unleash picks for `{ userId: targetingKey }` is the cohort (`canary` / `control`) and
 * its payload the release id; users the rollout does not include get cohort `stable`
 * and the stable release (the `control` variant's payload). Emits
 * `ConfigurationChanged` whenever the client fetched new flag definitions.
 *
 * Unleash buckets with its own hash (MurmurHash3 of `groupId:userId`), not agent-canary's:
 * users land in different cohorts than with the embedded or flagd provider.
 *
 * @example
 * await OpenFeature.setProviderAndWait(new UnleashProvider({ url: 'https://unleash.example.com', apiToken: process.env.UNLEASH_API_TOKEN, refreshIntervalMillis: 1000 }));
 */
export class UnleashProvider implements Provider {
  readonly metadata = { name: UNLEASH_PROVIDER_NAME } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  /** The underlying client (for its own events or for `isEnabled` calls). */
  readonly client: Unleash;
  private readonly owned: boolean;
  private readonly stableRelease: string | undefined;
  private readonly initTimeoutMillis: number;
  private readonly onChanged = () => this.events.emit(ProviderEvents.ConfigurationChanged, {});
  private readonly onError = (error: unknown) => diag.warn('agent-canary: unleash-client error', error);
  private readonly onWarn = (message: unknown) => diag.debug(`agent-canary: unleash-client: ${String(message)}`);

  /** unleash-client's event names. */
  private readonly clientEvents: typeof UnleashClientModule.UnleashEvents;

  constructor(options: UnleashProviderOptions = {}, env: Readonly<Record<string, string | undefined>> = process.env) {
    const { InMemStorageProvider, Unleash, UnleashEvents } = loadUnleashClient();
    this.clientEvents = UnleashEvents;
    this.stableRelease = options.stableRelease;
    this.initTimeoutMillis = options.initTimeoutMillis ?? UNLEASH_PROVIDER_DEFAULTS.initTimeoutMillis;
    if (options.client !== undefined) {
      this.client = options.client;
      this.owned = false;
    } else {
      const url = options.url ?? env[UNLEASH_PROVIDER_ENV.url];
      if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
        throw new ConfigError({
          path: 'url',
          expected: `an http(s) URL of Unleash (or env ${UNLEASH_PROVIDER_ENV.url}), or a client`,
          received: url,
        });
      }
      const apiToken = options.apiToken ?? env[UNLEASH_PROVIDER_ENV.apiToken];
      if (typeof apiToken !== 'string' || apiToken === '') {
        throw new ConfigError({
          path: 'apiToken',
          expected: `an Unleash backend token (or env ${UNLEASH_PROVIDER_ENV.apiToken})`,
          received: apiToken,
        });
      }
      const refreshInterval = options.refreshIntervalMillis ?? UNLEASH_PROVIDER_DEFAULTS.refreshIntervalMillis;
      if (!Number.isFinite(refreshInterval) || refreshInterval <= 0) {
        throw new ConfigError({
          path: 'refreshIntervalMillis',
          expected: 'a positive number of milliseconds',
          received: refreshInterval,
        });
      }
      const base = url.replace(/\/+$/, '');
      this.client = new Unleash({
        url: base.endsWith('/api') ? base : `${base}/api`,
        appName: options.appName ?? env[UNLEASH_PROVIDER_ENV.appName] ?? UNLEASH_PROVIDER_DEFAULTS.appName,
        customHeaders: { Authorization: apiToken },
        refreshInterval,
        disableMetrics: !(options.metrics ?? UNLEASH_PROVIDER_DEFAULTS.metrics),
        // No backup file on disk: routing must come from the server, not a stale copy.
        storageProvider: new InMemStorageProvider(),
        disableAutoStart: true,
        skipInstanceCountWarning: true,
      });
      this.owned = true;
    }
    // A listener also keeps unleash-client from printing its errors to the console.
    this.client.on(UnleashEvents.Error, this.onError);
    this.client.on(UnleashEvents.Warn, this.onWarn);
    this.client.on(UnleashEvents.Changed, this.onChanged);
  }

  async initialize(): Promise<void> {
    if (this.client.isSynchronized()) return;
    const synchronized = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off(this.clientEvents.Synchronized, done);
        reject(new Error(`unleash-client did not fetch flags within ${this.initTimeoutMillis} ms`));
      }, this.initTimeoutMillis);
      timer.unref?.();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once(this.clientEvents.Synchronized, done);
    });
    if (this.owned) await this.client.start();
    await synchronized;
  }

  async onClose(): Promise<void> {
    this.client.off(this.clientEvents.Changed, this.onChanged);
    this.client.off(this.clientEvents.Error, this.onError);
    this.client.off(this.clientEvents.Warn, this.onWarn);
    if (this.owned) this.client.destroy();
  }

  async resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    return this.resolve(flagKey, defaultValue, context);
  }

  /** Synchronous resolution (the same answer as the OpenFeature path). */
  resolve(flagKey: string, defaultValue: string, context: EvaluationContext): ResolutionDetails<string> {
    const definition = this.client.getFeatureToggleDefinition(flagKey);
    if (definition === undefined) throw new FlagNotFoundError(`flag ${flagKey} is not known to unleash-client`);
    // The client API drops strategy titles; the rollout-id parameter marks the controller's strategy.
    const strategy = (definition.strategies as readonly UnleashStrategy[] | undefined)?.find(
      (s) => s.parameters?.[ROLLOUT_ID_PARAMETER] !== undefined,
    );
    const rolloutId = strategy?.parameters?.[ROLLOUT_ID_PARAMETER];
    const stableRelease =
      strategy?.variants?.find((v) => v.name === COHORT.control)?.payload?.value ?? this.stableRelease ?? defaultValue;
    const stable = (reason: string): ResolutionDetails<string> => ({
      value: stableRelease,
      variant: COHORT.stable,
      reason,
      flagMetadata: metadata(COHORT.stable, stableRelease, rolloutId),
    });
    const targetingKey = context.targetingKey;
    // Without a subject there is no sticky bucket: serve stable rather than a random cohort.
    if (typeof targetingKey !== 'string' || targetingKey === '') return stable(StandardResolutionReasons.DEFAULT);
    const variant = this.client.getVariant(flagKey, unleashContext(targetingKey, context));
    if (!variant.enabled || variant.feature_enabled === false) {
      return stable(definition.enabled ? StandardResolutionReasons.SPLIT : StandardResolutionReasons.DISABLED);
    }
    const release = variant.payload?.value;
    if (typeof release !== 'string' || release === '') {
      throw new TypeMismatchError(`variant ${variant.name} of flag ${flagKey} has no release id payload`);
    }
    const cohort = isCohort(variant.name) ? variant.name : undefined;
    return {
      value: release,
      variant: variant.name,
      reason: StandardResolutionReasons.SPLIT,
      flagMetadata: metadata(cohort, release, rolloutId),
    };
  }

  async resolveBooleanEvaluation(flagKey: string): Promise<ResolutionDetails<boolean>> {
    throw new TypeMismatchError(`release flag ${flagKey} is a string flag`);
  }

  async resolveNumberEvaluation(flagKey: string): Promise<ResolutionDetails<number>> {
    throw new TypeMismatchError(`release flag ${flagKey} is a string flag`);
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string): Promise<ResolutionDetails<T>> {
    throw new TypeMismatchError(`release flag ${flagKey} is a string flag`);
  }
}

function metadata(cohort: string | undefined, release: string, rolloutId: string | undefined): FlagMetadata {
  return {
    ...(cohort === undefined ? {} : { [FLAG_METADATA_COHORT]: cohort }),
    [FLAG_METADATA_RELEASE]: release,
    ...(rolloutId === undefined || rolloutId === '' ? {} : { [FLAG_METADATA_ROLLOUT_ID]: rolloutId }),
  };
}

const STANDARD_FIELDS = ['sessionId', 'remoteAddress', 'environment', 'appName'] as const;

function unleashContext(targetingKey: string, context: EvaluationContext): Context {
  const result: Context = { userId: targetingKey };
  const properties: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(context)) {
    if (key === 'targetingKey') continue;
    if ((STANDARD_FIELDS as readonly string[]).includes(key) && typeof value === 'string') result[key] = value;
    else if (typeof value === 'string' || typeof value === 'number') properties[key] = value;
    else if (typeof value === 'boolean') properties[key] = String(value);
  }
  if (Object.keys(properties).length > 0) result.properties = properties;
  return result;
}
