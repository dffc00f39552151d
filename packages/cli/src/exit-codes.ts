/**
 * Exit codes of the `agent-canary` command (documented in docs/cli.md).
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | the rollout rolled back or was aborted, or the controller refused a manual action |
 * | 2 | usage or configuration error (bad option, invalid definition file) |
 * | 3 | runtime error (store unreadable, file not writable, unexpected failure) |
 */
export const EXIT_CODE = {
  ok: 0,
  rolledBack: 1,
  usage: 2,
  runtime: 3,
} as const;
/** One of {@link EXIT_CODE}. */
export type ExitCode = (typeof EXIT_CODE)[keyof typeof EXIT_CODE];
