import { ConfigError, type SafeResult } from '@agent-canary/conventions';

/** How the gate decides: anytime-valid tests (default) or the article's weighted score. */
export const GATE_MODE = {
  /** Canary-vs-control e-processes plus absolute thresholds. */
  sequential: 'sequential',
  /** The article's weighted PASS/WARN/FAIL score of threshold checks (compatibility). */
  weighted: 'weighted',
} as const;
export type GateMode = (typeof GATE_MODE)[keyof typeof GATE_MODE];

/**
 * How much evidence an evaluation computes. Decisions (verdict, failure flags, state)
 * are identical in both modes.
 */
export const GATE_EVIDENCE = {
  /** Every check's reason, effect bounds (bisection) and quantiles: what people read. */
  full: 'full',
  /**
   * Only what the decision needs; a failing check still gets its full evidence, the
   * others a verdict and an empty reason. For simulations and high-frequency ticks.
   */
  decision: 'decision',
} as const;
export type GateEvidence = (typeof GATE_EVIDENCE)[keyof typeof GATE_EVIDENCE];

/** Unit of analysis of a check. */
export const ANALYSIS_UNIT = {
  /** One observation per subject (the unit of randomisation): valid under sticky routing. */
  subject: 'subject',
  /** One observation per request (turn). Clustered users inflate false alarms. */
  request: 'request',
  /** One observation per tool call. */
  toolCall: 'tool_call',
} as const;
export type AnalysisUnit = (typeof ANALYSIS_UNIT)[keyof typeof ANALYSIS_UNIT];

/** Units a person may choose for a rate or distribution check. */
export type ConfigurableUnit = typeof ANALYSIS_UNIT.subject | typeof ANALYSIS_UNIT.request;

/** Names of the gate's checks, as they appear in evidence. */
export const GATE_CHECK = {
  latencyP99: 'latency_p99',
  errorRate: 'error_rate',
  toolSuccessRate: 'tool_success_rate',
  refusalRate: 'refusal_rate',
  similarity: 'similarity',
  toxicity: 'toxicity',
  thumbsDownRate: 'thumbs_down_rate',
  toolMix: 'tool_mix',
  responseLength: 'response_length',
  sampleRatio: 'sample_ratio',
} as const;
export type GateCheckName = (typeof GATE_CHECK)[keyof typeof GATE_CHECK];

/** Options shared by every check. */
export interface CheckOptions {
  /** @default true (toxicity: true, thumbs-down: true) */
  readonly enabled?: boolean;
  /**
   * Relative share of the total alpha for this check's sequential test. Shares of the
   * enabled checks are normalised to `alphaTotal` (Bonferroni, valid under any dependence).
   * 0 disables the sequential test and keeps the threshold.
   * @default statistics.md §4: tool 0.25, error 0.25, latency 0.2, refusal 0.1, the others 0.05
   */
  readonly alphaShare?: number;
  /** Weight in `weighted` mode. @default 2 for error and tool success, 1 for the others */
  readonly weight?: number;
}

/** A rate of adverse events (error, tool failure, refusal, thumbs-down). */
export interface RateCheckOptions extends CheckOptions {
  /**
   * Absolute limit on the canary's rate (fraction 0..1); for tool success a minimum.
   * @default error 0.01, refusal 0.05, tool success 0.95 (a minimum), thumbs-down none
   */
  readonly limit?: number;
  /** Unit of the sequential test. @default 'subject' */
  readonly unit?: ConfigurableUnit;
  /**
   * Largest relative risk (canary/control) still acceptable: promotion readiness needs the
   * anytime upper bound below it, and a measured RR above it (without rejection) warns.
   * @default 1.5
   */
  readonly maxRelativeRisk?: number;
}

/** p99 latency. */
export interface LatencyCheckOptions extends CheckOptions {
  /** Limit on the canary's p99 in milliseconds. @default 3000 */
  readonly maxMillis?: number;
  /** Unit of the rank test. @default 'subject' */
  readonly unit?: ConfigurableUnit;
  /** Canary/control p99 ratio above which the check warns without a rejection. @default 1.2 */
  readonly maxQuantileRatio?: number;
}

