/**
 * The customer-service agent, written the way an application team writes one: route the
 * user through OpenFeature, run the turn under its release, trace the model and tool
 * calls with the GenAI helpers, score the answer, record feedback. Only the model and the
 * tools are simulated (and run in virtual time: spans take their times from a per-request
 * clock that the simulated latencies advance).
 */
import { FEEDBACK_KIND, type ReleaseAssignment } from '@agent-canary/conventions';
import {
  lexicalSimilarity,
  recordFeedback,
  refusalDetector,
  resolveRelease,
  runEvaluators,
  traceAgentTurn,
  traceModelCall,
  traceToolCall,
  withRelease,
} from '@agent-canary/instrumentation';
import { createRng, type Rng } from '@agent-canary/stats';
import type { Client } from '@openfeature/server-sdk';
import {
  correctPlan,
  factsOf,
  INTENT,
  modelLatencyMillis,
  type OrderFacts,
  questionFor,
  type ReleaseBehavior,
  type SupportRequest,
  TONE,
  TOOL,
  type ToolName,
  type ToolOutcome,
  toolLatencyMillis,
  writeAnswer,
} from './simulated-model.js';

/** A tool's upstream did not answer in time. */
export class ToolTimeoutError extends Error {
  override readonly name = 'ToolTimeoutError';
}

/** A refund was asked for an order that cannot be refunded. */
export class RefundNotEligibleError extends Error {
  override readonly name = 'RefundNotEligibleError';
}

/** The model call failed (the turn fails with it). */
export class ModelTimeoutError extends Error {
  override readonly name = 'ModelTimeoutError';
}

/** Options of {@link SupportAgent}. */
export interface SupportAgentOptions {
  /** OpenFeature client the release flag is evaluated with. */
  readonly client: Client;
  /** Key of the release flag. */
  readonly flagKey: string;
  /** Release served when the flag cannot be evaluated, and whose answers are the shadow reference. */
  readonly stableRelease: string;
  /** Behaviour of each release id (the stable one must be present). */
  readonly behaviors: Readonly<Record<string, ReleaseBehavior>>;
  /** Seed of the simulated model's randomness. */
  readonly seed: number;
}

/** What one request produced. */
export interface SupportReply {
  readonly assignment: ReleaseAssignment;
  /** The answer (a fallback apology when the turn failed). */
  readonly text: string;
  /** The turn failed (a model call failed). */
  readonly failed: boolean;
  /** Tool calls that failed. */
  readonly toolFailures: number;
  /** The model took the wrong tool path. */
  readonly wrongPath: boolean;
  /** The customer pressed thumbs-down. */
  readonly thumbsDown: boolean;
  /** Virtual epoch milliseconds when the answer was ready. */
  readonly finishedAtMillis: number;
}

const FALLBACK_ANSWER = 'Sorry, something went wrong on our side. Please try again in a moment.';
const PLAN_MEDIAN_MILLIS = 450;
const ANSWER_MEDIAN_MILLIS = 650;
const FEEDBACK_DELAY_MILLIS = 20_000;

/**
 * A customer-service agent with four tools (`order_lookup`, `track_shipment`, `refund`,
 * `escalate_to_human`) on a simulated model.
 *
 * @example
 * const agent = new SupportAgent({ client, flagKey: 'support-agent.release', stableRelease: 'support-v1', behaviors, seed: 42 });
 * const reply = await agent.handle(request);
 */
export class SupportAgent {
  private readonly client: Client;
  private readonly flagKey: string;
  private readonly stableRelease: string;
  private readonly behaviors: Readonly<Record<string, ReleaseBehavior>>;
  private readonly stable: ReleaseBehavior;
  private readonly root: Rng;

  constructor(options: SupportAgentOptions) {
    const stable = options.behaviors[options.stableRelease];
    if (stable === undefined) throw new Error(`no behaviour for the stable release ${options.stableRelease}`);
    this.client = options.client;
    this.flagKey = options.flagKey;
    this.stableRelease = options.stableRelease;
    this.behaviors = options.behaviors;
    this.stable = stable;
    this.root = createRng(options.seed).fork('agent');
  }

