import {
  AGENT_SPAN_KIND,
  type AgentSpanFacts,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_RELEASE_MODEL,
  ATTR_RELEASE_PROMPT_HASH,
} from '@agent-canary/conventions';
import { type Attributes, diag } from '@opentelemetry/api';

const MAX_MISMATCH_WARNINGS = 100;

/**
 * @internal How a span's configuration differs from the one its assigned release
 * prescribes, or undefined. The model is compared on model calls only
 * (`gen_ai.request.model`, what the framework actually sent); the prompt hash wherever the
 * app recorded the one it used.
 */
export function configMismatch(attributes: Attributes, facts: AgentSpanFacts): string | undefined {
  const assignedModel = attributes[ATTR_RELEASE_MODEL];
  if (facts.kind === AGENT_SPAN_KIND.modelCall && typeof assignedModel === 'string') {
    const used = attributes[ATTR_GEN_AI_REQUEST_MODEL];
    if (typeof used === 'string' && used !== assignedModel) return `model ${used} instead of ${assignedModel}`;
  }
  const assignedPrompt = attributes[ATTR_RELEASE_PROMPT_HASH];
  if (typeof assignedPrompt === 'string' && facts.promptHash !== undefined && facts.promptHash !== assignedPrompt) {
    return `prompt ${facts.promptHash} instead of ${assignedPrompt}`;
  }
  return undefined;
}

/**
 * @internal Warns once per release and kind of mismatch (bounded), so a misconfigured app
 * is noticed, not spammed.
 */
export class MismatchWarnings {
  private readonly warned = new Set<string>();

  warn(release: string, mismatch: string): void {
    const key = `${release}\u0000${mismatch}`;
    if (this.warned.has(key) || this.warned.size >= MAX_MISMATCH_WARNINGS) return;
    this.warned.add(key);
    diag.warn(`agent-canary behaviour processor: release ${release} served ${mismatch}`);
  }
}
