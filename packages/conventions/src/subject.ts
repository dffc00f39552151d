import { createHash } from 'node:crypto';

/**
 * Pseudonymous id of a targeting key (the unit of randomisation): the first 16 hex digits
 * of SHA-256. Spans carry this instead of the user id, so distinct users can be counted
 * without storing who they are.
 */
export function hashSubject(targetingKey: string): string {
  return createHash('sha256').update(targetingKey).digest('hex').slice(0, 16);
}
