import type { Cohort, Verdict } from '@agent-canary/conventions';

/** What a long-running command reports while it works. */
export interface ProgressState {
  /** Current step, 1-based. */
  readonly step: number;
  readonly stepCount: number;
  /** Canary share of traffic in percent. */
  readonly canaryPercent: number;
  /** Requests served per cohort so far. */
  readonly requests: Readonly<Partial<Record<Cohort, number>>>;
  /** Latest gate verdict, when the gate has been evaluated. */
  readonly verdict?: Verdict;
  /** State of the rollout (`canary`, `paused`, ...), shown first when given. */
  readonly label?: string;
}

/** Options of `createProgress`. */
export interface ProgressOptions {
  readonly write: (text: string) => void;
  /** Progress is drawn only on an interactive terminal. */
  readonly isTTY: boolean;
  /** `--json` output: never draw. */
  readonly json: boolean;
  /**
   * Width the line is cut to, so it never wraps (a wrapped line cannot be redrawn).
   * @default 80
   */
  readonly columns?: number;
}

/** A single updating status line. */
export interface Progress {
  /** True when updates are drawn (a terminal, not `--json`). */
  readonly enabled: boolean;
  update(state: ProgressState): void;
  /** Ends the line so what follows starts on a fresh one. Idempotent. */
  done(): void;
}

/** Formats a progress state as one line, e.g. `step 2/4 · canary 20% · requests ... · verdict pass`. */
export function formatProgress(state: ProgressState): string {
  const requests = (['stable', 'canary', 'control'] as const)
    .map((cohort) => `${cohort} ${state.requests[cohort] ?? 0}`)
    .join(' ');
  const parts = [
    ...(state.label ? [state.label] : []),
    `step ${state.step}/${state.stepCount}`,
    `canary ${formatPercent(state.canaryPercent)}`,
    `requests ${requests}`,
    `verdict ${state.verdict ?? '-'}`,
  ];
  return parts.join(' · ');
}

function formatPercent(percent: number): string {
  return `${Number.isInteger(percent) ? percent : percent.toFixed(1)}%`;
}

/** A single line of free text redrawn in place (what `simulate` and `demo` show). */
export interface StatusLine {
  /** True when updates are drawn (a terminal, not `--json`). */
  readonly enabled: boolean;
  update(text: string): void;
  /** Ends the line so what follows starts on a fresh one. Idempotent. */
  done(): void;
}

/**
 * Creates a status line: on a terminal, one line redrawn in place (carriage return +
 * erase line), cut to the terminal width so it never wraps; under `--json` or when output
 * is piped, nothing at all, so scripts and logs only see the final result.
 */
export function createStatusLine(options: ProgressOptions): StatusLine {
  const enabled = options.isTTY && !options.json;
  const columns = Math.max(20, options.columns ?? 80);
  let last: string | undefined;
  let open = false;
  return {
    enabled,
    update(text) {
      if (!enabled) return;
      const line = text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text;
      if (line === last) return;
      last = line;
      open = true;
      options.write(`\r\x1b[2K${line}`);
    },
    done() {
      if (!open) return;
      open = false;
      last = undefined;
      options.write('\n');
    },
  };
}

/** Creates the rollout progress renderer: a {@link StatusLine} showing {@link formatProgress}. */
export function createProgress(options: ProgressOptions): Progress {
  const line = createStatusLine(options);
  return {
    enabled: line.enabled,
    update: (state) => line.update(formatProgress(state)),
    done: () => line.done(),
  };
}