/** Similarity of canary answers to control answers (0..1). */
export interface SimilarityCheckOptions extends CheckOptions {
  /** Minimum mean similarity; answers below it are the test's adverse events. @default 0.85 */
  readonly min?: number;
  /** @default 1.5 */
  readonly maxRelativeRisk?: number;
}

/** Toxicity score (0..1); threshold only: there is no control comparison to bet on. */
export interface ToxicityCheckOptions extends CheckOptions {
  /** Limit on the canary's mean toxicity. @default 0.1 */
  readonly max?: number;
}

/** Drift of the tool-call mix, canary vs control. */
export interface ToolMixCheckOptions extends CheckOptions {
  /** Largest absolute change of one tool's share of calls (the article's drift threshold). @default 0.15 */
  readonly maxShareDrift?: number;
}

/** Drift of the response-length distribution, canary vs control. */
export interface ResponseLengthCheckOptions extends CheckOptions {
  /** Largest KS distance between the canary's and control's length CDFs. @default 0.1 */
  readonly maxKsDistance?: number;
  /** @default 'subject' */
  readonly unit?: ConfigurableUnit;
}

/** Warm-up: only the sample-ratio test runs; the stable references freeze at its end. */
export interface WarmupOptions {
  /** Warm-up ends after this time, or earlier once both request minima are met. @default 60000 */
  readonly minMillis?: number;
  /** @default 500 */
  readonly minStableRequests?: number;
  /** @default 50 */
  readonly minCanaryRequests?: number;
  /** Stable observations needed to freeze a latency/length reference. @default 20 */
  readonly minReferenceSamples?: number;
}

/** Sample-ratio-mismatch test on (stable, canary, control) counts. */
export interface SampleRatioOptions {
  /** @default true */
  readonly enabled?: boolean;
  /** @default 0.001 */
  readonly alpha?: number;
  /** @default 'subject' */
  readonly unit?: ConfigurableUnit;
  /**
   * Time after the first split during which the test does not count: flag systems that
   * poll (flagd file mode, about 5 s; Unleash clients, their refresh interval) keep serving
   * the old split for a while, which would read as a mismatch. Pair it with `unit: 'request'`:
   * users first seen while routing settled come back later as new subjects of their real
   * cohort, which the subject count would read as a mismatch too. @default 0
   */
  readonly settleMillis?: number;
}

/** Options of the quality gate. */
export interface GateOptions {
  /** @default 'sequential' */
  readonly mode?: GateMode;
  /** Evidence computed per evaluation (see {@link GATE_EVIDENCE}). @default 'full' */
  readonly evidence?: GateEvidence;
  /** Family-wise false-fail probability over the whole rollout, any cadence. @default 0.01 */
  readonly alphaTotal?: number;
  /** Minimum canary and control requests before a pass (below it: inconclusive). @default 50 */
  readonly minSamples?: number;
  /** A passing threshold check within this fraction of its limit warns. @default 0.1 */
  readonly warnMarginFraction?: number;
  /**
   * Level of the anytime-valid confidence bounds that judge the absolute thresholds in
   * `sequential` mode, in (0, 0.5]. A threshold fails only when the bound on the canary's
   * value is past the limit (error rate: its lower bound above the maximum; tool success:
   * its upper bound below the minimum); a point estimate past the limit without that
   * evidence warns. The bounds hold at every evaluation at once, so a canary that truly
   * meets a limit fails that threshold with probability at most `thresholdAlpha` over the
   * whole rollout, however often the gate looks (at most k·`thresholdAlpha` for k enabled
   * thresholds). Separate from `alphaTotal`: thresholds are the article's limits, not
   * comparisons with control. `weighted` mode keeps the article's point estimates.
   * @default 0.01
   */
  readonly thresholdAlpha?: number;
  readonly warmup?: WarmupOptions;
  readonly sampleRatio?: SampleRatioOptions;
  /** Promotion readiness: canary requests after which power suffices. @default 3000 */
  readonly maxExposureRequests?: number;
  /** Weighted mode score cut-offs. @default { passScore: 0.8, warnScore: 0.5 } */
  readonly weighted?: { readonly passScore?: number; readonly warnScore?: number };
  readonly checks?: {
    readonly latencyP99?: LatencyCheckOptions;
    readonly errorRate?: RateCheckOptions;
    readonly toolSuccessRate?: RateCheckOptions;
    readonly refusalRate?: RateCheckOptions;
    readonly similarity?: SimilarityCheckOptions;
    readonly toxicity?: ToxicityCheckOptions;
    readonly thumbsDownRate?: RateCheckOptions;
    readonly toolMix?: ToolMixCheckOptions;
    readonly responseLength?: ResponseLengthCheckOptions;
  };
}

