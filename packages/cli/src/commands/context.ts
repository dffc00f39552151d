import { existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { RolloutStore } from '@agent-canary/controller';
import { loadRolloutDefinition, type RolloutDefinition } from '../config.js';
import { EXIT_CODE } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { CliFailure } from '../output.js';
import type { CliStore, OpenStore, OpenStoreContext } from '../store.js';

/** Environment variables the command reads (documented in docs/cli.md). */
export const ENV = {
  config: 'AGENT_CANARY_CONFIG',
  store: 'AGENT_CANARY_STORE',
  actor: 'AGENT_CANARY_ACTOR',
} as const;

/** Where the controller's store lives when neither `--store` nor the environment say. */
export const DEFAULT_STORE_PATH = '.agent-canary/state.db';

/** What the commands are given besides their options. */
export interface CommandContext {
  readonly io: CliIo;
  /** Opens the controller store; absent when no store implementation is available. */
  readonly openStore?: OpenStore;
  readonly now: () => number;
  /** Waits; resolves early when `signal` aborts. */
  readonly sleep: (millis: number, signal?: AbortSignal) => Promise<void>;
  /** Aborted when a long-running command (`monitor`, `serve`) should stop (SIGINT / SIGTERM in the binary). */
  readonly shutdown?: AbortSignal;
}

/** Store path: `--store`, then `AGENT_CANARY_STORE`, then the definition file, then the default. */
export function resolveStorePath(context: CommandContext, option: string | undefined, fromDefinition?: string): string {
  const path = option ?? context.io.env[ENV.store] ?? fromDefinition ?? DEFAULT_STORE_PATH;
  return isAbsolute(path) ? path : resolve(context.io.cwd, path);
}

/** Resolves a user-supplied path against the working directory. */
export function resolvePath(context: CommandContext, path: string): string {
  return isAbsolute(path) ? path : resolve(context.io.cwd, path);
}

/** The rollout definition of `--config`, else of `AGENT_CANARY_CONFIG`; undefined when neither is given. */
export async function optionalDefinition(
  context: CommandContext,
  option: string | undefined,
): Promise<RolloutDefinition | undefined> {
  const path = option ?? context.io.env[ENV.config];
  return path ? loadRolloutDefinition(resolvePath(context, path), context.io.env) : undefined;
}

/** Who is acting: `--actor`, then `AGENT_CANARY_ACTOR`, then the login name. */
export function resolveActor(context: CommandContext, option: string | undefined): string {
  return option ?? context.io.env[ENV.actor] ?? context.io.env['USER'] ?? context.io.env['LOGNAME'] ?? 'cli';
}

/** Opens the store, runs `work`, and always closes it. */
export async function withStore<T>(
  context: CommandContext,
  path: string,
  work: (store: CliStore) => Promise<T>,
  openContext: OpenStoreContext = {},
): Promise<T> {
  if (!context.openStore) {
    throw new CliFailure(
      'store_unavailable',
      'no rollout store implementation is available in this build of agent-canary',
      EXIT_CODE.runtime,
    );
  }
  const store = await context.openStore(path, openContext);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/**
 * Opens the controller's SQLite store itself (the registry and the monitor work on it
 * directly), runs `work`, and always closes it. Without `create`, a missing file is an
 * error rather than a new empty store behind a mistyped path.
 */
export async function withControllerStore<T>(
  path: string,
  options: { readonly create: boolean },
  work: (store: RolloutStore) => Promise<T>,
): Promise<T> {
  if (path !== ':memory:' && !existsSync(path)) {
    if (!options.create) {
      throw new CliFailure(
        'store_not_found',
        `no rollout store at ${path} (pass --store <path> or set ${ENV.store})`,
        EXIT_CODE.runtime,
      );
    }
    mkdirSync(dirname(path), { recursive: true });
  }
  const store = new RolloutStore({ path });
  try {
    return await work(store);
  } finally {
    store.close();
  }
}

/** Resolves when `signal` aborts (never without one): how long-running commands wait to stop. */
export function untilShutdown(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
