/** Cohorts of a rollout. Canary runs the new release; control runs the stable release
 * on a slice as large as the canary's, so the two compare over the same window. */
export const COHORT = {
  stable: 'stable',
  canary: 'canary',
  control: 'control',
} as const;
/** One of {@link COHORT}. */
export type Cohort = (typeof COHORT)[keyof typeof COHORT];
/** Every cohort, in a fixed order (stable, canary, control), for iterating over them. */
export const COHORTS: readonly Cohort[] = Object.freeze([COHORT.stable, COHORT.canary, COHORT.control]);

/** Returns true when `value` names a cohort. */
export function isCohort(value: unknown): value is Cohort {
  return value === COHORT.stable || value === COHORT.canary || value === COHORT.control;
}

/** The routing decision for one request: which release serves it, and why. */
export interface ReleaseAssignment {
  /** Key of the release flag that was evaluated. */
  readonly flagKey: string;
  /** Id of the release that serves the request. */
  readonly release: string;
  /** Cohort of the request. */
  readonly cohort: Cohort;
  /** Id of the rollout, when one is running. */
  readonly rolloutId?: string;
  /** Pseudonymous id of the unit of randomisation (see `hashSubject`). */
  readonly subject?: string;
}

/** Gate verdicts. `inconclusive` means too little data: never promote on it. */
export const VERDICT = {
  pass: 'pass',
  warn: 'warn',
  fail: 'fail',
  inconclusive: 'inconclusive',
} as const;
/** One of {@link VERDICT}. */
export type Verdict = (typeof VERDICT)[keyof typeof VERDICT];

/** Kinds of user feedback on a finished turn. */
export const FEEDBACK_KIND = {
  thumbsUp: 'thumbs_up',
  thumbsDown: 'thumbs_down',
  regenerate: 'regenerate',
  humanTakeover: 'human_takeover',
} as const;
/** One of {@link FEEDBACK_KIND}. */
export type FeedbackKind = (typeof FEEDBACK_KIND)[keyof typeof FEEDBACK_KIND];

/** Normalised finish reasons (each convention spells them differently). */
export const FINISH_REASON = {
  stop: 'stop',
  length: 'length',
  toolCalls: 'tool_calls',
  contentFilter: 'content_filter',
  error: 'error',
  other: 'other',
} as const;
/** One of {@link FINISH_REASON}. */
export type FinishReason = (typeof FINISH_REASON)[keyof typeof FINISH_REASON];

/** What a normalised span is. */
export const AGENT_SPAN_KIND = {
  turn: 'turn',
  modelCall: 'model_call',
  toolCall: 'tool_call',
  feedback: 'feedback',
} as const;
/** One of {@link AGENT_SPAN_KIND}. */
export type AgentSpanKind = (typeof AGENT_SPAN_KIND)[keyof typeof AGENT_SPAN_KIND];

/** Telemetry conventions the normaliser understands. */
export const SPAN_CONVENTION = {
  genAi: 'gen_ai',
  vercelAi: 'vercel_ai',
  openInference: 'openinference',
  openLlmetry: 'openllmetry',
  langfuse: 'langfuse',
} as const;
/** One of {@link SPAN_CONVENTION}. */
export type SpanConvention = (typeof SPAN_CONVENTION)[keyof typeof SPAN_CONVENTION];

/**
 * The facts the processor reads from one finished span, whatever convention wrote it.
 * Optional fields are absent when the span does not say.
 */
export interface AgentSpanFacts {
  readonly kind: AgentSpanKind;
  readonly convention: SpanConvention;
  readonly traceId: string;
  readonly spanId: string;
  readonly startTimeMillis: number;
  readonly durationMillis: number;
  readonly release?: string;
  readonly cohort?: Cohort;
  readonly rolloutId?: string;
  readonly flagKey?: string;
  readonly subject?: string;
  /** True when the span reports failure (status ERROR, `error.type`, error output, ...). */
  readonly isError: boolean;
  readonly errorType?: string;
  readonly agentName?: string;
  readonly toolName?: string;
  readonly toolCallId?: string;
  readonly model?: string;
  /**
   * Token usage. On a turn it is the aggregate over its model calls: the processor counts
   * tokens from model calls and uses a turn's only when no model call was seen.
   */
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly finishReason?: FinishReason;
  readonly outputLength?: number;
  readonly refusal?: boolean;
  readonly similarity?: number;
  readonly toxicity?: number;
  /** Evaluator scores by evaluator name. */
  readonly scores?: Readonly<Record<string, number>>;
  /** Topic label recorded by the app's classifier. */
  readonly topic?: string;
  readonly feedbackKind?: FeedbackKind;
  readonly promptHash?: string;
}