/** Resolved options common to every check. */
export interface ResolvedCheck {
  readonly name: GateCheckName;
  readonly enabled: boolean;
  readonly alphaShare: number;
  /** This check's alpha after the Bonferroni split (0 when it has no sequential test). */
  readonly alpha: number;
  readonly weight: number;
}

/** A resolved rate check. `limit` is a maximum except for tool success (a minimum). */
export interface RateCheckConfig extends ResolvedCheck {
  readonly limit: number | undefined;
  readonly unit: ConfigurableUnit;
  readonly maxRelativeRisk: number;
}
export interface LatencyCheckConfig extends ResolvedCheck {
  readonly maxMillis: number;
  readonly unit: ConfigurableUnit;
  readonly maxQuantileRatio: number;
}
export interface SimilarityCheckConfig extends ResolvedCheck {
  readonly min: number;
  readonly maxRelativeRisk: number;
}
export interface ToxicityCheckConfig extends ResolvedCheck {
  readonly max: number;
}
export interface ToolMixCheckConfig extends ResolvedCheck {
  readonly maxShareDrift: number;
}
export interface ResponseLengthCheckConfig extends ResolvedCheck {
  readonly maxKsDistance: number;
  readonly unit: ConfigurableUnit;
}

/** The gate's resolved configuration (see `GateOptions` for meanings and defaults). */
export interface GateConfig {
  readonly mode: GateMode;
  readonly evidence: GateEvidence;
  readonly alphaTotal: number;
  readonly minSamples: number;
  readonly warnMarginFraction: number;
  readonly thresholdAlpha: number;
  readonly warmup: Required<WarmupOptions>;
  readonly sampleRatio: Required<SampleRatioOptions>;
  readonly maxExposureRequests: number;
  readonly weighted: { readonly passScore: number; readonly warnScore: number };
  readonly checks: {
    readonly latencyP99: LatencyCheckConfig;
    readonly errorRate: RateCheckConfig;
    readonly toolSuccessRate: RateCheckConfig;
    readonly refusalRate: RateCheckConfig;
    readonly similarity: SimilarityCheckConfig;
    readonly toxicity: ToxicityCheckConfig;
    readonly thumbsDownRate: RateCheckConfig;
    readonly toolMix: ToolMixCheckConfig;
    readonly responseLength: ResponseLengthCheckConfig;
  };
}

