/**
 * The routing provider switch: one rollout definition writes its split to the embedded
 * provider, flagd, Unleash, LaunchDarkly or Langfuse prompt labels by changing
 * `routing.provider`. Options come from `routing.options`, then each adapter's own
 * environment variables (read from the CLI's injected environment, so tests and the
 * process agree), then the adapter's defaults. Provider packages are loaded on first use:
 * a team on flagd never loads the LaunchDarkly or Unleash SDKs.
 */
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { RoutingAdapter } from '@agent-canary/conventions';
import { ConfigError } from '@agent-canary/conventions';
import type { LaunchDarklyAdapterOptions } from '@agent-canary/routing-launchdarkly';
import type { UnleashAdapterOptions } from '@agent-canary/routing-unleash';
import type { LangfuseClient } from '@langfuse/client';
import { ROUTING_PROVIDER, type RoutingProvider } from './config/file-schema.js';
import type { RoutingDefinition } from './config.js';
import type { RoutingFactory } from './controller-store.js';

/** Environment variable naming the embedded provider's routing state file (read by the routing package too). */
export const ROUTING_FILE_ENV = 'AGENT_CANARY_ROUTING_FILE';

/** Environment variables the Langfuse client reads (the CLI passes them explicitly). */
export const LANGFUSE_CLIENT_ENV = Object.freeze({
  publicKey: 'LANGFUSE_PUBLIC_KEY',
  secretKey: 'LANGFUSE_SECRET_KEY',
  baseUrl: 'LANGFUSE_BASE_URL',
});

/** What `langfuseClient` of {@link CliRoutingOptions} is given. */
export interface LangfuseClientSettings {
  readonly publicKey?: string;
  readonly secretKey?: string;
  readonly baseUrl?: string;
}

/** Options of `cliRoutingFactory`. */
export interface CliRoutingOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory a relative file path (`routing.options.path`) resolves against. */
  readonly cwd: string;
  /**
   * Creates the Langfuse client of the `langfuse` provider.
   * @default `new LangfuseClient(settings)` from `@langfuse/client`
   */
  readonly langfuseClient?: (settings: LangfuseClientSettings) => LangfuseClient | Promise<LangfuseClient>;
  /**
   * Start the flagd sync server of `routing.options.mode: sync` with the adapter. The
   * long-running `serve` does; short-lived commands (`rollout start`, `rollback`, ...) only
   * write the flag file, which the running server sees and pushes.
   * @default false
   */
  readonly serveFlagdSync?: boolean;
}

/** Values of `routing.options.mode` of the flagd provider. */
export const FLAGD_MODE = Object.freeze({ file: 'file', sync: 'sync' } as const);

type Env = CliRoutingOptions['env'];
type OptionType = 'string' | 'number' | 'boolean' | 'object';

/** The fields each provider accepts in `routing.options` (anything else is a typo). */
const PROVIDER_OPTIONS: Readonly<Record<RoutingProvider, Readonly<Record<string, OptionType>>>> = {
  embedded: { path: 'string' },
  flagd: { path: 'string', mode: 'string', syncPort: 'number', syncHost: 'string' },
  unleash: { url: 'string', adminToken: 'string', project: 'string', environment: 'string', timeoutMillis: 'number' },
  launchdarkly: {
    accessToken: 'string',
    projectKey: 'string',
    environmentKey: 'string',
    baseUrl: 'string',
    contextKind: 'string',
    bucketBy: 'string',
    rollbackWithFlagOff: 'boolean',
    requestTimeoutMillis: 'number',
  },
  langfuse: {
    promptName: 'string',
    canaryLabel: 'string',
    productionLabel: 'string',
    timeoutMillis: 'number',
    publicKey: 'string',
    secretKey: 'string',
    baseUrl: 'string',
    inner: 'object',
  },
};

const EXPECTED_TYPE: Readonly<Record<OptionType, string>> = {
  string: 'a non-empty string',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
};

/**
 * Checks `routing.options` against the provider's fields and returns them typed. Secrets
 * may be given here but belong in the environment (`UNLEASH_ADMIN_TOKEN`, ...).
 */
