/**
 * Fails any test in which library code writes to the console: telemetry must report
 * through the OpenTelemetry diag logger, never print into the host app. Tests that
 * exercise printing code (the CLI) opt out with `allowConsole()`.
 */
import { afterEach, beforeEach, vi } from 'vitest';

const METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
let allowed = false;
let written: string[] = [];

/** Lets the current test write to the console (for code whose job is printing). */
export function allowConsole(): void {
  allowed = true;
}

beforeEach(() => {
  allowed = false;
  written = [];
  for (const method of METHODS) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      written.push(`console.${method}: ${args.map(String).join(' ')}`);
    });
  }
});

afterEach(() => {
  for (const method of METHODS) vi.mocked(console[method]).mockRestore();
  if (!allowed && written.length > 0) {
    throw new Error(`the test wrote to the console:\n${written.slice(0, 5).join('\n')}`);
  }
});
