/**
 * The rollout definition file (YAML or JSON): its schema, its defaults and the errors a
 * person reads when it is wrong. Every error names the field path, what was expected and
 * what was received, e.g. `rollout.yaml: steps[1].percent: expected a number greater than
 * 0 and at most 100, received 120`.
 *
 * The file's field names are those of the controller's `RolloutOptions` and the gate's
 * `GateOptions`, so the mapping is nearly the identity; durations may also be written as
 * text (`duration: 15m` beside `minDurationMillis: 900000`). This module and its schema
 * (`config/file-schema.ts`) are the only ones that know the file format.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { type RolloutOptions, safeResolveRolloutConfig } from '@agent-canary/controller';
import { ConfigError, type SafeResult } from '@agent-canary/conventions';
import { type GateOptions, safeResolveGateConfig } from '@agent-canary/gate';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { fileSchema, ROUTING_PROVIDER, type RolloutFile, type RoutingProvider } from './config/file-schema.js';

/** Where the controller writes the split. */
export interface RoutingDefinition {
  /** @default 'embedded' */
  readonly provider: RoutingProvider;
  /** Provider-specific options (validated by the provider's adapter). @default {} */
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * The `serve` section: limits of `agent-canary serve`'s receiver and its processor
 * snapshots (tokens are secrets: they come from the environment or flags, never the file).
 */
export interface ServeDefinition {
  readonly maxRequestBytes?: number;
  readonly maxDecompressedBytes?: number;
  readonly maxSpansPerRequest?: number;
  readonly maxObjectsPerRequest?: number;
  readonly maxInFlightBytes?: number;
  readonly headersTimeoutMillis?: number;
  readonly bodyTimeoutMillis?: number;
  readonly idleTimeoutMillis?: number;
  readonly allowUnauthenticatedIngest?: boolean;
  /** How often the behaviour processor's snapshot is written, ms. */
  readonly snapshotIntervalMillis?: number;
}

/**
 * A validated rollout definition: options for the controller and the gate, which apply
 * their own defaults (and were checked with their resolvers when the file was parsed).
 */
export interface RolloutDefinition {
  /** The controller's `RolloutOptions`. */
  readonly rollout: RolloutOptions;
  /** The gate's `GateOptions` (the file's warm-up is copied into it). */
  readonly gate: GateOptions;
  readonly routing: RoutingDefinition;
  /** Path of the controller's SQLite store (`--store` and `AGENT_CANARY_STORE` win over it). */
  readonly storePath?: string;
  readonly notifications: { readonly webhookUrl?: string };
  /** Options of `agent-canary serve` (`{}` when the file has no `serve` section). */
  readonly serve: ServeDefinition;
}

function toDefinition(file: RolloutFile): RolloutDefinition {
  const maxDurationMillis = file.maxDuration ?? file.maxDurationMillis;
  const tickIntervalMillis = file.tickInterval ?? file.tickIntervalMillis;
  const noDataTimeoutMillis = file.noDataTimeout ?? file.noDataTimeoutMillis;
  const warmupMillis = file.warmup?.minDuration ?? file.warmup?.minDurationMillis;
  const warmup = file.warmup
    ? {
        ...(warmupMillis === undefined ? {} : { minDurationMillis: warmupMillis }),
        ...(file.warmup.minStableRequests === undefined ? {} : { minStableRequests: file.warmup.minStableRequests }),
        ...(file.warmup.minCanaryRequests === undefined ? {} : { minCanaryRequests: file.warmup.minCanaryRequests }),
      }
    : undefined;
  const rollout: RolloutOptions = {
    flagKey: file.flagKey,
    canaryRelease: file.canaryRelease,
    stableRelease: file.stableRelease,
    ...(file.rolloutId === undefined ? {} : { id: file.rolloutId }),
    ...(file.steps === undefined
      ? {}
      : {
          steps: file.steps.map((step) => {
            const minDurationMillis = step.duration ?? step.minDurationMillis;
            return {
              percent: step.percent,
              ...(minDurationMillis === undefined ? {} : { minDurationMillis }),
              ...(step.minCanaryRequests === undefined ? {} : { minCanaryRequests: step.minCanaryRequests }),
            };
          }),
        }),
    ...(maxDurationMillis === undefined ? {} : { maxDurationMillis }),
    ...(tickIntervalMillis === undefined ? {} : { tickIntervalMillis }),
    ...(noDataTimeoutMillis === undefined ? {} : { noDataTimeoutMillis }),
    ...(file.consecutiveFailuresBeforeRollback === undefined
      ? {}
      : { consecutiveFailuresBeforeRollback: file.consecutiveFailuresBeforeRollback }),
    ...(file.requireApproval === undefined ? {} : { requireApproval: file.requireApproval }),
    ...(warmup === undefined ? {} : { warmup }),
  };
  const { minReferenceSamples, ...gateRest } = file.gate ?? {};
  // One warm-up for both: the controller holds the step and the gate freezes its references
  // at the same moment, so a person configures it once.
  const gateWarmup = {
    ...(warmup?.minDurationMillis === undefined ? {} : { minMillis: warmup.minDurationMillis }),
    ...(warmup?.minStableRequests === undefined ? {} : { minStableRequests: warmup.minStableRequests }),
    ...(warmup?.minCanaryRequests === undefined ? {} : { minCanaryRequests: warmup.minCanaryRequests }),
    ...(minReferenceSamples === undefined ? {} : { minReferenceSamples }),
  };
  const gate: GateOptions = {
    ...gateRest,
    ...(Object.keys(gateWarmup).length === 0 ? {} : { warmup: gateWarmup }),
  };
  return {
    rollout,
    gate,
    routing: {
      provider: file.routing?.provider ?? ROUTING_PROVIDER.embedded,
      options: file.routing?.options ?? {},
    },
    ...(file.store === undefined ? {} : { storePath: file.store.path }),
    notifications: file.notifications?.webhook ? { webhookUrl: file.notifications.webhook.url } : {},
    serve: toServeDefinition(file.serve ?? {}),
  };
}

function toServeDefinition(serve: NonNullable<RolloutFile['serve']>): ServeDefinition {
  const { headersTimeout, bodyTimeout, idleTimeout, snapshotInterval, ...rest } = serve;
  const headersTimeoutMillis = headersTimeout ?? rest.headersTimeoutMillis;
  const bodyTimeoutMillis = bodyTimeout ?? rest.bodyTimeoutMillis;
  const idleTimeoutMillis = idleTimeout ?? rest.idleTimeoutMillis;
  const snapshotIntervalMillis = snapshotInterval ?? rest.snapshotIntervalMillis;
  return Object.fromEntries(
    Object.entries({
      ...rest,
      headersTimeoutMillis,
      bodyTimeoutMillis,
      idleTimeoutMillis,
      snapshotIntervalMillis,
    }).filter(([, value]) => value !== undefined),
  ) as ServeDefinition;
}

/** The rollout definition file is invalid: every problem found, one `ConfigError` each. */
export class ConfigFileError extends Error {
  /** Where the definition came from (a file name, or `config` for an in-memory value). */
  readonly source: string;
  readonly issues: readonly ConfigError[];

