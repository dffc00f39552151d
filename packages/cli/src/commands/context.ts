import { isAbsolute, resolve } from 'node:path';
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
  readonly sleep: (millis: number) => Promise<void>;
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
