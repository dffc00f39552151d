/**
 * What the command writes to and reads from, injected so the whole program runs in a
 * test without spawning a process.
 */
export interface CliIo {
  /** Writes to standard output (no newline added). */
  readonly stdout: (text: string) => void;
  /** Writes to standard error (no newline added). */
  readonly stderr: (text: string) => void;
  /** Environment variables (`AGENT_CANARY_*`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** True when standard output is an interactive terminal (progress is shown only then). */
  readonly isTTY: boolean;
  /** Terminal width in columns, when known. */
  readonly columns?: number;
  /** Directory relative paths resolve against. */
  readonly cwd: string;
}

/** The `CliIo` of the running process. */
export function processIo(): CliIo {
  return {
    stdout: (text) => {
      process.stdout.write(text);
    },
    stderr: (text) => {
      process.stderr.write(text);
    },
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    ...(process.stdout.columns ? { columns: process.stdout.columns } : {}),
    cwd: process.cwd(),
  };
}
