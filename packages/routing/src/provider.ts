import { type FSWatcher, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { RoutingSplit } from '@agent-canary/conventions';
import {
  COHORT,
  FLAG_METADATA_COHORT,
  FLAG_METADATA_RELEASE,
  FLAG_METADATA_ROLLOUT_ID,
} from '@agent-canary/conventions';
import {
  type EvaluationContext,
  FlagNotFoundError,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
  StandardResolutionReasons,
  TypeMismatchError,
} from '@openfeature/server-sdk';
import { diag } from '@opentelemetry/api';
import type { EmbeddedRoutingAdapter } from './adapter.js';
import { bucketFor, cohortFor } from './bucket.js';
import { EMPTY_ROUTING_STATE, type RoutingState, readRoutingStateSync } from './state-file.js';

/** Options of {@link EmbeddedProvider}. Give `path` (cross-process) or `adapter` (same process). */
export interface EmbeddedProviderOptions {
  /** Routing state file written by the controller. Env `AGENT_CANARY_ROUTING_FILE`. */
  readonly path?: string;
  /** In-process mode: read the adapter's state and get its changes directly. */
  readonly adapter?: EmbeddedRoutingAdapter;
  /** At most one `stat` of the file per interval, done lazily on evaluation. @default 15 */
  readonly refreshIntervalMillis?: number;
  /** Also use `fs.watch` as a hint to reload early. @default true */
  readonly watch?: boolean;
  /** @default performance.now-based */
  readonly monotonicNow?: () => number;
}

/** Defaults of {@link EmbeddedProviderOptions}. */
export const EMBEDDED_PROVIDER_DEFAULTS = Object.freeze({ refreshIntervalMillis: 15, watch: true });

/** Provider name reported in evaluation details and telemetry. */
export const EMBEDDED_PROVIDER_NAME = 'agent-canary-embedded';

/**
 * An OpenFeature server provider for release flags: sticky, flagd-compatible bucketing
 * of `targetingKey` into canary / control / stable, from the split the controller wrote.
 * The value is the release id; the variant is the cohort.
 *
 * @example
 * await OpenFeature.setProviderAndWait(new EmbeddedProvider({ path: 'routing.json' }));
 * const release = await OpenFeature.getClient().getStringValue('agent-release', 'v1', { targetingKey: userId });
 */
export class EmbeddedProvider implements Provider {
  readonly metadata = { name: EMBEDDED_PROVIDER_NAME } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  private readonly path: string | undefined;
  private readonly adapter: EmbeddedRoutingAdapter | undefined;
  private readonly refreshIntervalMillis: number;
  private readonly useWatch: boolean;
  private readonly monotonicNow: () => number;
  private state: RoutingState = EMPTY_ROUTING_STATE;
  private fileIdentity = '';
  private lastCheckMillis = Number.NEGATIVE_INFINITY;
  private watcher: FSWatcher | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(options: EmbeddedProviderOptions = {}) {
    this.adapter = options.adapter;
    this.path = options.path ?? (options.adapter ? undefined : process.env['AGENT_CANARY_ROUTING_FILE']);
    this.refreshIntervalMillis = options.refreshIntervalMillis ?? EMBEDDED_PROVIDER_DEFAULTS.refreshIntervalMillis;
    this.useWatch = options.watch ?? EMBEDDED_PROVIDER_DEFAULTS.watch;
    this.monotonicNow = options.monotonicNow ?? (() => performance.now());
  }

  async initialize(): Promise<void> {
    if (this.adapter) {
      this.state = this.adapter.current();
      this.unsubscribe = this.adapter.subscribe((state) => this.accept(state));
      return;
    }
    if (this.path === undefined) return;
    this.refresh(true);
    if (this.useWatch) {
      try {
        // Watch the directory: an atomic rename replaces the file's inode, which a file watch would lose.
        const name = basename(this.path);
        this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
          if (file === null || file === name) this.refresh(true);
        });
        this.watcher.on('error', (error) => diag.debug('agent-canary: routing file watch failed; polling only', error));
      } catch (error) {
        diag.debug('agent-canary: cannot watch the routing file; polling only', error);
      }
    }
  }

  async onClose(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Version of the routing state this provider currently serves. */
  get stateVersion(): number {
    return this.state.version;
  }

  async resolveStringEvaluation(
    flagKey: string,
    _defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    return this.resolve(flagKey, context);
  }

  /** Synchronous resolution (the same answer as the OpenFeature path, without its overhead). */
  resolve(flagKey: string, context: EvaluationContext): ResolutionDetails<string> {
    if (this.adapter === undefined) this.refresh(false);
    const split = this.state.flags[flagKey];
    if (split === undefined) throw new FlagNotFoundError(`flag ${flagKey} has no split in the routing state`);
    const targetingKey = context.targetingKey;
    if (typeof targetingKey !== 'string' || targetingKey.length === 0) {
      // Without a subject there is no sticky bucket: serve stable rather than a random cohort.
      return details(split, COHORT.stable, StandardResolutionReasons.DEFAULT);
    }
    const cohort = cohortFor(bucketFor(flagKey, targetingKey), split);
    return details(split, cohort, StandardResolutionReasons.SPLIT);
  }

  async resolveBooleanEvaluation(flagKey: string): Promise<ResolutionDetails<boolean>> {
    throw new TypeMismatchError(`release flag ${flagKey} is a string flag`);
  }

  async resolveNumberEvaluation(flagKey: string): Promise<ResolutionDetails<number>> {
    throw new TypeMismatchError(`release flag ${flagKey} is a string flag`);
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string): Promise<ResolutionDetails<T>> {
    throw new TypeMismatchError(`release flag ${flagKey} is a string flag`);
  }

  private refresh(force: boolean): void {
    const path = this.path;
    if (path === undefined) return;
    const now = this.monotonicNow();
    if (!force && now - this.lastCheckMillis < this.refreshIntervalMillis) return;
    this.lastCheckMillis = now;
    try {
      const stat = statSync(path, { bigint: true, throwIfNoEntry: false });
      const identity = stat === undefined ? '' : `${stat.ino}:${stat.mtimeNs}:${stat.size}`;
      if (identity === this.fileIdentity) return;
      const next = readRoutingStateSync(path);
      this.fileIdentity = identity;
      this.accept(next ?? EMPTY_ROUTING_STATE);
    } catch (error) {
      // Keep serving the last good state: a bad write must not break the agent.
      diag.warn(`agent-canary: cannot read routing state ${path}; keeping version ${this.state.version}`, error);
    }
  }

  private accept(next: RoutingState): void {
    const previous = this.state;
    if (next.version === previous.version && next === previous) return;
    this.state = next;
    const flagsChanged = Object.keys({ ...previous.flags, ...next.flags }).filter(
      (key) => JSON.stringify(previous.flags[key]) !== JSON.stringify(next.flags[key]),
    );
    if (flagsChanged.length > 0) {
      this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged, metadata: { version: next.version } });
    }
  }
}

function details(
  split: RoutingSplit,
  cohort: (typeof COHORT)[keyof typeof COHORT],
  reason: string,
): ResolutionDetails<string> {
  const release = cohort === COHORT.canary ? split.canaryRelease : split.stableRelease;
  return {
    value: release,
    variant: cohort,
    reason,
    flagMetadata: {
      [FLAG_METADATA_COHORT]: cohort,
      [FLAG_METADATA_ROLLOUT_ID]: split.rolloutId,
      [FLAG_METADATA_RELEASE]: release,
      ...(split.version === undefined ? {} : { version: split.version }),
    },
  };
}
