/**
 * Reads the model's answer out of the serialised payloads that the conventions attach to
 * spans (GenAI output messages, LangChain messages, OpenAI completions, Langfuse output).
 * Only the length of the text is kept, never the text. Everything here is total: bad
 * input yields `undefined`, nothing throws.
 */

/**
 * Payloads longer than this are not parsed: the answer length is not worth a multi-
 * megabyte `JSON.parse` in a span processor's `onEnd`.
 */
export const MAX_PARSED_PAYLOAD_CHARS = 256 * 1024;

/** What a payload says about the answer. */
export interface OutputFacts {
  /** Characters of answer text (text parts only, not tool calls or JSON syntax). */
  length?: number;
  /** Raw finish reason found inside the payload (LangChain `response_metadata`). */
  finishReason?: string;
  /** True when the payload carries an OpenAI refusal (a `refusal` part or field). */
  refusal?: boolean;
}

type Json = unknown;

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a JSON string when it looks like JSON and is small enough; else `undefined`. */
export function parseJsonPayload(text: string): Json | undefined {
  if (text.length > MAX_PARSED_PAYLOAD_CHARS) return undefined;
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[' && first !== '"') return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

class Collector {
  length = 0;
  seen = false;
  refusal = false;
  finishReason: string | undefined;

  addText(text: string): void {
    this.length += text.length;
    this.seen = true;
  }

  facts(): OutputFacts | undefined {
    if (!this.seen && !this.refusal && this.finishReason === undefined) return undefined;
    const facts: OutputFacts = {};
    if (this.seen) facts.length = this.length;
    if (this.refusal) facts.refusal = true;
    if (this.finishReason !== undefined) facts.finishReason = this.finishReason;
    return facts;
  }
}

/** Content of one message: a string, or an array of parts/blocks in any vendor's shape. */
function collectContent(content: Json, out: Collector): void {
  if (typeof content === 'string') {
    out.addText(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (typeof part === 'string') {
      out.addText(part);
      continue;
    }
    if (!isRecord(part)) continue;
    const type = part.type;
    if (type === 'refusal') {
      out.refusal = true;
      // The refusal text is what the user reads: it counts as answer length.
      if (typeof part.refusal === 'string') out.addText(part.refusal);
      else if (typeof part.content === 'string') out.addText(part.content);
      continue;
    }
    // GenAI semconv parts use `content`; Anthropic/Bedrock/Strands blocks and OpenAI
    // Responses `output_text` use `text`. Tool calls and tool results are not text.
    if (type === undefined || type === 'text' || type === 'output_text') {
      if (typeof part.content === 'string') out.addText(part.content);
      else if (typeof part.text === 'string') out.addText(part.text);
    }
  }
}

const AI_ROLES = new Set(['assistant', 'ai', 'model']);
const AI_MESSAGE_CLASSES = new Set(['AIMessage', 'AIMessageChunk']);

function isAssistantMessage(message: Record<string, Json>): boolean {
  if (typeof message.role === 'string') return AI_ROLES.has(message.role);
  if (message.type === 'ai') return true;
  // LangChain's serialised form: {lc: 1, type: 'constructor', id: [..., 'AIMessage'], kwargs}.
  const id = message.id;
  return Array.isArray(id) && AI_MESSAGE_CLASSES.has(id[id.length - 1] as string);
}

function collectMessage(message: Record<string, Json>, out: Collector): void {
  const body = isRecord(message.kwargs) ? message.kwargs : message;
  if (Array.isArray(body.parts)) collectContent(body.parts, out);
  else collectContent(body.content, out);
  if (typeof body.refusal === 'string' && body.refusal !== '') {
    out.refusal = true;
    out.addText(body.refusal);
  }
  const metadata = body.response_metadata;
  if (isRecord(metadata) && typeof metadata.finish_reason === 'string') {
    out.finishReason = metadata.finish_reason;
  }
  if (typeof body.finish_reason === 'string') out.finishReason = body.finish_reason;
}

function looksLikeMessage(value: Json): value is Record<string, Json> {
  return isRecord(value) && ('role' in value || 'parts' in value || 'kwargs' in value || value.type === 'ai');
}

/**
 * Extracts the answer from a parsed payload.
 * - an array of messages (GenAI `output.messages`): text of every assistant message;
 * - an array of content blocks (Strands `[{text}]`): their text;
 * - `{messages: [...]}` (a LangChain/LangGraph state): the last assistant message only,
 *   since the state holds the whole conversation;
 * - `{generations}` (LangChain LLM result), `{choices}` (OpenAI completion), a message
 *   object, or a plain string.
 */
export function outputFactsOf(payload: Json): OutputFacts | undefined {
  const out = new Collector();
  if (typeof payload === 'string') {
    out.addText(payload);
  } else if (Array.isArray(payload)) {
    if (payload.some(looksLikeMessage)) {
      for (const message of payload) {
        if (!looksLikeMessage(message)) continue;
        const unlabelled = message.role === undefined && !('kwargs' in message);
        if (unlabelled || isAssistantMessage(message)) {
          collectMessage(message, out);
        }
      }
    } else {
      collectContent(payload, out);
    }
  } else if (isRecord(payload)) {
    collectRecord(payload, out);
  }
  return out.facts();
}

function collectRecord(payload: Record<string, Json>, out: Collector): void {
  if (Array.isArray(payload.messages)) {
    for (let index = payload.messages.length - 1; index >= 0; index--) {
      const message = payload.messages[index];
      if (isRecord(message) && isAssistantMessage(message)) {
        collectMessage(message, out);
        return;
      }
    }
    return;
  }
  if (Array.isArray(payload.generations)) {
    const first = payload.generations[0];
    const generation = Array.isArray(first) ? first[0] : first;
    if (isRecord(generation)) {
      if (isRecord(generation.message)) collectMessage(generation.message, out);
      else if (typeof generation.text === 'string') out.addText(generation.text);
      const info = generation.generationInfo;
      if (isRecord(info) && typeof info.finish_reason === 'string') out.finishReason = info.finish_reason;
    }
    return;
  }
  if (Array.isArray(payload.choices)) {
    const choice = payload.choices[0];
    if (isRecord(choice)) {
      if (isRecord(choice.message)) collectMessage(choice.message, out);
      if (typeof choice.finish_reason === 'string') out.finishReason = choice.finish_reason;
    }
    return;
  }
  if ('content' in payload || 'parts' in payload || 'kwargs' in payload || 'refusal' in payload) {
    collectMessage(payload, out);
    return;
  }
  if (typeof payload.text === 'string') out.addText(payload.text);
  else if (typeof payload.output === 'string') out.addText(payload.output);
}

/**
 * Facts of an attribute value that holds the answer either as plain text or as a JSON
 * payload. `plainText` says the value is known to be text (e.g. `ai.response.text`, or
 * OpenInference `output.mime_type` = `text/plain`), so it is measured without parsing.
 */
export function outputFactsOfValue(value: unknown, plainText = false): OutputFacts | undefined {
  if (typeof value !== 'string') return undefined;
  if (plainText) return { length: value.length };
  const first = value.trimStart()[0];
  const jsonLike = first === '{' || first === '[' || first === '"';
  if (!jsonLike) return { length: value.length };
  // Too large to parse: its length would count JSON syntax, so say nothing.
  if (value.length > MAX_PARSED_PAYLOAD_CHARS) return undefined;
  const parsed = parseJsonPayload(value);
  if (parsed !== undefined) return outputFactsOf(parsed);
  // A quoted sentence that is not JSON is plain text; a broken object or array is unreadable.
  return first === '"' ? { length: value.length } : undefined;
}