/** Defaults of the gate: the article's check table and statistics.md §4. */
export const GATE_DEFAULTS = Object.freeze({
  mode: GATE_MODE.sequential,
  evidence: GATE_EVIDENCE.full,
  alphaTotal: 0.01,
  minSamples: 50,
  warnMarginFraction: 0.1,
  thresholdAlpha: 0.01,
  maxExposureRequests: 3000,
  warmup: Object.freeze({ minMillis: 60_000, minStableRequests: 500, minCanaryRequests: 50, minReferenceSamples: 20 }),
  sampleRatio: Object.freeze({ enabled: true, alpha: 0.001, unit: ANALYSIS_UNIT.subject, settleMillis: 0 }),
  weighted: Object.freeze({ passScore: 0.8, warnScore: 0.5 }),
  maxRelativeRisk: 1.5,
  checks: Object.freeze({
    latencyP99: Object.freeze({ alphaShare: 0.2, weight: 1, maxMillis: 3000, maxQuantileRatio: 1.2 }),
    errorRate: Object.freeze({ alphaShare: 0.25, weight: 2, limit: 0.01 }),
    toolSuccessRate: Object.freeze({ alphaShare: 0.25, weight: 2, limit: 0.95 }),
    refusalRate: Object.freeze({ alphaShare: 0.1, weight: 1, limit: 0.05 }),
    similarity: Object.freeze({ alphaShare: 0.05, weight: 1, min: 0.85 }),
    toxicity: Object.freeze({ alphaShare: 0, weight: 1, max: 0.1 }),
    thumbsDownRate: Object.freeze({ alphaShare: 0.05, weight: 1, limit: undefined }),
    toolMix: Object.freeze({ alphaShare: 0.05, weight: 1, maxShareDrift: 0.15 }),
    responseLength: Object.freeze({ alphaShare: 0.05, weight: 1, maxKsDistance: 0.1 }),
  }),
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(path: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isObject(value)) throw new ConfigError({ path, expected: 'an object', received: value });
  return value;
}

function numberAt(
  path: string,
  value: unknown,
  fallback: number,
  range: { min: number; max: number; exclusiveMin?: boolean; integer?: boolean },
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (range.exclusiveMin ? value > range.min : value >= range.min) &&
    value <= range.max &&
    (!range.integer || Number.isInteger(value));
  if (!ok) {
    const kind = range.integer ? 'an integer' : 'a number';
    const low = range.exclusiveMin ? `> ${range.min}` : `>= ${range.min}`;
    const high = Number.isFinite(range.max) ? ` and <= ${range.max}` : '';
    throw new ConfigError({ path, expected: `${kind} ${low}${high}`, received: value });
  }
  return value as number;
}

function booleanAt(path: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError({ path, expected: 'true or false', received: value });
  return value;
}

function oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError({ path, expected: `one of ${allowed.map((v) => `'${v}'`).join(', ')}`, received: value });
  }
  return value as T;
}

const UNITS: readonly ConfigurableUnit[] = [ANALYSIS_UNIT.subject, ANALYSIS_UNIT.request];
const FRACTION = { min: 0, max: 1 };
const POSITIVE = { min: 0, max: Number.POSITIVE_INFINITY, exclusiveMin: true };
const NON_NEGATIVE = { min: 0, max: Number.POSITIVE_INFINITY };
const COUNT = { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true };

interface CommonDraft {
  readonly name: GateCheckName;
  readonly enabled: boolean;
  readonly alphaShare: number;
  readonly weight: number;
}

function common(
  path: string,
  raw: Record<string, unknown>,
  name: GateCheckName,
  defaults: { alphaShare: number; weight: number },
): CommonDraft {
  return {
    name,
    enabled: booleanAt(`${path}.enabled`, raw['enabled'], true),
    alphaShare: numberAt(`${path}.alphaShare`, raw['alphaShare'], defaults.alphaShare, NON_NEGATIVE),
    weight: numberAt(`${path}.weight`, raw['weight'], defaults.weight, NON_NEGATIVE),
  };
}

/**
 * Validates gate options and fills in defaults. Throws `ConfigError` naming the field
 * path (e.g. `checks.errorRate.limit`), what was expected and what was received.
 *
 * @example
 * const config = resolveGateConfig({ checks: { errorRate: { limit: 0.02 } } });
 */