  /** Serves one request: routes the user, runs the traced turn, records feedback. */
  async handle(request: SupportRequest): Promise<SupportReply> {
    const assignment = await resolveRelease(this.client, this.flagKey, request.userId, {
      defaultRelease: this.stableRelease,
    });
    const behavior = this.behaviors[assignment.release] ?? this.stable;
    // One stream per request, forked by its index: the same request sees the same facts and
    // the same draws whichever release serves it (an A/A canary is exactly stable).
    const rng = this.root.fork(`request-${request.index}`);
    const facts = factsOf(rng.fork('facts'));
    const draws = rng.fork('release');
    let now = request.arrivalMillis;
    const clock = () => now;
    const elapse = (millis: number) => {
      now += millis;
    };
    let toolFailures = 0;
    let outcome: ToolOutcome = { wrongPath: false, failed: false, escalated: false };
    try {
      const { text, traceId, spanId } = await withRelease(assignment, () =>
        traceAgentTurn(
          { agentName: 'support-agent', conversationId: `conv-${request.index}`, prompt: questionFor(request), clock },
          async (turn) => {
            const plan = await traceModelCall({ model: behavior.model, provider: 'simulated', clock }, (call) => {
              elapse(modelLatencyMillis(draws, behavior, PLAN_MEDIAN_MILLIS));
              if (draws.next() < behavior.modelErrorRate)
                throw new ModelTimeoutError('the model did not answer in time');
              const wrongPath = request.intent !== INTENT.outOfScope && draws.next() < behavior.wrongToolPathRate;
              const tools = wrongPath ? [TOOL.refund] : correctPlan(request.intent);
              call.recordResponse({
                model: behavior.model,
                inputTokens: 420 + draws.int(80),
                outputTokens: 12 + 18 * tools.length,
                finishReasons: [tools.length > 0 ? 'tool_calls' : 'stop'],
              });
              return { wrongPath, tools };
            });
            outcome = { ...outcome, wrongPath: plan.wrongPath };
            for (const [index, tool] of plan.tools.entries()) {
              try {
                await this.callTool(tool, `call-${request.index}-${index}`, request, facts, behavior, plan.wrongPath, {
                  draws,
                  clock,
                  elapse,
                });
                if (tool === TOOL.escalateToHuman) outcome = { ...outcome, escalated: true };
              } catch {
                toolFailures++;
                outcome = { ...outcome, failed: true };
                break;
              }
            }
            if (outcome.failed && !outcome.escalated) {
              // A failed lookup is handed to a person rather than answered with a guess.
              try {
                await this.callTool(
                  TOOL.escalateToHuman,
                  `call-${request.index}-escalate`,
                  request,
                  facts,
                  behavior,
                  false,
                  {
                    draws,
                    clock,
                    elapse,
                  },
                );
                outcome = { ...outcome, escalated: true };
              } catch {
                toolFailures++;
              }
            }
            const answer = await traceModelCall({ model: behavior.model, provider: 'simulated', clock }, (call) => {
              const median = behavior.tone === TONE.casual ? ANSWER_MEDIAN_MILLIS * 0.6 : ANSWER_MEDIAN_MILLIS;
              elapse(modelLatencyMillis(draws, behavior, median));
              if (draws.next() < behavior.modelErrorRate)
                throw new ModelTimeoutError('the model did not answer in time');
              const written = writeAnswer(draws, behavior.tone, request, facts, outcome);
              call.recordResponse({
                model: behavior.model,
                inputTokens: 600 + draws.int(120),
                outputTokens: Math.ceil(written.length / 4),
                finishReasons: ['stop'],
              });
              return written;
            });
            turn.recordOutput(answer);
            // Shadow comparison: what the stable release says to the same request when its
            // tools work (computed locally, no spans), sampled independently of the answer.
            const shadow = writeAnswer(rng.fork('shadow'), this.stable.tone, request, facts, {
              wrongPath: false,
              failed: false,
              escalated: false,
            });
            await runEvaluators(turn, [refusalDetector, lexicalSimilarity], { output: answer, controlOutput: shadow });
            const { traceId: turnTraceId, spanId: turnSpanId } = turn.span.spanContext();
            return { text: answer, traceId: turnTraceId, spanId: turnSpanId };
          },
        ),
      );
      const unhappy = outcome.failed || outcome.wrongPath;
      const thumbsDown = draws.next() < (unhappy ? 0.3 : behavior.thumbsDownRate);
      if (thumbsDown) {
        // The customer rates the answer a little later; the feedback span links to the turn.
        const ratedAt = now + FEEDBACK_DELAY_MILLIS;
        recordFeedback({ traceId, spanId, kind: FEEDBACK_KIND.thumbsDown, assignment, clock: () => ratedAt });
      }
      return {
        assignment,
        text,
        failed: false,
        toolFailures,
        wrongPath: outcome.wrongPath,
        thumbsDown,
        finishedAtMillis: now,
      };
    } catch {
      // The turn span already recorded the failure (error.type, status ERROR).
      return {
        assignment,
        text: FALLBACK_ANSWER,
        failed: true,
        toolFailures,
        wrongPath: outcome.wrongPath,
        thumbsDown: false,
        finishedAtMillis: now,
      };
    }
  }

  /** Runs one simulated tool in its span; throws the tool's error on failure. */
  private callTool(
    tool: ToolName,
    callId: string,
    request: SupportRequest,
    facts: OrderFacts,
    behavior: ReleaseBehavior,
    wrongPath: boolean,
    time: { draws: Rng; clock: () => number; elapse: (millis: number) => void },
  ): Promise<unknown> {
    return traceToolCall({ toolName: tool, callId, arguments: { orderId: request.orderId }, clock: time.clock }, () => {
      time.elapse(toolLatencyMillis(time.draws));
      if (time.draws.next() < behavior.toolFailureRate) {
        throw new ToolTimeoutError(`${tool} timed out`);
      }
      if (tool === TOOL.refund && wrongPath && time.draws.next() < behavior.wrongRefundFailureRate) {
        throw new RefundNotEligibleError(`order ${request.orderId} is not eligible for a refund`);
      }
      switch (tool) {
        case TOOL.orderLookup:
          return { status: facts.status, eta: facts.eta };
        case TOOL.trackShipment:
          return { carrier: facts.carrier, status: facts.status };
        case TOOL.refund:
          return { refunded: facts.amount };
        case TOOL.escalateToHuman:
          return { ticket: `T-${request.index}` };
      }
    });
  }
}
