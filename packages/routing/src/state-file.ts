import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RoutingSplit } from '@agent-canary/conventions';

/** Format version of the routing state file. */
export const ROUTING_STATE_FORMAT = 1;

/**
 * The routing state shared by the controller (writer) and agent processes (readers):
 * one JSON file, replaced atomically, with a version counter bumped on every change.
 */
export interface RoutingState {
  readonly format: typeof ROUTING_STATE_FORMAT;
  /** Incremented on every write; readers reload when it changes. */
  readonly version: number;
  readonly updatedAtMillis: number;
  /** Split per flag key. Each split's `version` is the state version that last changed it. */
  readonly flags: Readonly<Record<string, RoutingSplit>>;
}

/** The state before anything was written. */
export const EMPTY_ROUTING_STATE: RoutingState = Object.freeze({
  format: ROUTING_STATE_FORMAT,
  version: 0,
  updatedAtMillis: 0,
  flags: Object.freeze({}),
});

/** Parses a state file's text; throws on anything that is not a routing state. */
export function parseRoutingState(text: string): RoutingState {
  const value = JSON.parse(text) as Partial<RoutingState> | null;
  if (
    value === null ||
    typeof value !== 'object' ||
    value.format !== ROUTING_STATE_FORMAT ||
    typeof value.version !== 'number' ||
    typeof value.flags !== 'object' ||
    value.flags === null
  ) {
    throw new Error(`not an agent-canary routing state (format ${ROUTING_STATE_FORMAT})`);
  }
  return value as RoutingState;
}

/** Reads the state file synchronously; `undefined` when it does not exist. */
export function readRoutingStateSync(path: string): RoutingState | undefined {
  try {
    return parseRoutingState(readFileSync(path, 'utf8'));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Reads the state file; `undefined` when it does not exist. */
export async function readRoutingState(path: string): Promise<RoutingState | undefined> {
  try {
    return parseRoutingState(await readFile(path, 'utf8'));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Writes the state atomically: a temporary file in the same directory, then a rename. */
export async function writeRoutingState(path: string, state: RoutingState): Promise<void> {
  const temporary = temporaryPath(path);
  try {
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, 'utf8');
    // rename(2) is atomic on one filesystem: readers see the old file or the new one, never half of one.
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** Synchronous {@link writeRoutingState} (for tools and tests). */
export function writeRoutingStateSync(path: string, state: RoutingState): void {
  const temporary = temporaryPath(path);
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, 'utf8');
  renameSync(temporary, path);
}

function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
