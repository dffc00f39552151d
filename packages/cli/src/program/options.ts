/**
 * What every command group of the table shares: the wiring a command's action gets, the
 * option value parsers, and the options many commands carry (`--json`, `--store`).
 */
import type { MetricSource } from '@agent-canary/gate';
import { InvalidArgumentError, Option } from 'commander';
import { type CommandContext, DEFAULT_STORE_PATH, ENV } from '../commands/context.js';
import type { DemoRunner } from '../commands/demo.js';
import { parseDurationMillis } from '../config/file-schema.js';
import type { ExitCode } from '../exit-codes.js';

/** What the actions of the command table are given. */
export interface CommandWiring {
  readonly context: CommandContext;
  /** Records the exit code of the command that ran. */
  readonly setExit: (code: ExitCode) => void;
  /** Metric source of `monitor` (tests, embedding); Prometheus when absent. */
  readonly metricSource?: MetricSource;
  /** Runs `demo`; the bundled demo when absent. */
  readonly runDemo?: DemoRunner;
}

/** Parses `2s`, `500ms`, `1m` or plain milliseconds into positive milliseconds. */
export function durationOption(value: string): number {
  const millis = /^\d+$/.test(value) ? Number(value) : parseDurationMillis(value);
  if (millis === undefined || millis <= 0) {
    throw new InvalidArgumentError('expected a duration like "2s", "500ms" or "1m", or milliseconds');
  }
  return millis;
}

/** Parses a whole number. */
export function integerOption(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number)) {
    throw new InvalidArgumentError('expected a whole number');
  }
  return number;
}

/** Parses a positive number. */
export function positiveOption(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError('expected a positive number');
  }
  return number;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

/** `--json`: one JSON document on stdout. */
export function jsonOption(): Option {
  return new Option('--json', 'print one JSON document to stdout and nothing else');
}

/** `--store <path>`: the controller store file. */
export function storeOption(): Option {
  return new Option('--store <path>', `controller store file (env ${ENV.store}; default ${DEFAULT_STORE_PATH})`);
}
