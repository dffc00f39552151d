/**
 * The rollout definition file (YAML or JSON): its schema, its defaults and the errors a
 * person reads when it is wrong. Every error names the field path, what was expected and
 * what was received, e.g. `rollout.yaml: steps[1].percent: expected a number greater than
 * 0 and at most 100, received 120`.
 *
 * The file's field names are those of the controller's `RolloutOptions` and the gate's
 * `GateOptions`, so the mapping is nearly the identity; durations may also be written as
 * text (`duration: 15m` beside `minDurationMillis: 900000`). This is the only module that
 * knows the file format.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { type RolloutOptions, safeResolveRolloutConfig } from '@agent-canary/controller';
import { ConfigError, type SafeResult } from '@agent-canary/conventions';
import { type GateOptions, safeResolveGateConfig } from '@agent-canary/gate';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** Routing providers a rollout can write its split to. */
export const ROUTING_PROVIDER = {
  embedded: 'embedded',
  flagd: 'flagd',
  launchDarkly: 'launchdarkly',
  unleash: 'unleash',
  langfuse: 'langfuse',
} as const;
/** One of {@link ROUTING_PROVIDER}. */
export type RoutingProvider = (typeof ROUTING_PROVIDER)[keyof typeof ROUTING_PROVIDER];

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

const DURATION_UNIT_MILLIS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/;
const DURATION_EXPECTED = 'a duration like "90s", "15m" or "1h30m"';

/**
 * Parses a duration such as `"500ms"`, `"90s"`, `"15m"`, `"1h30m"` or `"2d"` into
 * milliseconds. Returns `undefined` when the text is not a duration.
 */
export function parseDurationMillis(text: string): number | undefined {
  let rest = text.trim();
  if (rest.length === 0) return undefined;
  let total = 0;
  while (rest.length > 0) {
    const match = DURATION_PATTERN.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * (DURATION_UNIT_MILLIS[match[2] ?? ''] ?? Number.NaN);
    rest = rest.slice(match[0].length);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** A strict object whose unknown-key issue lists the fields that do exist. */
function strictObject<T extends z.ZodRawShape>(shape: T, what = 'an object') {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `one of the fields ${known}` : what),
  });
}

const text = (what: string) => z.string({ error: what }).trim().min(1, { error: what });
const bool = z.boolean({ error: 'true or false' });
const fraction = (what = 'a fraction') => {
  const expected = `${what} between 0 and 1`;
  return z.number({ error: expected }).min(0, { error: expected }).max(1, { error: expected });
};
const level = (max: number) => {
  const expected = `a false-alarm level above 0 and at most ${max}`;
  return z.number({ error: expected }).gt(0, { error: expected }).max(max, { error: expected });
};
const millis = (expected = 'a number of milliseconds above 0') =>
  z.number({ error: expected }).positive({ error: expected });
const count = (min = 0) => {
  const expected = min === 0 ? 'a whole number, 0 or more' : `a whole number, ${min} or more`;
  return z.number({ error: expected }).int({ error: expected }).min(min, { error: expected });
};
const nonNegative = (expected: string) => z.number({ error: expected }).min(0, { error: expected });
const ratio = () => {
  const expected = 'a ratio of 1 or more';
  return z.number({ error: expected }).min(1, { error: expected });
};
const unit = z.enum(['subject', 'request'], { error: "one of 'subject', 'request'" });
const duration = z.string({ error: DURATION_EXPECTED }).transform((value, context) => {
  const parsed = parseDurationMillis(value);
  if (parsed === undefined) {
    context.addIssue({ code: 'custom', message: DURATION_EXPECTED, input: value });
    return z.NEVER;
  }
  return parsed;
});

const positiveDuration = duration.pipe(z.number().positive({ error: 'a duration above 0' }));

const PERCENT_EXPECTED = 'a number greater than 0 and at most 100';
const stepSchema = strictObject(
  {
    percent: z
      .number({ error: PERCENT_EXPECTED })
      .gt(0, { error: PERCENT_EXPECTED })
      .max(100, { error: PERCENT_EXPECTED }),
    duration: duration.optional(),
    minDurationMillis: nonNegative('a number of milliseconds, 0 or more').optional(),
    minCanaryRequests: count().optional(),
  },
  'a step object such as { percent: 5, duration: "15m", minCanaryRequests: 200 }',
);

const checkCommon = {
  enabled: bool.optional(),
  observe: bool.optional(),
  alphaShare: nonNegative('a share of alphaTotal, 0 or more').optional(),
  unit: unit.optional(),
  weight: nonNegative('a weight, 0 or more').optional(),
};
const rateCheck = strictObject({
  ...checkCommon,
  limit: fraction('a rate').optional(),
  maxRelativeRisk: ratio().optional(),
});
const checksSchema = strictObject({
  latencyP99: strictObject({
    ...checkCommon,
    maxMillis: millis('a latency in milliseconds above 0').optional(),
  }).optional(),
  errorRate: rateCheck.optional(),
  toolSuccessRate: rateCheck.optional(),
  refusalRate: rateCheck.optional(),
  thumbsDownRate: rateCheck.optional(),
  similarity: strictObject({
    ...checkCommon,
    min: fraction('a score').optional(),
    maxRelativeRisk: ratio().optional(),
  }).optional(),
  toxicity: strictObject({ ...checkCommon, max: fraction('a score').optional() }).optional(),
  toolMix: strictObject({ ...checkCommon, maxShareDrift: fraction('a share difference').optional() }).optional(),
  responseLength: strictObject({
    ...checkCommon,
    maxKsDistance: fraction('a KS distance').optional(),
  }).optional(),
});

