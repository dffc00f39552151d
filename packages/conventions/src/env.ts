/**
 * The value of an environment variable, trimmed, or `undefined` when it is unset or blank
 * (an exported-but-empty variable means "not configured", not "configured as empty").
 */
export function envValue(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