  constructor(source: string, issues: readonly ConfigError[]) {
    super(issues.map((issue) => `${source}: ${issue.message.replace(/^invalid configuration at /, '')}`).join('\n'));
    this.name = 'ConfigFileError';
    this.source = source;
    this.issues = issues;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out.length === 0 ? String(key) : `.${String(key)}`;
  }
  return out.length === 0 ? '(top level)' : out;
}

function toConfigErrors(issues: readonly z.core.$ZodIssue[]): ConfigError[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const input = issue.input as Record<string, unknown> | undefined;
      return issue.keys.map(
        (key) =>
          new ConfigError({
            path: formatPath([...issue.path, key]),
            expected: issue.message,
            received: input?.[key] ?? null,
          }),
      );
    }
    return [new ConfigError({ path: formatPath(issue.path), expected: issue.message, received: issue.input })];
  });
}

function withPath(error: ConfigError, path: string): ConfigError {
  return new ConfigError({ path, expected: error.expected, received: error.received, code: error.code });
}

/**
 * Validates a parsed rollout definition (the object read from YAML or JSON), then checks
 * it with the controller's and the gate's own resolvers (cross-field rules, environment
 * overrides).
 * Never throws: returns the definition or every problem found.
 */
export function safeParseRolloutDefinition(
  value: unknown,
  source = 'config',
  env: Readonly<Record<string, string | undefined>> = {},
): SafeResult<RolloutDefinition, ConfigFileError> {
  const result = fileSchema.safeParse(value, { reportInput: true });
  if (!result.success) return { ok: false, error: new ConfigFileError(source, toConfigErrors(result.error.issues)) };
  const definition = toDefinition(result.data);
  const issues: ConfigError[] = [];
  const rollout = safeResolveRolloutConfig(definition.rollout, env);
  // The controller calls the rollout id `id`; the file calls it `rolloutId`.
  if (!rollout.ok) issues.push(withPath(rollout.error, rollout.error.path === 'id' ? 'rolloutId' : rollout.error.path));
  const gate = safeResolveGateConfig(definition.gate);
  if (!gate.ok) issues.push(withPath(gate.error, `gate.${gate.error.path}`));
  if (issues.length > 0) return { ok: false, error: new ConfigFileError(source, issues) };
  return { ok: true, value: definition };
}

/**
 * Validates a parsed rollout definition and applies the defaults.
 * @throws ConfigFileError listing every problem (field path, expected, received)
 */
export function parseRolloutDefinition(
  value: unknown,
  source = 'config',
  env: Readonly<Record<string, string | undefined>> = {},
): RolloutDefinition {
  const result = safeParseRolloutDefinition(value, source, env);
  if (!result.ok) throw result.error;
  return result.value;
}

/**
 * Parses the text of a definition file: JSON when the name ends in `.json`, YAML
 * otherwise (YAML is a superset of JSON).
 * @throws ConfigFileError on a syntax error or an invalid definition
 */
export function parseRolloutDefinitionText(
  content: string,
  fileName: string,
  env: Readonly<Record<string, string | undefined>> = {},
): RolloutDefinition {
  const source = basename(fileName);
  let value: unknown;
  try {
    value = extname(fileName).toLowerCase() === '.json' ? JSON.parse(content) : parseYaml(content);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigFileError(source, [
      new ConfigError({
        path: '(file)',
        expected: `valid ${extname(fileName) === '.json' ? 'JSON' : 'YAML'}`,
        received: detail,
      }),
    ]);
  }
  return parseRolloutDefinition(value, source, env);
}

/**
 * Reads and validates a definition file.
 * @throws ConfigFileError when the file is invalid; the `fs` error when it cannot be read
 */
export async function loadRolloutDefinition(
  path: string,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<RolloutDefinition> {
  return parseRolloutDefinitionText(await readFile(path, 'utf8'), path, env);
}