export function resolveGateConfig(options: GateOptions = {}): GateConfig {
  const raw = objectAt('(gate options)', options as unknown);
  const mode = oneOf('mode', raw['mode'], [GATE_MODE.sequential, GATE_MODE.weighted], GATE_DEFAULTS.mode);
  const evidence = oneOf(
    'evidence',
    raw['evidence'],
    [GATE_EVIDENCE.full, GATE_EVIDENCE.decision],
    GATE_DEFAULTS.evidence,
  );
  const alphaTotal = numberAt('alphaTotal', raw['alphaTotal'], GATE_DEFAULTS.alphaTotal, {
    min: 0,
    max: 0.5,
    exclusiveMin: true,
  });
  const minSamples = numberAt('minSamples', raw['minSamples'], GATE_DEFAULTS.minSamples, COUNT);
  const warnMarginFraction = numberAt(
    'warnMarginFraction',
    raw['warnMarginFraction'],
    GATE_DEFAULTS.warnMarginFraction,
    FRACTION,
  );
  const thresholdAlpha = numberAt('thresholdAlpha', raw['thresholdAlpha'], GATE_DEFAULTS.thresholdAlpha, {
    min: 0,
    max: 0.5,
    exclusiveMin: true,
  });
  const maxExposureRequests = numberAt(
    'maxExposureRequests',
    raw['maxExposureRequests'],
    GATE_DEFAULTS.maxExposureRequests,
    { ...COUNT, min: 1 },
  );
  const w = objectAt('warmup', raw['warmup']);
  const d = GATE_DEFAULTS.warmup;
  const warmup = {
    minMillis: numberAt('warmup.minMillis', w['minMillis'], d.minMillis, NON_NEGATIVE),
    minStableRequests: numberAt('warmup.minStableRequests', w['minStableRequests'], d.minStableRequests, COUNT),
    minCanaryRequests: numberAt('warmup.minCanaryRequests', w['minCanaryRequests'], d.minCanaryRequests, COUNT),
    minReferenceSamples: numberAt('warmup.minReferenceSamples', w['minReferenceSamples'], d.minReferenceSamples, {
      ...COUNT,
      min: 1,
    }),
  };
  const s = objectAt('sampleRatio', raw['sampleRatio']);
  const sampleRatio = {
    enabled: booleanAt('sampleRatio.enabled', s['enabled'], GATE_DEFAULTS.sampleRatio.enabled),
    alpha: numberAt('sampleRatio.alpha', s['alpha'], GATE_DEFAULTS.sampleRatio.alpha, {
      min: 0,
      max: 0.5,
      exclusiveMin: true,
    }),
    unit: oneOf('sampleRatio.unit', s['unit'], UNITS, GATE_DEFAULTS.sampleRatio.unit),
    settleMillis: numberAt(
      'sampleRatio.settleMillis',
      s['settleMillis'],
      GATE_DEFAULTS.sampleRatio.settleMillis,
      COUNT,
    ),
  };
  const wt = objectAt('weighted', raw['weighted']);
  const passScore = numberAt('weighted.passScore', wt['passScore'], GATE_DEFAULTS.weighted.passScore, FRACTION);
  const warnScore = numberAt('weighted.warnScore', wt['warnScore'], GATE_DEFAULTS.weighted.warnScore, FRACTION);
  if (warnScore > passScore) {
    throw new ConfigError({
      path: 'weighted.warnScore',
      expected: `a number <= passScore (${passScore})`,
      received: warnScore,
    });
  }

  const c = objectAt('checks', raw['checks']);
  const dc = GATE_DEFAULTS.checks;
  const rr = GATE_DEFAULTS.maxRelativeRisk;
  const rate = (key: 'errorRate' | 'toolSuccessRate' | 'refusalRate' | 'thumbsDownRate', name: GateCheckName) => {
    const path = `checks.${key}`;
    const o = objectAt(path, c[key]);
    const defaults = dc[key];
    const limit = o['limit'] === undefined ? defaults.limit : numberAt(`${path}.limit`, o['limit'], 0, FRACTION);
    return {
      ...common(path, o, name, defaults),
      limit,
      unit: oneOf(`${path}.unit`, o['unit'], UNITS, ANALYSIS_UNIT.subject),
      maxRelativeRisk: numberAt(`${path}.maxRelativeRisk`, o['maxRelativeRisk'], rr, { min: 1, max: 1e6 }),
    };
  };
  const lat = objectAt('checks.latencyP99', c['latencyP99']);
  const sim = objectAt('checks.similarity', c['similarity']);
  const tox = objectAt('checks.toxicity', c['toxicity']);
  const mix = objectAt('checks.toolMix', c['toolMix']);
  const len = objectAt('checks.responseLength', c['responseLength']);
  for (const key of Object.keys(c)) {
    if (!(key in dc)) {
      throw new ConfigError({ path: `checks.${key}`, expected: `one of ${Object.keys(dc).join(', ')}`, received: key });
    }
  }
  const drafts = {
    latencyP99: {
      ...common('checks.latencyP99', lat, GATE_CHECK.latencyP99, dc.latencyP99),
      maxMillis: numberAt('checks.latencyP99.maxMillis', lat['maxMillis'], dc.latencyP99.maxMillis, POSITIVE),
      unit: oneOf('checks.latencyP99.unit', lat['unit'], UNITS, ANALYSIS_UNIT.subject),
      maxQuantileRatio: numberAt(
        'checks.latencyP99.maxQuantileRatio',
        lat['maxQuantileRatio'],
        dc.latencyP99.maxQuantileRatio,
        { min: 1, max: 1e6 },
      ),
    },
    errorRate: rate('errorRate', GATE_CHECK.errorRate),
    toolSuccessRate: rate('toolSuccessRate', GATE_CHECK.toolSuccessRate),
    refusalRate: rate('refusalRate', GATE_CHECK.refusalRate),
    similarity: {
      ...common('checks.similarity', sim, GATE_CHECK.similarity, dc.similarity),
      min: numberAt('checks.similarity.min', sim['min'], dc.similarity.min, FRACTION),
      maxRelativeRisk: numberAt('checks.similarity.maxRelativeRisk', sim['maxRelativeRisk'], rr, { min: 1, max: 1e6 }),
    },
    toxicity: {
      ...common('checks.toxicity', tox, GATE_CHECK.toxicity, dc.toxicity),
      max: numberAt('checks.toxicity.max', tox['max'], dc.toxicity.max, FRACTION),
    },
    thumbsDownRate: rate('thumbsDownRate', GATE_CHECK.thumbsDownRate),
    toolMix: {
      ...common('checks.toolMix', mix, GATE_CHECK.toolMix, dc.toolMix),
      maxShareDrift: numberAt('checks.toolMix.maxShareDrift', mix['maxShareDrift'], dc.toolMix.maxShareDrift, FRACTION),
    },
    responseLength: {
      ...common('checks.responseLength', len, GATE_CHECK.responseLength, dc.responseLength),
      maxKsDistance: numberAt(
        'checks.responseLength.maxKsDistance',
        len['maxKsDistance'],
        dc.responseLength.maxKsDistance,
        FRACTION,
      ),
      unit: oneOf('checks.responseLength.unit', len['unit'], UNITS, ANALYSIS_UNIT.subject),
    },
  };
  // Toxicity has no control comparison to bet on; a share given to it would be wasted alpha.
  if (drafts.toxicity.alphaShare !== 0) {
    throw new ConfigError({
      path: 'checks.toxicity.alphaShare',
      expected: '0 (toxicity is a threshold check only)',
      received: drafts.toxicity.alphaShare,
    });
  }
  let shareSum = 0;
  for (const draft of Object.values(drafts)) if (draft.enabled) shareSum += draft.alphaShare;
  const split = <T extends CommonDraft>(draft: T): T & { alpha: number } => ({
    ...draft,
    alpha: draft.enabled && shareSum > 0 ? (alphaTotal * draft.alphaShare) / shareSum : 0,
  });
  return Object.freeze({
    mode,
    evidence,
    alphaTotal,
    minSamples,
    warnMarginFraction,
    thresholdAlpha,
    maxExposureRequests,
    warmup: Object.freeze(warmup),
    sampleRatio: Object.freeze(sampleRatio),
    weighted: Object.freeze({ passScore, warnScore }),
    checks: Object.freeze({
      latencyP99: split(drafts.latencyP99),
      errorRate: split(drafts.errorRate),
      toolSuccessRate: split(drafts.toolSuccessRate),
      refusalRate: split(drafts.refusalRate),
      similarity: split(drafts.similarity),
      toxicity: split(drafts.toxicity),
      thumbsDownRate: split(drafts.thumbsDownRate),
      toolMix: split(drafts.toolMix),
      responseLength: split(drafts.responseLength),
    }),
  });
}

/** Like `resolveGateConfig`, but returns the error instead of throwing. */
export function safeResolveGateConfig(options: GateOptions = {}): SafeResult<GateConfig> {
  try {
    return { ok: true, value: resolveGateConfig(options) };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, error };
    throw error;
  }
}
