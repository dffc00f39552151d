/**
 * Users and their requests. A `Population` draws each user's habits once per run; an
 * `OutcomeDrawer` draws one request's outcome for a user, with common random numbers:
 * each outcome has its own sub-stream and one draw per request whatever the law, so the
 * i-th request of a run sees the same uniforms in every scenario (an error at p is also
 * an error at 3p: u < p implies u < 3p).
 */
import { type Rng, zipfSampler } from '@agent-canary/stats';
import { BASE_RATES, type CanaryEffect, type Heterogeneity, TOOL_SHARES } from './scenarios.js';

/** Gamma(shape, 1) by Marsaglia–Tsang (shape < 1 through the u^{1/shape} boost). */
export function gammaVariate(rng: Rng, shape: number): number {
  if (shape < 1) return gammaVariate(rng, shape + 1) * (1 - rng.next()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta(a, b) as X/(X+Y) of two gamma variates. */
export function betaVariate(rng: Rng, a: number, b: number): number {
  const x = gammaVariate(rng, a);
  const y = gammaVariate(rng, b);
  return x / (x + y);
}

/** The 99th percentile of the standard normal. */
const Z_99 = 2.326_347_874;
/** Scores are Beta(SCORE_PRECISION·m, SCORE_PRECISION·(1 − m)) around a user's mean m. */
const SCORE_PRECISION = 20;

/** Index of a tool drawn from `TOOL_SHARES` by the uniform `u`. */
export function toolAt(u: number): number {
  let cumulative = 0;
  for (let index = 0; index < TOOL_SHARES.length; index += 1) {
    cumulative += TOOL_SHARES[index] ?? 0;
    if (u < cumulative) return index;
  }
  return TOOL_SHARES.length - 1;
}

/** A fixed population of users with habits of their own (see scenarios.ts). */
export class Population {
  readonly size: number;
  /** Routing bucket of each user in [0, 10000): uniform, as a hash of the user id. */
  readonly bucket: Uint16Array;
  readonly errorRate: Float64Array;
  readonly toolFailureRate: Float64Array;
  readonly refusalRate: Float64Array;
  readonly thumbsDownRate: Float64Array;
  readonly usualToolChoice: Float64Array;
  readonly usualTool: Uint8Array;
  /** ln of the user's latency level (median of its turns), ms. */
  readonly latencyLog: Float64Array;
  readonly lengthLog: Float64Array;
  readonly similarityMean: Float64Array;
  readonly toxicityMean: Float64Array;
  private readonly pick: (rng: Rng) => number;

  constructor(rng: Rng, size: number, heterogeneity: Heterogeneity) {
    const kappa = heterogeneity.concentration;
    this.size = size;
    this.pick = zipfSampler(size, heterogeneity.zipfExponent);
    this.bucket = new Uint16Array(size);
    this.errorRate = new Float64Array(size);
    this.toolFailureRate = new Float64Array(size);
    this.refusalRate = new Float64Array(size);
    this.thumbsDownRate = new Float64Array(size);
    this.usualToolChoice = new Float64Array(size);
    this.usualTool = new Uint8Array(size);
    this.latencyLog = new Float64Array(size);
    this.lengthLog = new Float64Array(size);
    this.similarityMean = new Float64Array(size);
    this.toxicityMean = new Float64Array(size);
    const around = (mean: number) => betaVariate(rng, kappa * mean, kappa * (1 - mean));
    const latencyLevel = Math.sqrt(0.5 / kappa);
    const lengthLevel = Math.sqrt(0.3 / kappa);
    // The population's p99 of a user's turn is at the limit: ln L = μ + level + σZ.
    const latencyMu = Math.log(BASE_RATES.latencyP99Millis) - Z_99 * Math.hypot(latencyLevel, BASE_RATES.latencySigma);
    for (let user = 0; user < size; user += 1) {
      this.bucket[user] = rng.int(10_000);
      this.errorRate[user] = around(BASE_RATES.errorRate);
      this.toolFailureRate[user] = around(BASE_RATES.toolFailureRate);
      this.refusalRate[user] = around(BASE_RATES.refusalRate);
      this.thumbsDownRate[user] = around(BASE_RATES.thumbsDownRate);
      this.usualToolChoice[user] = around(BASE_RATES.usualToolChoice);
      this.usualTool[user] = toolAt(rng.next());
      this.latencyLog[user] = latencyMu + latencyLevel * rng.normal();
      this.lengthLog[user] = Math.log(BASE_RATES.lengthMedian) + lengthLevel * rng.normal();
      this.similarityMean[user] = around(BASE_RATES.similarityMean);
      this.toxicityMean[user] = around(BASE_RATES.toxicityMean);
    }
  }

  /** The user of the next request (Zipf by activity rank). */
  next(rng: Rng): number {
    return this.pick(rng);
  }
}

/** One request's outcome (reused between requests: copy what you keep). */
export interface Outcome {
  error: boolean;
  /** Index into `TOOLS`, or -1 without a tool call. */
  tool: number;
  toolFailed: boolean;
  refusal: boolean;
  latencyMillis: number;
  length: number;
  /** Similarity and toxicity scores, or NaN when the answer was not scored. */
  similarity: number;
  toxicity: number;
  /** The request got a rating, and it was a thumbs-down. */
  rated: boolean;
  thumbsDown: boolean;
}

/** A fresh outcome record. */
export function emptyOutcome(): Outcome {
  return {
    error: false,
    tool: -1,
    toolFailed: false,
    refusal: false,
    latencyMillis: 0,
    length: 0,
    similarity: Number.NaN,
    toxicity: Number.NaN,
    rated: false,
    thumbsDown: false,
  };
}

const NO_EFFECT: CanaryEffect = Object.freeze({});

/** Draws outcomes from named sub-streams of one run's stream. */
export class OutcomeDrawer {
  private readonly error: Rng;
  private readonly toolCall: Rng;
  private readonly usual: Rng;
  private readonly tool: Rng;
  private readonly toolOk: Rng;
  private readonly refusal: Rng;
  private readonly latency: Rng;
  private readonly length: Rng;
  private readonly scored: Rng;
  private readonly scores: Rng;
  private readonly rated: Rng;
  private readonly thumbs: Rng;

  constructor(rng: Rng) {
    this.error = rng.fork('error');
    this.toolCall = rng.fork('tool-call');
    this.usual = rng.fork('usual-tool');
    this.tool = rng.fork('tool');
    this.toolOk = rng.fork('tool-ok');
    this.refusal = rng.fork('refusal');
    this.latency = rng.fork('latency');
    this.length = rng.fork('length');
    this.scored = rng.fork('scored');
    this.scores = rng.fork('scores');
    this.rated = rng.fork('rated');
    this.thumbs = rng.fork('thumbs');
  }

  /** Fills `out` with one request's outcome for `user`, under `effect` (the canary's) or none. */
  draw(population: Population, user: number, out: Outcome, effect: CanaryEffect = NO_EFFECT): void {
    const p = population;
    let errorRate = p.errorRate[user] ?? 0;
    if (effect.errorFactor !== undefined) errorRate = Math.min(1, errorRate * effect.errorFactor);
    if (effect.extraErrorRate !== undefined) errorRate = 1 - (1 - errorRate) * (1 - effect.extraErrorRate);
    out.error = this.error.next() < errorRate;
    const calls = this.toolCall.next() < BASE_RATES.toolCallRate;
    const usual = this.usual.next() < (p.usualToolChoice[user] ?? 0) * (effect.usualToolFactor ?? 1);
    const other = toolAt(this.tool.next());
    const ok = this.toolOk.next();
    if (calls) {
      out.tool = usual ? (p.usualTool[user] ?? 0) : other;
      out.toolFailed = ok < (p.toolFailureRate[user] ?? 0);
    } else {
      out.tool = -1;
      out.toolFailed = false;
    }
    out.refusal = this.refusal.next() < (p.refusalRate[user] ?? 0) * (effect.refusalFactor ?? 1);
    out.latencyMillis = Math.exp((p.latencyLog[user] ?? 0) + BASE_RATES.latencySigma * this.latency.normal());
    out.length = Math.max(
      1,
      Math.round(Math.exp((p.lengthLog[user] ?? 0) + BASE_RATES.lengthSigma * this.length.normal())),
    );
    // The observation flag has its own stream, so the score stream stays aligned across scenarios.
    if (this.scored.next() < BASE_RATES.scoredShare) {
      const s = p.similarityMean[user] ?? 0;
      const t = p.toxicityMean[user] ?? 0;
      out.similarity = betaVariate(this.scores, SCORE_PRECISION * s, SCORE_PRECISION * (1 - s));
      out.toxicity = betaVariate(this.scores, SCORE_PRECISION * t, SCORE_PRECISION * (1 - t));
    } else {
      out.similarity = Number.NaN;
      out.toxicity = Number.NaN;
    }
    out.rated = this.rated.next() < BASE_RATES.feedbackShare;
    const down = this.thumbs.next() < (p.thumbsDownRate[user] ?? 0);
    out.thumbsDown = out.rated && down;
  }
}
