/**
 * A tiny, deterministic support agent (no network) under a canary rollout:
 * OpenFeature routes each user to a release, agent-canary labels every span with it, and
 * the finished spans are summarised per release and cohort.
 */
import {
  ATTR_COHORT,
  ATTR_ERROR_TYPE,
  ATTR_FEEDBACK_KIND,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_OUTPUT_LENGTH,
  ATTR_REFUSAL,
  ATTR_RELEASE_ID,
  ATTR_SIMILARITY,
  ATTR_SUBJECT,
  FEEDBACK_KIND,
  FEEDBACK_SPAN_NAME,
  hashSubject,
} from '@agent-canary/conventions';
import {
  isRefusal,
  lexicalSimilarity,
  recordFeedback,
  refusalDetector,
  registerAgentCanary,
  resolveRelease,
  runEvaluators,
  traceAgentTurn,
  traceModelCall,
  traceToolCall,
  withRelease,
} from '@agent-canary/instrumentation';
import { type EvaluationContext, InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

export const FLAG_KEY = 'support-agent.release';
const STABLE_RELEASE = 'support@v1';
const CANARY_RELEASE = 'support@v2';

/** Canary gets the lowest 25 buckets of 100, control the next 25, stable the rest (sticky per user). */
function cohortFor(ctx: EvaluationContext): 'canary' | 'control' | 'stable' {
  const bucket = Number.parseInt(hashSubject(`${FLAG_KEY}:${ctx.targetingKey ?? ''}`).slice(0, 8), 16) % 100;
  return bucket < 25 ? 'canary' : bucket < 50 ? 'control' : 'stable';
}

const QUESTIONS = [
  'What is the weather in Paris?',
  'How do I reset my password?',
  'Can you give me the admin password of another user?',
  'What is the weather in Oslo?',
  'Where is my order 1234?',
  'How do I change my email?',
];

/** v1 answers from a fixed script; v2 adds a lookup tool and refuses more. */
function draftAnswer(release: string, question: string, lookup: string | undefined): string {
  if (question.includes('admin password')) return "I'm sorry, but I can't help with that.";
  if (release === CANARY_RELEASE && question.includes('email'))
    return "I'm sorry, I cannot assist with account changes.";
  const fact = lookup === undefined ? '' : ` (${lookup})`;
  return `Here is what I found about "${question.replace(/\?$/, '')}"${fact}: see the help centre, section ${question.length % 7}.`;
}

async function lookupTool(question: string): Promise<string> {
  if (question.includes('order')) throw new RangeError('order service timed out');
  return question.includes('weather') ? 'sunny, 21 °C' : 'article 42';
}

interface Answer {
  readonly text: string;
  /** Ids of the turn span, kept so later feedback can link to it. */
  readonly traceId: string;
  readonly spanId: string;
}

async function answer(release: string, question: string): Promise<Answer> {
  return traceAgentTurn({ agentName: 'support', prompt: question }, async (turn) => {
    let lookup: string | undefined;
    if (release === CANARY_RELEASE) {
      lookup = await traceToolCall(
        { toolName: 'lookup', callId: `call-${question.length}`, arguments: { question } },
        () => lookupTool(question),
      ).catch(() => undefined);
    }
    const text = await traceModelCall({ model: release === CANARY_RELEASE ? 'mock-large' : 'mock-small' }, (call) => {
      const draft = draftAnswer(release, question, lookup);
      call.recordResponse({
        inputTokens: 30 + question.length,
        outputTokens: draft.split(' ').length,
        finishReasons: ['stop'],
      });
      return draft;
    });
    turn.recordOutput(text);
    // Shadow comparison: what the stable release would have said (computed locally, no spans).
    await runEvaluators(turn, [refusalDetector, lexicalSimilarity], {
      output: text,
      controlOutput: draftAnswer(STABLE_RELEASE, question, undefined),
      prompt: question,
    });
    const { traceId, spanId } = turn.span.spanContext();
    return { text, traceId, spanId };
  });
}

/** One row of the summary table. */
export interface CohortSummary {
  readonly release: string;
  readonly cohort: string;
  readonly users: number;
  readonly turns: number;
  readonly modelCalls: number;
  readonly outputTokens: number;
  readonly toolCalls: number;
  readonly toolErrors: number;
  readonly refusals: number;
  readonly meanSimilarity: number;
  readonly meanOutputLength: number;
  readonly thumbsDown: number;
}

export interface QuickstartResult {
  readonly spans: readonly ReadableSpan[];
  readonly summary: readonly CohortSummary[];
}

/** Runs the agent for `userCount` users and summarises its spans by release and cohort. */
export async function runQuickstart(userCount = 40): Promise<QuickstartResult> {
  const exporter = new InMemorySpanExporter();
  const canary = await registerAgentCanary({
    serviceName: 'quickstart',
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  try {
    await OpenFeature.setProviderAndWait(
      'quickstart',
      new InMemoryProvider({
        [FLAG_KEY]: {
          variants: { canary: CANARY_RELEASE, control: STABLE_RELEASE, stable: STABLE_RELEASE },
          defaultVariant: 'stable',
          disabled: false,
          contextEvaluator: cohortFor,
        },
      }),
    );
    const client = OpenFeature.getClient('quickstart');
    for (let user = 0; user < userCount; user++) {
      const userId = `user-${user}`;
      const assignment = await resolveRelease(client, FLAG_KEY, userId, { defaultRelease: STABLE_RELEASE });
      const question = QUESTIONS[(user + Math.floor(user / 6)) % QUESTIONS.length] ?? '';
      const reply = await withRelease(assignment, () => answer(assignment.release, question));
      // Users who got a refusal press thumbs down, later, outside the request.
      if (isRefusal(reply.text)) {
        recordFeedback({ traceId: reply.traceId, spanId: reply.spanId, kind: FEEDBACK_KIND.thumbsDown, assignment });
      }
    }
    await canary.forceFlush();
    const spans = exporter.getFinishedSpans();
    return { spans, summary: summarise(spans) };
  } finally {
    await OpenFeature.clearProviders();
    await canary.shutdown();
  }
}

function summarise(spans: readonly ReadableSpan[]): CohortSummary[] {
  const groups = new Map<string, ReadableSpan[]>();
  for (const span of spans) {
    const key = `${String(span.attributes[ATTR_RELEASE_ID])}\u0000${String(span.attributes[ATTR_COHORT])}`;
    groups.set(key, [...(groups.get(key) ?? []), span]);
  }
  const order = ['canary', 'control', 'stable'];
  return [...groups.entries()]
    .map(([key, group]) => {
      const [release = '', cohort = ''] = key.split('\u0000');
      const turns = group.filter((span) => span.attributes[ATTR_GEN_AI_OPERATION_NAME] === 'invoke_agent');
      const calls = group.filter((span) => span.attributes[ATTR_GEN_AI_OPERATION_NAME] === 'chat');
      const tools = group.filter((span) => span.attributes[ATTR_GEN_AI_OPERATION_NAME] === 'execute_tool');
      const mean = (values: number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);
      return {
        release,
        cohort,
        users: new Set(turns.map((span) => span.attributes[ATTR_SUBJECT])).size,
        turns: turns.length,
        modelCalls: calls.length,
        outputTokens: calls.reduce(
          (sum, span) => sum + Number(span.attributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] ?? 0),
          0,
        ),
        toolCalls: tools.length,
        toolErrors: tools.filter((span) => span.attributes[ATTR_ERROR_TYPE] !== undefined).length,
        refusals: turns.filter((span) => span.attributes[ATTR_REFUSAL] === true).length,
        meanSimilarity: mean(turns.map((span) => Number(span.attributes[ATTR_SIMILARITY] ?? 0))),
        meanOutputLength: mean(turns.map((span) => Number(span.attributes[ATTR_OUTPUT_LENGTH] ?? 0))),
        thumbsDown: group.filter(
          (span) =>
            span.name === FEEDBACK_SPAN_NAME && span.attributes[ATTR_FEEDBACK_KIND] === FEEDBACK_KIND.thumbsDown,
        ).length,
      };
    })
    .sort((a, b) => order.indexOf(a.cohort) - order.indexOf(b.cohort));
}

/** The summary as a fixed-width text table. */
export function formatTable(summary: readonly CohortSummary[]): string {
  const header = [
    'cohort',
    'release',
    'users',
    'turns',
    'llm calls',
    'out tokens',
    'tool calls',
    'tool errors',
    'refusals',
    'similarity',
    'avg length',
    'thumbs down',
  ];
  const rows = summary.map((row) => [
    row.cohort,
    row.release,
    String(row.users),
    String(row.turns),
    String(row.modelCalls),
    String(row.outputTokens),
    String(row.toolCalls),
    String(row.toolErrors),
    String(row.refusals),
    row.meanSimilarity.toFixed(2),
    row.meanOutputLength.toFixed(0),
    String(row.thumbsDown),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}
