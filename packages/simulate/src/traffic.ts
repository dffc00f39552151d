/**
 * Per-request outcomes with common random numbers: each outcome draws from its own
 * sub-stream, one draw per request whatever the law, so the i-th request of a run sees
 * the same uniforms in every scenario and for every gate (an error at 1% is also an
 * error at 3%: u < 0.01 implies u < 0.03).
 */
import type { Rng } from '@agent-canary/stats';
import type { OutcomeLaw } from './scenarios.js';

/** One request's outcome (reused between requests: copy what you keep). */
export interface Outcome {
  error: boolean;
  /** Index into `TOOLS`, or -1 without a tool call. */
  tool: number;
  toolFailed: boolean;
  refusal: boolean;
  latencyMillis: number;
  /** ln of the latency (the oracle reads it). */
  latencyLog: number;
  length: number;
  /** ln of the length before rounding (the oracle reads it). */
  lengthLog: number;
  /** Similarity score, or NaN when the request was not scored. */
  similarity: number;
  feedback: boolean;
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
    latencyLog: 0,
    length: 0,
    lengthLog: 0,
    similarity: Number.NaN,
    feedback: false,
    thumbsDown: false,
  };
}

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

/** Draws outcomes from named sub-streams of one run's stream. */
export class OutcomeDrawer {
  private readonly error: Rng;
  private readonly toolCall: Rng;
  private readonly tool: Rng;
  private readonly toolOk: Rng;
  private readonly refusal: Rng;
  private readonly latency: Rng;
  private readonly length: Rng;
  private readonly similarityObserved: Rng;
  private readonly similarity: Rng;
  private readonly feedback: Rng;
  private readonly thumbs: Rng;

  constructor(rng: Rng) {
    this.error = rng.fork('error');
    this.toolCall = rng.fork('tool-call');
    this.tool = rng.fork('tool');
    this.toolOk = rng.fork('tool-ok');
    this.refusal = rng.fork('refusal');
    this.latency = rng.fork('latency');
    this.length = rng.fork('length');
    this.similarityObserved = rng.fork('similarity-observed');
    this.similarity = rng.fork('similarity');
    this.feedback = rng.fork('feedback');
    this.thumbs = rng.fork('thumbs');
  }

  /** Fills `out` with one request's outcome under `law` (`errorRate` overrides the law's, per user). */
  draw(law: OutcomeLaw, out: Outcome, errorRate: number = law.errorRate): void {
    out.error = this.error.next() < errorRate;
    const calls = this.toolCall.next() < law.toolCallRate;
    const u = this.tool.next();
    const ok = this.toolOk.next();
    if (calls) {
      let tool = law.toolShares.length - 1;
      let cumulative = 0;
      for (let index = 0; index < law.toolShares.length; index += 1) {
        cumulative += law.toolShares[index] ?? 0;
        if (u < cumulative) {
          tool = index;
          break;
        }
      }
      out.tool = tool;
      out.toolFailed = ok < law.toolFailureRate;
    } else {
      out.tool = -1;
      out.toolFailed = false;
    }
    out.refusal = this.refusal.next() < law.refusalRate;
    out.latencyLog = Math.log(law.latencyMedianMillis) + law.latencySigma * this.latency.normal();
    out.latencyMillis = Math.exp(out.latencyLog);
    out.lengthLog = Math.log(law.lengthMedian) + law.lengthSigma * this.length.normal();
    out.length = Math.max(1, Math.round(Math.exp(out.lengthLog)));
    // The observation flag has its own stream, so the score stream stays aligned across scenarios.
    out.similarity =
      this.similarityObserved.next() < law.similarityShare ? betaVariate(this.similarity, 8, 2) : Number.NaN;
    out.feedback = this.feedback.next() < law.feedbackShare;
    const thumbs = this.thumbs.next();
    out.thumbsDown = out.feedback && thumbs < law.thumbsDownRate;
  }
}
