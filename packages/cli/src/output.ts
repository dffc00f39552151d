import { CONTROLLER_ERROR_CODE, ControllerError } from '@agent-canary/controller';
import { ConfigError } from '@agent-canary/conventions';
import { ConfigFileError } from './config.js';
import { EXIT_CODE, type ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';

/** A failure with the exit code it maps to and a stable machine-readable code. */
export class CliFailure extends Error {
  readonly exitCode: ExitCode;
  /** Stable identifier printed under `--json`, e.g. `rollout_not_found`. */
  readonly code: string;

  constructor(code: string, message: string, exitCode: ExitCode) {
    super(message);
    this.name = 'CliFailure';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Where a command's result goes: one JSON document under `--json`, text otherwise. */
export interface Output {
  readonly json: boolean;
  /** Prints the command's result: `document` under `--json`, `text` otherwise. */
  result(document: unknown, text: string): void;
  /** Human-only information on stderr (never printed under `--json`). */
  note(text: string): void;
}

/** Creates the output of one invocation. */
export function createOutput(io: CliIo, json: boolean): Output {
  return {
    json,
    result(document, text) {
      if (json) io.stdout(`${JSON.stringify(document, null, 2)}\n`);
      else io.stdout(text.endsWith('\n') ? text : `${text}\n`);
    },
    note(text) {
      if (!json) io.stderr(text.endsWith('\n') ? text : `${text}\n`);
    },
  };
}

/** Maps any error to its exit code and prints it (as a JSON document under `--json`). */
export function reportFailure(io: CliIo, json: boolean, error: unknown): ExitCode {
  let exitCode: ExitCode = EXIT_CODE.runtime;
  let code = 'runtime_error';
  let message = error instanceof Error ? error.message : String(error);
  let issues: unknown[] | undefined;
  if (error instanceof CliFailure) {
    exitCode = error.exitCode;
    code = error.code;
  } else if (error instanceof ConfigFileError) {
    exitCode = EXIT_CODE.usage;
    code = 'invalid_config';
    issues = error.issues.map((issue) => ({
      source: error.source,
      path: issue.path,
      expected: issue.expected,
      received: issue.received ?? null,
    }));
  } else if (error instanceof ConfigError) {
    exitCode = EXIT_CODE.usage;
    code = 'invalid_config';
  } else if (error instanceof ControllerError) {
    // A refusal (another rollout of the flag is running, wrong state) is not a crash.
    const refused: readonly string[] = [CONTROLLER_ERROR_CODE.rolloutActive, CONTROLLER_ERROR_CODE.invalidTransition];
    exitCode = refused.includes(error.code) ? EXIT_CODE.rolledBack : EXIT_CODE.runtime;
    code = error.code;
  } else if (isNodeError(error)) {
    code = error.code === 'ENOENT' ? 'file_not_found' : `io_${error.code.toLowerCase()}`;
    message = error.message;
  }
  if (json) {
    io.stdout(`${JSON.stringify({ ok: false, error: { code, message, ...(issues ? { issues } : {}) } }, null, 2)}\n`);
  } else {
    io.stderr(`agent-canary: ${message}\n`);
  }
  return exitCode;
}

/** Left-aligned columns two spaces apart, one line per row (the first row is the header). */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return `${rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function isNodeError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}
