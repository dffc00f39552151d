import { ATTR_REFUSAL, ATTR_SIMILARITY, ATTR_TOXICITY } from '@agent-canary/conventions';
import { diag } from '@opentelemetry/api';
import { recordScore, recordUnitScore, type Turn } from './spans.js';

/**
 * Which turn signal an evaluator's score also feeds, besides `agent_canary.eval.<name>`:
 * `similarity` -> `agent_canary.similarity`, `toxicity` -> `agent_canary.toxicity`,
 * `refusal` -> `agent_canary.refusal` (score >= 0.5 means refused).
 */
export const EVALUATOR_SIGNAL = {
  score: 'score',
  similarity: 'similarity',
  toxicity: 'toxicity',
  refusal: 'refusal',
} as const;
/** One of `EVALUATOR_SIGNAL`. */
export type EvaluatorSignal = (typeof EVALUATOR_SIGNAL)[keyof typeof EVALUATOR_SIGNAL];

/** What an evaluator sees of one turn. Text stays in the process; only scores go on spans. */
export interface EvaluatorInput {
  /** The answer of the release that served the turn. */
  readonly output: string;
  /** The control release's answer to the same prompt (shadow comparison), when known. */
  readonly controlOutput?: string;
  readonly prompt?: string;
}

/**
 * A pluggable scorer (an embedding model, an LLM judge, a classifier...). Its score lands on
 * the turn span as `agent_canary.eval.<name>`.
 */
export interface Evaluator {
  /** Score name; a short snake_case word. */
  readonly name: string;
  /** Turn signal this score also feeds. @default 'score' */
  readonly signal?: EvaluatorSignal;
  /** Returns a finite number (0..1 for similarity, toxicity and refusal). May be async. */
  evaluate(input: EvaluatorInput): number | Promise<number>;
}

/**
 * Runs `evaluators` on a turn and records each score on its span. A failing evaluator (throw,
 * rejection, non-finite score) is reported through `diag` and skipped: evaluation never
 * breaks the agent. Evaluators run concurrently. Resolves to the recorded scores by name.
 *
 * Call it inside `traceAgentTurn` (the turn span must still be open).
 *
 * @example
 * await runEvaluators(turn, [lexicalSimilarity, refusalDetector], { output, controlOutput });
 */
export async function runEvaluators(
  turn: Turn,
  evaluators: readonly Evaluator[],
  input: EvaluatorInput,
): Promise<Readonly<Record<string, number>>> {
  const results = await Promise.all(
    evaluators.map(async (evaluator) => {
      try {
        return { evaluator, score: await evaluator.evaluate(input) };
      } catch (error) {
        diag.warn(`agent-canary: evaluator ${String(evaluator?.name)} failed`, error);
        return undefined;
      }
    }),
  );
  const scores: Record<string, number> = {};
  for (const result of results) {
    if (result === undefined) continue;
    const { evaluator, score } = result;
    try {
      if (!recordScore(turn.span, evaluator.name, score)) continue;
      scores[evaluator.name] = score;
      if (evaluator.signal === EVALUATOR_SIGNAL.similarity) recordUnitScore(turn.span, ATTR_SIMILARITY, score);
      else if (evaluator.signal === EVALUATOR_SIGNAL.toxicity) recordUnitScore(turn.span, ATTR_TOXICITY, score);
      else if (evaluator.signal === EVALUATOR_SIGNAL.refusal) turn.span.setAttribute(ATTR_REFUSAL, score >= 0.5);
    } catch (error) {
      diag.warn(`agent-canary: recording evaluator ${evaluator.name} failed`, error);
    }
  }
  return scores;
}

/**
 * Cosine similarity of word unigram + bigram counts, 0..1. A dependency-free baseline for
 * "how close is the canary's answer to control's": replace it with an embedding or judge
 * evaluator for anything serious. Without `controlOutput` the score is not computed (the
 * evaluator throws, so `runEvaluators` skips it).
 */
export const lexicalSimilarity: Evaluator = Object.freeze({
  name: 'lexical_similarity',
  signal: EVALUATOR_SIGNAL.similarity,
  evaluate(input: EvaluatorInput): number {
    if (input.controlOutput === undefined) throw new Error('lexical_similarity needs controlOutput');
    return cosineSimilarity(input.output, input.controlOutput);
  },
});

/** Cosine similarity of word unigram + bigram count vectors of two texts, in 0..1. */
export function cosineSimilarity(a: string, b: string): number {
  const left = ngramCounts(a);
  const right = ngramCounts(b);
  if (left.size === 0 && right.size === 0) return 1;
  if (left.size === 0 || right.size === 0) return 0;
  let dot = 0;
  for (const [gram, count] of left) dot += count * (right.get(gram) ?? 0);
  const norm = (counts: Map<string, number>) => Math.sqrt([...counts.values()].reduce((sum, c) => sum + c * c, 0));
  return Math.min(1, dot / (norm(left) * norm(right)));
}

function ngramCounts(text: string): Map<string, number> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const counts = new Map<string, number>();
  const add = (gram: string) => counts.set(gram, (counts.get(gram) ?? 0) + 1);
  words.forEach((word, index) => {
    add(word);
    const next = words[index + 1];
    if (next !== undefined) add(`${word} ${next}`);
  });
  return counts;
}

/**
 * English refusal phrases. A baseline: refusals that end with a normal `stop` finish reason
 * are invisible to every framework's telemetry, so some content check is needed; replace
 * this with a classifier for other languages or subtler refusals.
 */
const REFUSAL_PATTERNS: readonly RegExp[] = [
  /\bI(?:'m| am) (?:sorry|afraid),? (?:but )?I (?:can(?:'|no)t|cannot|am unable to|won't|will not)\b/i,
  /\bI (?:can(?:'|no)t|cannot|won't|will not|am unable to|am not able to) (?:help|assist|comply|provide|do that|answer|fulfil)/i,
  /\bI(?:'m| am) (?:unable|not able) to (?:help|assist|comply|provide|answer)/i,
  /\b(?:as an AI(?: language model)?|I'm just an AI),? I (?:can(?:'|no)t|cannot|don't|am not able)/i,
  /\bI must (?:decline|refuse)\b/i,
  /\b(?:this|that) (?:request )?(?:goes against|violates) (?:my|the) (?:guidelines|policy|policies)\b/i,
];

/** True when `text` reads like a refusal (English phrase list, see `refusalDetector`). */
export function isRefusal(text: string): boolean {
  return REFUSAL_PATTERNS.some((pattern) => pattern.test(text));
}

/** Scores 1 when the output reads like a refusal, else 0 (feeds `agent_canary.refusal`). */
export const refusalDetector: Evaluator = Object.freeze({
  name: 'refusal',
  signal: EVALUATOR_SIGNAL.refusal,
  evaluate(input: EvaluatorInput): number {
    return isRefusal(input.output) ? 1 : 0;
  },
});
