import { createHash } from 'node:crypto';

/**
 * Hash of a prompt text as recorded in `agent_canary.prompt.hash`: `sha256:` and the
 * first 16 hex digits (64 bits: collisions between a team's prompt versions are not a
 * concern, and the attribute stays short). One implementation for the app side
 * (instrumentation), the registry (CLI) and prompt-label lookups (Langfuse adapter), so
 * they all compare equal.
 *
 * @example
 * hashPrompt('You are a careful support agent.'); // 'sha256:…' (16 hex digits)
 */
export function hashPrompt(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16)}`;
}