const providers = Object.values(ROUTING_PROVIDER);
const fileSchema = strictObject({
  rolloutId: text('a non-empty string').optional(),
  flagKey: text('a non-empty flag key'),
  canaryRelease: text('a non-empty release id'),
  stableRelease: text('a non-empty release id'),
  steps: z
    .array(stepSchema, { error: 'a list of steps' })
    .min(2, { error: 'a list of at least two steps (canary steps, then 100)' })
    .superRefine((steps, context) => {
      steps.forEach((step, index) => {
        const previous = index > 0 ? steps[index - 1] : undefined;
        if (previous && step.percent <= previous.percent) {
          context.addIssue({
            code: 'custom',
            path: [index, 'percent'],
            message: `a share greater than the previous step's (${previous.percent})`,
            input: step.percent,
          });
        }
        if (step.duration !== undefined && step.minDurationMillis !== undefined) {
          context.addIssue({
            code: 'custom',
            path: [index, 'minDurationMillis'],
            message: 'either duration or minDurationMillis, not both',
            input: step.minDurationMillis,
          });
        }
      });
      const last = steps.at(-1);
      if (last && last.percent !== 100) {
        context.addIssue({
          code: 'custom',
          path: [steps.length - 1, 'percent'],
          message: '100 on the last step (promote)',
          input: last.percent,
        });
      }
    })
    .optional(),
  maxDuration: duration.optional(),
  maxDurationMillis: millis().optional(),
  tickInterval: duration.optional(),
  tickIntervalMillis: millis().optional(),
  noDataTimeout: duration.optional(),
  noDataTimeoutMillis: millis().optional(),
  consecutiveFailuresBeforeRollback: count(1).optional(),
  requireApproval: bool.optional(),
  warmup: strictObject({
    minDuration: duration.optional(),
    minDurationMillis: nonNegative('a number of milliseconds, 0 or more').optional(),
    minStableRequests: count().optional(),
    minCanaryRequests: count().optional(),
  }).optional(),
  gate: strictObject({
    mode: z.enum(['sequential', 'weighted'], { error: "one of 'sequential', 'weighted'" }).optional(),
    alphaTotal: level(0.5).optional(),
    thresholdAlphaShare: level(1).optional(),
    minSamples: count().optional(),
    warnMarginFraction: fraction().optional(),
    maxExposureRequests: count(1).optional(),
    minReferenceSamples: count(1).optional(),
    sampleRatio: strictObject({
      enabled: bool.optional(),
      alpha: level(0.5).optional(),
      unit: unit.optional(),
      settleMillis: count().optional(),
    }).optional(),
    weighted: strictObject({ passScore: fraction().optional(), warnScore: fraction().optional() }).optional(),
    checks: checksSchema.optional(),
  }).optional(),
  routing: strictObject({
    provider: z.enum(providers, { error: `one of ${providers.join(', ')}` }),
    options: z.record(z.string(), z.unknown(), { error: 'an object of provider options' }).optional(),
  }).optional(),
  store: strictObject({ path: text('a file path') }).optional(),
  notifications: strictObject({
    webhook: strictObject({
      url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }),
    }).optional(),
  }).optional(),
  serve: strictObject({
    maxRequestBytes: count(1).optional(),
    maxDecompressedBytes: count(1).optional(),
    maxSpansPerRequest: count(1).optional(),
    maxObjectsPerRequest: count(1).optional(),
    maxInFlightBytes: count(1).optional(),
    headersTimeout: positiveDuration.optional(),
    headersTimeoutMillis: count(1).optional(),
    bodyTimeout: positiveDuration.optional(),
    bodyTimeoutMillis: count(1).optional(),
    idleTimeout: positiveDuration.optional(),
    idleTimeoutMillis: count(1).optional(),
    allowUnauthenticatedIngest: bool.optional(),
    snapshotInterval: positiveDuration.optional(),
    snapshotIntervalMillis: count(1).optional(),
  }).optional(),
}).superRefine((file, context) => {
  const pairs: readonly [readonly (string | number)[], string, unknown, string, unknown][] = [
    [[], 'maxDuration', file.maxDuration, 'maxDurationMillis', file.maxDurationMillis],
    [[], 'tickInterval', file.tickInterval, 'tickIntervalMillis', file.tickIntervalMillis],
    [[], 'noDataTimeout', file.noDataTimeout, 'noDataTimeoutMillis', file.noDataTimeoutMillis],
    [['warmup'], 'minDuration', file.warmup?.minDuration, 'minDurationMillis', file.warmup?.minDurationMillis],
    ...(['headersTimeout', 'bodyTimeout', 'idleTimeout', 'snapshotInterval'] as const).map(
      (name) =>
        [['serve'], name, file.serve?.[name], `${name}Millis`, file.serve?.[`${name}Millis`]] as [
          string[],
          string,
          unknown,
          string,
          unknown,
        ],
    ),
  ];
  for (const [parent, textName, fromText, millisName, fromMillis] of pairs) {
    if (fromText !== undefined && fromMillis !== undefined) {
      context.addIssue({
        code: 'custom',
        path: [...parent, millisName],
        message: `either ${textName} or ${millisName}, not both`,
        input: fromMillis,
      });
    }
  }
});

type RolloutFile = z.output<typeof fileSchema>;

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
