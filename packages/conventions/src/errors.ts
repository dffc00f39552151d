/** Codes of configuration errors. */
export const CONFIG_ERROR_CODE = {
  invalidValue: 'AGENT_CANARY_INVALID_CONFIG',
  missingValue: 'AGENT_CANARY_MISSING_CONFIG',
} as const;
/** One of {@link CONFIG_ERROR_CODE}. */
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODE)[keyof typeof CONFIG_ERROR_CODE];

/**
 * Invalid configuration: names the field, what was expected and what was received.
 *
 * @example
 * throw new ConfigError({ path: 'steps[1].percent', expected: 'a number in 0..100', received: 120 });
 */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  /** Dotted path of the offending field, e.g. `gate.checks.errorRate.max`. */
  readonly path: string;
  readonly expected: string;
  readonly received: unknown;

  constructor(options: { path: string; expected: string; received?: unknown; code?: ConfigErrorCode }) {
    const received = options.received === undefined ? 'nothing' : describeValue(options.received);
    super(`invalid configuration at ${options.path}: expected ${options.expected}, received ${received}`);
    this.name = 'ConfigError';
    this.code =
      options.code ??
      (options.received === undefined ? CONFIG_ERROR_CODE.missingValue : CONFIG_ERROR_CODE.invalidValue);
    this.path = options.path;
    this.expected = options.expected;
    this.received = options.received;
  }
}

/** Result of a `safe*` function: the value, or the error that `parse*` would throw. */
export type SafeResult<T, E = ConfigError> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return typeof value;
  }
}