function providerOptions(
  provider: RoutingProvider,
  options: Readonly<Record<string, unknown>>,
  path: string,
): Record<string, string | number | boolean | object> {
  const spec = PROVIDER_OPTIONS[provider];
  const out: Record<string, string | number | boolean | object> = {};
  for (const [key, value] of Object.entries(options)) {
    const type = spec[key];
    if (type === undefined) {
      throw new ConfigError({
        path: `${path}.${key}`,
        expected: `one of the ${provider} options ${Object.keys(spec).join(', ')}`,
        received: value,
      });
    }
    if (value === undefined || value === null) continue;
    const ok =
      type === 'object'
        ? (typeof value === 'object' && !Array.isArray(value)) || typeof value === 'string'
        : typeof value === type && (type !== 'string' || (value as string).trim() !== '');
    if (!ok) throw new ConfigError({ path: `${path}.${key}`, expected: EXPECTED_TYPE[type], received: value });
    out[key] = value as string | number | boolean | object;
  }
  return out;
}

function firstEnv(env: Env, names: readonly string[]): string | undefined {
  return names.map((name) => env[name]?.trim()).find((value) => value !== undefined && value !== '');
}

/** Re-throws an adapter's own `ConfigError` with the definition file's field path. */
function underPath<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof ConfigError && !error.path.startsWith(path)) {
      throw new ConfigError({
        path: error.path === '' ? path : `${path}.${error.path}`,
        expected: error.expected,
        received: error.received,
        code: error.code,
      });
    }
    throw error;
  }
}

function filePath(cwd: string, value: string): string {
  return isAbsolute(value) ? value : resolve(cwd, value);
}

function string(options: Record<string, unknown>, key: string): string | undefined {
  const value = options[key];
  return typeof value === 'string' ? value : undefined;
}

