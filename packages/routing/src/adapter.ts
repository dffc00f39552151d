import {
  type ApplyResult,
  type RetryOptions,
  ROUTING_ERROR_CODE,
  type RoutingAdapter,
  RoutingError,
  type RoutingSplit,
  sameSplit,
  withRetry,
} from '@agent-canary/conventions';
import { diag } from '@opentelemetry/api';
import { EMPTY_ROUTING_STATE, type RoutingState, readRoutingState, writeRoutingState } from './state-file.js';

/** Options of {@link EmbeddedRoutingAdapter}. */
export interface EmbeddedRoutingAdapterOptions {
  /**
   * Routing state file shared with agent processes on this machine. Without it the state
   * lives in memory only and reaches providers of this process through `subscribe`.
   * Env `AGENT_CANARY_ROUTING_FILE`.
   */
  readonly path?: string;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Retries of a write that did not read back. @default { maxAttempts: 5, initialDelayMillis: 10 } */
  readonly retry?: RetryOptions;
}

/** Listener of routing changes in this process. */
export type RoutingStateListener = (state: RoutingState) => void;

/**
 * The embedded flag system's write side: writes splits to the routing state file
 * atomically (temp file + rename, version + 1), confirms by reading back, and tells
 * in-process providers at once. A write that keeps failing (a read-only directory, a
 * directory where the file should be) comes back `acknowledged: false` with the reason;
 * the controller retries it with back-off and alerts until it lands.
 *
 * @example
 * const routing = new EmbeddedRoutingAdapter({ path: '/var/run/agent-canary/routing.json' });
 */
export class EmbeddedRoutingAdapter implements RoutingAdapter {
  private readonly path: string | undefined;
  private readonly clock: () => number;
  private readonly retry: RetryOptions;
  private memory: RoutingState = EMPTY_ROUTING_STATE;
  private readonly listeners = new Set<RoutingStateListener>();
  private writes: Promise<unknown> = Promise.resolve();

  constructor(options: EmbeddedRoutingAdapterOptions = {}) {
    this.path = options.path ?? process.env['AGENT_CANARY_ROUTING_FILE'];
    this.clock = options.clock ?? Date.now;
    this.retry = options.retry ?? { maxAttempts: 5, initialDelayMillis: 10 };
  }

  /** Writes the split (no write when it is already there) and confirms it by reading back. */
  apply(split: RoutingSplit): Promise<ApplyResult> {
    // Serialised: two concurrent read-modify-writes would lose one of the splits.
    const result = this.writes.then(() => this.applyNow(split));
    this.writes = result.catch(() => undefined);
    return result;
  }

  private async applyNow(split: RoutingSplit): Promise<ApplyResult> {
    const outcome = await withRetry(async () => {
      const state = await this.load();
      const current = state.flags[split.flagKey];
      let version = current?.version ?? state.version;
      if (!sameSplit(current, split) || current?.rolloutId !== split.rolloutId) {
        version = state.version + 1;
        const next: RoutingState = {
          ...state,
          version,
          updatedAtMillis: this.clock(),
          flags: { ...state.flags, [split.flagKey]: { ...withoutVersion(split), version } },
        };
        await this.save(next);
      }
      const readBack = (await this.load()).flags[split.flagKey];
      if (!sameSplit(readBack, split)) throw new Error('read-back does not show the split yet');
      return version;
    }, this.retry);
    if (!outcome.ok) {
      return { acknowledged: false, attempts: outcome.attempts, reason: String(outcome.error) };
    }
    return {
      acknowledged: true,
      acknowledgedAtMillis: this.clock(),
      attempts: outcome.attempts,
      version: outcome.value,
    };
  }

  async read(flagKey: string): Promise<RoutingSplit | undefined> {
    return (await this.load()).flags[flagKey];
  }

  /** The last state this adapter wrote or read. */
  current(): RoutingState {
    return this.memory;
  }

  /** Calls `listener` after every change this adapter writes (in-process providers). Returns an unsubscribe function. */
  subscribe(listener: RoutingStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.writes;
    this.listeners.clear();
  }

  private async load(): Promise<RoutingState> {
    const path = this.path;
    if (path === undefined) return this.memory;
    try {
      this.memory = (await readRoutingState(path)) ?? EMPTY_ROUTING_STATE;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new RoutingError({
        code:
          code === 'EACCES' || code === 'EPERM'
            ? ROUTING_ERROR_CODE.unauthorized
            : // Not JSON / not a routing state, or a directory where the file should be.
              code === undefined || code === 'EISDIR'
              ? ROUTING_ERROR_CODE.flagShape
              : ROUTING_ERROR_CODE.unavailable,
        provider: 'embedded',
        message: `cannot read routing state ${path}: ${(error as Error).message}`,
        cause: error,
      });
    }
    return this.memory;
  }

  private async save(state: RoutingState): Promise<void> {
    if (this.path !== undefined) await writeRoutingState(this.path, state);
    this.memory = state;
    for (const listener of this.listeners) {
      try {
        listener(state);
      } catch (error) {
        diag.warn('agent-canary: a routing state listener threw', error);
      }
    }
  }
}

function withoutVersion(split: RoutingSplit): RoutingSplit {
  const { version: _ignored, ...rest } = split;
  return rest;
}
