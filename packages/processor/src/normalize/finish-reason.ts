import { FINISH_REASON, type FinishReason } from '@agent-canary/conventions';

// Keys are lower-cased with `-`, `_` and spaces removed, so `tool-calls` (AI SDK),
// `tool_call` (GenAI semconv), `tool_calls` (OpenAI), `toolUse` (Strands) and
// `TOOL_USE` meet in one entry.
const SPELLINGS: Readonly<Record<string, FinishReason>> = Object.freeze({
  stop: FINISH_REASON.stop,
  end: FINISH_REASON.stop,
  endturn: FINISH_REASON.stop,
  stopsequence: FINISH_REASON.stop,
  eos: FINISH_REASON.stop,
  complete: FINISH_REASON.stop,
  completed: FINISH_REASON.stop,
  length: FINISH_REASON.length,
  maxtokens: FINISH_REASON.length,
  maxoutputtokens: FINISH_REASON.length,
  tokenlimit: FINISH_REASON.length,
  toolcalls: FINISH_REASON.toolCalls,
  toolcall: FINISH_REASON.toolCalls,
  tooluse: FINISH_REASON.toolCalls,
  functioncall: FINISH_REASON.toolCalls,
  functioncalls: FINISH_REASON.toolCalls,
  contentfilter: FINISH_REASON.contentFilter,
  contentfiltered: FINISH_REASON.contentFilter,
  safety: FINISH_REASON.contentFilter,
  refusal: FINISH_REASON.contentFilter,
  guardrailintervened: FINISH_REASON.contentFilter,
  prohibitedcontent: FINISH_REASON.contentFilter,
  blocklist: FINISH_REASON.contentFilter,
  error: FINISH_REASON.error,
  other: FINISH_REASON.other,
  unknown: FINISH_REASON.other,
  interrupted: FINISH_REASON.other,
});

function normaliseOne(value: unknown): FinishReason | undefined {
  if (typeof value !== 'string') return undefined;
  const key = value.toLowerCase().replace(/[-_\s]/g, '');
  if (key === '') return undefined;
  // An unknown spelling is still a finish reason the span reported: keep it as `other`.
  return SPELLINGS[key] ?? FINISH_REASON.other;
}

/**
 * Maps any spelling of a finish reason to {@link FINISH_REASON}: a string, a string array
 * (`gen_ai.response.finish_reasons`), or a JSON string holding an array (Mastra).
 * With several reasons, a content filter wins (it is the refusal signal), else the first.
 * Returns `undefined` when nothing usable is given; never throws.
 *
 * @example
 * normalizeFinishReason('tool-calls'); // 'tool_calls'
 * normalizeFinishReason('["content-filter"]'); // 'content_filter'
 * normalizeFinishReason(['endTurn']); // 'stop'
 */
export function normalizeFinishReason(value: unknown): FinishReason | undefined {
  let reasons: unknown = value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (!trimmed.startsWith('[')) return normaliseOne(trimmed);
    try {
      reasons = JSON.parse(trimmed);
    } catch {
      return normaliseOne(trimmed);
    }
  }
  if (!Array.isArray(reasons)) return normaliseOne(reasons);
  let first: FinishReason | undefined;
  for (const reason of reasons) {
    const normalised = normaliseOne(reason);
    if (normalised === FINISH_REASON.contentFilter) return normalised;
    first ??= normalised;
  }
  return first;
}
