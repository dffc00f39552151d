/** Defaults and validation of the gate's options (the option types are in options.ts). */
import { ConfigError, type SafeResult } from '@agent-canary/conventions';
import {
  ANALYSIS_UNIT,
  type ConfigurableUnit,
  GATE_CHECK,
  GATE_EVIDENCE,
  GATE_MODE,
  type GateCheckName,
  type GateConfig,
  type GateOptions,
} from './options.js';

/** Defaults of the gate: the article's check table and statistics.md §4. */
export const GATE_DEFAULTS = Object.freeze({
  mode: GATE_MODE.sequential,
  evidence: GATE_EVIDENCE.full,
  alphaTotal: 0.01,
  thresholdAlphaShare: 0.1,
  minSamples: 50,
  warnMarginFraction: 0.1,
  maxExposureRequests: 3000,
  warmup: Object.freeze({ minMillis: 60_000, minStableRequests: 500, minCanaryRequests: 50, minReferenceSamples: 20 }),
  sampleRatio: Object.freeze({ enabled: true, alpha: 0.001, unit: ANALYSIS_UNIT.subject, settleMillis: 0 }),
  weighted: Object.freeze({ passScore: 0.8, warnScore: 0.5 }),
  maxRelativeRisk: 1.5,
  checks: Object.freeze({
    latencyP99: Object.freeze({ alphaShare: 0.1, weight: 1, maxMillis: 3000 }),
    errorRate: Object.freeze({ alphaShare: 0.25, weight: 2, limit: 0.01 }),
    toolSuccessRate: Object.freeze({ alphaShare: 0.1, weight: 2, limit: 0.95 }),
    refusalRate: Object.freeze({ alphaShare: 0.2, weight: 1, limit: 0.05 }),
    similarity: Object.freeze({ alphaShare: 0.05, weight: 1, min: 0.85 }),
    toxicity: Object.freeze({ alphaShare: 0, weight: 1, max: 0.1 }),
    thumbsDownRate: Object.freeze({ alphaShare: 0.05, weight: 1, limit: undefined }),
    toolMix: Object.freeze({ alphaShare: 0.2, weight: 1, maxShareDrift: 0.01 }),
    responseLength: Object.freeze({ alphaShare: 0.05, weight: 1, maxKsDistance: 0.05 }),
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

function rejectUnknown(path: string, raw: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new ConfigError({
        path: path === '' ? key : `${path}.${key}`,
        expected: `one of ${known.join(', ')}`,
        received: key,
      });
    }
  }
}

const UNITS: readonly ConfigurableUnit[] = [ANALYSIS_UNIT.subject, ANALYSIS_UNIT.request];
const FRACTION = { min: 0, max: 1 };
const ALPHA = { min: 0, max: 0.5, exclusiveMin: true };
const NON_NEGATIVE = { min: 0, max: Number.POSITIVE_INFINITY };
const COUNT = { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true };
const RELATIVE_RISK = { min: 1, max: 1e6 };
const COMMON_KEYS = ['enabled', 'observe', 'alphaShare', 'unit', 'weight'] as const;

interface CommonDraft {
  readonly name: GateCheckName;
  readonly enabled: boolean;
  readonly observe: boolean;
  readonly unit: ConfigurableUnit;
  readonly alphaShare: number;
  readonly weight: number;
  /** The check has an absolute limit (its threshold takes a share of the thresholds' alpha). */
  readonly hasThreshold: boolean;
}

function common(
  path: string,
  raw: Record<string, unknown>,
  name: GateCheckName,
  defaults: { alphaShare: number; weight: number },
  own: readonly string[],
  hasThreshold: boolean,
): CommonDraft {
  rejectUnknown(path, raw, [...COMMON_KEYS, ...own]);
  return {
    name,
    enabled: booleanAt(`${path}.enabled`, raw['enabled'], true),
    observe: booleanAt(`${path}.observe`, raw['observe'], false),
    unit: oneOf(`${path}.unit`, raw['unit'], UNITS, ANALYSIS_UNIT.subject),
    alphaShare: numberAt(`${path}.alphaShare`, raw['alphaShare'], defaults.alphaShare, NON_NEGATIVE),
    weight: numberAt(`${path}.weight`, raw['weight'], defaults.weight, NON_NEGATIVE),
    hasThreshold,
  };
}

/**
 * Validates gate options and fills in defaults. Throws `ConfigError` naming the field
 * path (e.g. `checks.errorRate.limit`), what was expected and what was received.
 *
 * @example
 * const config = resolveGateConfig({ checks: { errorRate: { limit: 0.02 }, toolMix: { observe: true } } });
 */
export function resolveGateConfig(options: GateOptions = {}): GateConfig {
  const raw = objectAt('(gate options)', options as unknown);
  rejectUnknown('', raw, [
    'mode',
    'evidence',
    'alphaTotal',
    'thresholdAlphaShare',
    'minSamples',
    'warnMarginFraction',
    'warmup',
    'sampleRatio',
    'maxExposureRequests',
    'weighted',
    'checks',
  ]);
  const mode = oneOf('mode', raw['mode'], [GATE_MODE.sequential, GATE_MODE.weighted], GATE_DEFAULTS.mode);
  const evidence = oneOf(
    'evidence',
    raw['evidence'],
    [GATE_EVIDENCE.full, GATE_EVIDENCE.decision],
    GATE_DEFAULTS.evidence,
  );
  const alphaTotal = numberAt('alphaTotal', raw['alphaTotal'], GATE_DEFAULTS.alphaTotal, ALPHA);
  const thresholdAlphaShare = numberAt(
    'thresholdAlphaShare',
    raw['thresholdAlphaShare'],
    GATE_DEFAULTS.thresholdAlphaShare,
    { min: 0, max: 1, exclusiveMin: true },
  );
  const minSamples = numberAt('minSamples', raw['minSamples'], GATE_DEFAULTS.minSamples, COUNT);
  const warnMarginFraction = numberAt(
    'warnMarginFraction',
    raw['warnMarginFraction'],
    GATE_DEFAULTS.warnMarginFraction,
    FRACTION,
  );
  const maxExposureRequests = numberAt(
    'maxExposureRequests',
    raw['maxExposureRequests'],
    GATE_DEFAULTS.maxExposureRequests,
    { ...COUNT, min: 1 },
  );
  const w = objectAt('warmup', raw['warmup']);
  const d = GATE_DEFAULTS.warmup;
  rejectUnknown('warmup', w, Object.keys(d));
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
  rejectUnknown('sampleRatio', s, Object.keys(GATE_DEFAULTS.sampleRatio));
  const sampleRatio = {
    enabled: booleanAt('sampleRatio.enabled', s['enabled'], GATE_DEFAULTS.sampleRatio.enabled),
    alpha: numberAt('sampleRatio.alpha', s['alpha'], GATE_DEFAULTS.sampleRatio.alpha, ALPHA),
    unit: oneOf('sampleRatio.unit', s['unit'], UNITS, GATE_DEFAULTS.sampleRatio.unit),
    settleMillis: numberAt(
      'sampleRatio.settleMillis',
      s['settleMillis'],
      GATE_DEFAULTS.sampleRatio.settleMillis,
      COUNT,
    ),
  };
  const wt = objectAt('weighted', raw['weighted']);
  rejectUnknown('weighted', wt, ['passScore', 'warnScore']);
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
  rejectUnknown('checks', c, Object.keys(dc));
  const rr = GATE_DEFAULTS.maxRelativeRisk;
  const rate = (key: 'errorRate' | 'toolSuccessRate' | 'refusalRate' | 'thumbsDownRate', name: GateCheckName) => {
    const path = `checks.${key}`;
    const o = objectAt(path, c[key]);
    const defaults = dc[key];
    const limit = o['limit'] === undefined ? defaults.limit : numberAt(`${path}.limit`, o['limit'], 0, FRACTION);
    return {
      ...common(path, o, name, defaults, ['limit', 'maxRelativeRisk'], limit !== undefined),
      limit,
      maxRelativeRisk: numberAt(`${path}.maxRelativeRisk`, o['maxRelativeRisk'], rr, RELATIVE_RISK),
    };
  };
  const lat = objectAt('checks.latencyP99', c['latencyP99']);
  const sim = objectAt('checks.similarity', c['similarity']);
  const tox = objectAt('checks.toxicity', c['toxicity']);
  const mix = objectAt('checks.toolMix', c['toolMix']);
  const len = objectAt('checks.responseLength', c['responseLength']);
  const drafts = {
    latencyP99: {
      ...common('checks.latencyP99', lat, GATE_CHECK.latencyP99, dc.latencyP99, ['maxMillis'], true),
      maxMillis: numberAt('checks.latencyP99.maxMillis', lat['maxMillis'], dc.latencyP99.maxMillis, {
        ...NON_NEGATIVE,
        exclusiveMin: true,
      }),
    },
    errorRate: rate('errorRate', GATE_CHECK.errorRate),
    toolSuccessRate: rate('toolSuccessRate', GATE_CHECK.toolSuccessRate),
    refusalRate: rate('refusalRate', GATE_CHECK.refusalRate),
    similarity: {
      ...common('checks.similarity', sim, GATE_CHECK.similarity, dc.similarity, ['min', 'maxRelativeRisk'], true),
      min: numberAt('checks.similarity.min', sim['min'], dc.similarity.min, FRACTION),
      maxRelativeRisk: numberAt('checks.similarity.maxRelativeRisk', sim['maxRelativeRisk'], rr, RELATIVE_RISK),
    },
    toxicity: {
      ...common('checks.toxicity', tox, GATE_CHECK.toxicity, dc.toxicity, ['max'], true),
      max: numberAt('checks.toxicity.max', tox['max'], dc.toxicity.max, FRACTION),
    },
    thumbsDownRate: rate('thumbsDownRate', GATE_CHECK.thumbsDownRate),
    toolMix: {
      ...common('checks.toolMix', mix, GATE_CHECK.toolMix, dc.toolMix, ['maxShareDrift'], false),
      maxShareDrift: numberAt('checks.toolMix.maxShareDrift', mix['maxShareDrift'], dc.toolMix.maxShareDrift, {
        min: 0,
        max: 0.5,
      }),
    },
    responseLength: {
      ...common('checks.responseLength', len, GATE_CHECK.responseLength, dc.responseLength, ['maxKsDistance'], false),
      // 2 × the KS tolerance bounds the mean rank-score shift the test tolerates (≤ 0.5).
      maxKsDistance: numberAt(
        'checks.responseLength.maxKsDistance',
        len['maxKsDistance'],
        dc.responseLength.maxKsDistance,
        { min: 0, max: 0.25 },
      ),
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
  let thresholds = 0;
  for (const draft of Object.values(drafts)) {
    if (!draft.enabled) continue;
    shareSum += draft.alphaShare;
    if (draft.hasThreshold) thresholds += 1;
  }
  const sequentialAlpha = alphaTotal * (1 - thresholdAlphaShare);
  const perThreshold = thresholds > 0 ? (alphaTotal * thresholdAlphaShare) / thresholds : 0;
  const split = <T extends CommonDraft>({ hasThreshold, ...draft }: T) => ({
    ...draft,
    alpha: draft.enabled && shareSum > 0 ? (sequentialAlpha * draft.alphaShare) / shareSum : 0,
    thresholdAlpha: draft.enabled && hasThreshold ? perThreshold : 0,
  });
  return Object.freeze({
    mode,
    evidence,
    alphaTotal,
    thresholdAlphaShare,
    minSamples,
    warnMarginFraction,
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