function defined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Builds the routing adapter a rollout definition names. `path` is the field path used
 * in error messages (`routing`, or `routing.options.inner` for Langfuse's inner adapter).
 *
 * @throws ConfigError naming the field (`routing.options.path`, `routing.options.url (env UNLEASH_URL)`, ...)
 */
export async function createRoutingAdapter(
  routing: RoutingDefinition,
  options: CliRoutingOptions,
  path = 'routing',
): Promise<RoutingAdapter> {
  const optionsPath = `${path}.options`;
  const given = providerOptions(routing.provider, routing.options, optionsPath);
  const { env, cwd } = options;
  switch (routing.provider) {
    case ROUTING_PROVIDER.embedded: {
      const configured = string(given, 'path') ?? firstEnv(env, [ROUTING_FILE_ENV]);
      // Without a file the split would live in this short-lived process only: no agent would see it.
      if (configured === undefined) {
        throw new ConfigError({
          path: `${optionsPath}.path`,
          expected: `the routing state file the agents read (or set ${ROUTING_FILE_ENV})`,
          received: configured,
        });
      }
      const file = filePath(cwd, configured);
      // The adapter writes atomically into the file's directory; make sure it exists.
      mkdirSync(dirname(file), { recursive: true });
      const { EmbeddedRoutingAdapter } = await import('@agent-canary/routing');
      return new EmbeddedRoutingAdapter({ path: file });
    }
    case ROUTING_PROVIDER.flagd: {
      const { createFlagdAdapter, FLAGD_ADAPTER_ENV, resolveFlagdAdapterConfig } = await import(
        '@agent-canary/routing-flagd'
      );
      const configured = string(given, 'path') ?? firstEnv(env, FLAGD_ADAPTER_ENV.path);
      // The flag file is shared with flagd: a missing directory is a mistake to report, not to paper over.
      const config = underPath(optionsPath, () =>
        resolveFlagdAdapterConfig(configured === undefined ? {} : { path: filePath(cwd, configured) }, {}),
      );
      const mode = string(given, 'mode') ?? FLAGD_MODE.file;
      if (mode !== FLAGD_MODE.file && mode !== FLAGD_MODE.sync) {
        throw new ConfigError({
          path: `${optionsPath}.mode`,
          expected: 'file (providers read the flag file) or sync (the controller pushes it over gRPC)',
          received: mode,
        });
      }
      if (mode === FLAGD_MODE.file) {
        const stray = ['syncPort', 'syncHost'].find((key) => given[key] !== undefined);
        if (stray !== undefined) {
          throw new ConfigError({
            path: `${optionsPath}.${stray}`,
            expected: 'nothing unless mode is sync',
            received: given[stray],
          });
        }
      }
      if (mode === FLAGD_MODE.file || options.serveFlagdSync !== true) return createFlagdAdapter({ path: config.path });
      const { FLAGD_SYNC_ENV, resolveFlagdSyncServerConfig, startFlagdSyncServer } = await import(
        '@agent-canary/routing-flagd'
      );
      const syncOptions = defined({
        path: config.path,
        port: typeof given['syncPort'] === 'number' ? given['syncPort'] : undefined,
        host: string(given, 'syncHost'),
      });
      // The server names its fields port / host; the definition names them syncPort / syncHost.
      const renamed: Readonly<Record<string, string>> = {
        port: 'syncPort',
        host: 'syncHost',
        [`env.${FLAGD_SYNC_ENV.port[0]}`]: `syncPort (env ${FLAGD_SYNC_ENV.port[0]})`,
      };
      const syncConfig = underPath(optionsPath, () => {
        try {
          return resolveFlagdSyncServerConfig(syncOptions, env);
        } catch (error) {
          const field = error instanceof ConfigError ? renamed[error.path] : undefined;
          if (field === undefined) throw error;
          const { expected, received, code } = error as ConfigError;
          throw new ConfigError({ path: field, expected, received, code });
        }
      });
      return createFlagdAdapter({ path: config.path, sync: await startFlagdSyncServer(syncConfig) });
    }
    case ROUTING_PROVIDER.unleash: {
      const { createUnleashAdapter, resolveUnleashAdapterConfig } = await import('@agent-canary/routing-unleash');
      const config = underPath(optionsPath, () => resolveUnleashAdapterConfig(given as UnleashAdapterOptions, env));
      return createUnleashAdapter(config);
    }
    case ROUTING_PROVIDER.launchDarkly: {
      const { createLaunchDarklyAdapter, resolveLaunchDarklyAdapterConfig } = await import(
        '@agent-canary/routing-launchdarkly'
      );
      const config = underPath(optionsPath, () =>
        resolveLaunchDarklyAdapterConfig(given as LaunchDarklyAdapterOptions, env),
      );
      return createLaunchDarklyAdapter(defined({ ...config }));
    }
    case ROUTING_PROVIDER.langfuse:
      return createLangfuseAdapter(given, options, optionsPath);
  }
}

async function createLangfuseAdapter(
  given: Record<string, unknown>,
  options: CliRoutingOptions,
  optionsPath: string,
): Promise<RoutingAdapter> {
  const innerPath = `${optionsPath}.inner`;
  const inner = innerDefinition(given['inner'], innerPath);
  const { createLangfuseLabelAdapter, resolveLangfuseLabelConfig } = await import('@agent-canary/routing-langfuse');
  const settings: LangfuseClientSettings = defined({
    publicKey: string(given, 'publicKey') ?? firstEnv(options.env, [LANGFUSE_CLIENT_ENV.publicKey]),
    secretKey: string(given, 'secretKey') ?? firstEnv(options.env, [LANGFUSE_CLIENT_ENV.secretKey]),
    baseUrl: string(given, 'baseUrl') ?? firstEnv(options.env, [LANGFUSE_CLIENT_ENV.baseUrl]),
  });
  for (const key of ['publicKey', 'secretKey'] as const) {
    if (settings[key] === undefined) {
      throw new ConfigError({
        path: `${optionsPath}.${key} (env ${LANGFUSE_CLIENT_ENV[key]})`,
        expected: `the Langfuse project's ${key === 'publicKey' ? 'public' : 'secret'} API key`,
        received: undefined,
      });
    }
  }
  const client = options.langfuseClient
    ? await options.langfuseClient(settings)
    : new (await importLangfuseClient(optionsPath.replace(/\.options$/, '.provider'))).LangfuseClient(settings);
  const innerAdapter = await createRoutingAdapter(inner, options, innerPath);
  const labelOptions = defined({
    client,
    inner: innerAdapter,
    promptName: string(given, 'promptName'),
    canaryLabel: string(given, 'canaryLabel'),
    productionLabel: string(given, 'productionLabel'),
    timeoutMillis: typeof given['timeoutMillis'] === 'number' ? given['timeoutMillis'] : undefined,
  });
  try {
    const config = underPath(optionsPath, () => resolveLangfuseLabelConfig(labelOptions, options.env));
    return createLangfuseLabelAdapter(config);
  } catch (error) {
    await innerAdapter.close();
    throw error;
  }
}

/**
 * `@langfuse/client` is an optional peer of the CLI: only the `langfuse` provider loads it, so
 * operators of the other providers do not install it.
 */
async function importLangfuseClient(path: string): Promise<typeof import('@langfuse/client')> {
  try {
    return await import('@langfuse/client');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigError({
      path,
      expected: 'the @langfuse/client package installed next to @agent-canary/cli (npm install @langfuse/client)',
      received: 'langfuse',
    });
  }
}

/** `routing.options.inner`: a provider name, or `{ provider, options }`; never Langfuse itself. */
function innerDefinition(value: unknown, path: string): RoutingDefinition {
  const providers = Object.values(ROUTING_PROVIDER).filter((provider) => provider !== ROUTING_PROVIDER.langfuse);
  const expected = `the adapter holding the split: one of ${providers.join(', ')}, or { provider, options }`;
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  const provider = typeof value === 'string' ? value : record?.['provider'];
  if (!providers.some((name) => name === provider)) {
    throw new ConfigError({ path: record ? `${path}.provider` : path, expected, received: provider });
  }
  const innerOptions = record?.['options'] ?? {};
  if (typeof innerOptions !== 'object' || innerOptions === null || Array.isArray(innerOptions)) {
    throw new ConfigError({
      path: `${path}.options`,
      expected: 'an object of provider options',
      received: innerOptions,
    });
  }
  const extra = record ? Object.keys(record).filter((key) => key !== 'provider' && key !== 'options') : [];
  if (extra[0] !== undefined) {
    throw new ConfigError({
      path: `${path}.${extra[0]}`,
      expected: 'one of the fields provider, options',
      received: record?.[extra[0]],
    });
  }
  return { provider: provider as RoutingProvider, options: innerOptions as Record<string, unknown> };
}

/**
 * The routing adapters the CLI writes splits with, one per `routing.provider`:
 *
 * | provider | adapter | options (`routing.options`) and environment |
 * |---|---|---|
 * | `embedded` | routing state file read by the embedded OpenFeature provider | `path` / `AGENT_CANARY_ROUTING_FILE` |
 * | `flagd` | flagd flag file (fractional split); `mode: sync` also serves it over flagd's gRPC sync protocol (`serve` starts the server) | `path` / `AGENT_CANARY_FLAGD_FILE`, `FLAGD_OFFLINE_FLAG_SOURCE_PATH`; `mode`, `syncPort` / `AGENT_CANARY_FLAGD_SYNC_PORT`, `syncHost` / `AGENT_CANARY_FLAGD_SYNC_HOST` |
 * | `unleash` | Unleash Admin API | `url`, `adminToken`, `project`, `environment` / `UNLEASH_*` |
 * | `launchdarkly` | LaunchDarkly REST API (semantic patch) | `accessToken`, `projectKey`, `environmentKey`, `baseUrl` / `LAUNCHDARKLY_*` |
 * | `langfuse` | Langfuse prompt labels around an `inner` adapter | `promptName`, `inner`, labels / `AGENT_CANARY_LANGFUSE_*`, `LANGFUSE_*` keys |
 *
 * Invalid or missing options throw `ConfigError` naming the field (exit code 2).
 *
 * @example
 * const openStore = controllerStoreOpener({ routing: cliRoutingFactory({ env: process.env, cwd: process.cwd() }) });
 */
export function cliRoutingFactory(options: CliRoutingOptions): RoutingFactory {
  return (routing) => createRoutingAdapter(routing, options);
}
