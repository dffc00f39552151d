/**
 * Input errors of the sequential tests. `@agent-canary/stats` may not depend on
 * `@agent-canary/conventions` (it sits at the top of the dependency table), so this
 * mirrors the shape of its `ConfigError`: same `code` values, `path`, `expected`,
 * `received`. Callers that catch both can test `error.code`.
 */

/** Codes of invalid-input errors (same strings as `CONFIG_ERROR_CODE` in conventions). */
export const STATS_ERROR_CODE = {
  invalidValue: 'AGENT_CANARY_INVALID_CONFIG',
} as const;
export type StatsErrorCode = (typeof STATS_ERROR_CODE)[keyof typeof STATS_ERROR_CODE];

/**
 * Invalid input or option of a statistical function: names the field path, what was
 * expected and what was received.
 *
 * @example
 * throw new StatsInputError({ path: 'epochs[0].rho0', expected: 'a number in (0, 1)', received: 1.5 });
 */
export class StatsInputError extends Error {
  readonly code: StatsErrorCode = STATS_ERROR_CODE.invalidValue;
  /** Dotted path of the offending field, e.g. `epochs[2].canaryEvents`. */
  readonly path: string;
  readonly expected: string;
  readonly received: unknown;

  constructor(options: { path: string; expected: string; received: unknown }) {
    super(`invalid input at ${options.path}: expected ${options.expected}, received ${describe(options.received)}`);
    this.name = 'StatsInputError';
    this.path = options.path;
    this.expected = options.expected;
    this.received = options.received;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return typeof value;
  }
}

/** Throws unless `value` is a finite number in the open interval (0, 1). */
export function requireOpenUnit(value: unknown, path: string): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    throw new StatsInputError({ path, expected: 'a number in (0, 1)', received: value });
  }
  return value;
}

/** Throws unless `value` is a finite number ≥ 0 (counts may be fractional when weighted). */
export function requireCount(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new StatsInputError({ path, expected: 'a finite count ≥ 0', received: value });
  }
  return value;
}

/** Throws unless `value` is a finite number > 0. */
export function requirePositive(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new StatsInputError({ path, expected: 'a finite number > 0', received: value });
  }
  return value;
}
