/**
 * The schema of the rollout definition file (YAML or JSON): every field it may hold, in
 * the words of the errors a person reads (`expected ...`), and the text durations it
 * accepts. `config.ts` turns what it parses into the controller's and the gate's options.
 */
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
/** The rollout definition file: field names, types, bounds and cross-field rules. */
export const fileSchema = strictObject({
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

/** A rollout definition file as the schema parses it. */
export type RolloutFile = z.output<typeof fileSchema>;
