import type { RolloutRecord, RolloutStore } from '@agent-canary/controller';
import { ROLLOUT_PHASE } from '@agent-canary/controller';
import { ConfigError } from '@agent-canary/conventions';
import {
  type ModelParameterValue,
  RELEASE_STATUS,
  type ReleaseConfiguration,
  type ReleaseOptions,
  type ReleaseRecord,
  type ReleaseStatus,
  type ReleaseStatusChange,
  type StoredRelease,
} from './types.js';

/** Who and when of a registry write. */
export interface RegistryWriteOptions {
  /** @default 'cli' */
  readonly actor?: string;
  /** Epoch-milliseconds clock. @default Date.now */
  readonly clock?: () => number;
}

/** Registry actor of changes derived from rollouts. */
const CONTROLLER = 'controller';

const RELEASE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$/;

/**
 * Validates release options and returns the configuration to store.
 * @throws ConfigError naming the offending field.
 */
export function resolveReleaseOptions(options: ReleaseOptions): ReleaseConfiguration & { description?: string } {
  if (typeof options.id !== 'string' || !RELEASE_ID.test(options.id)) {
    throw new ConfigError({
      path: 'id',
      expected: 'a release id of 1-128 letters, digits and ._:@/+- starting with a letter or digit',
      received: options.id,
    });
  }
  requireText(options.promptHash, 'promptHash', 'the hash of the prompt text (e.g. sha256 hex)');
  requireText(options.model, 'model', 'the model name sent to the provider');
  if (options.provider !== undefined) requireText(options.provider, 'provider', 'a provider name');
  if (options.prompt !== undefined) {
    requireText(options.prompt.name, 'prompt.name', 'the prompt name');
    if (
      options.prompt.version !== undefined &&
      !(Number.isInteger(options.prompt.version) && options.prompt.version > 0)
    )
      throw new ConfigError({
        path: 'prompt.version',
        expected: 'a positive integer',
        received: options.prompt.version,
      });
    if (options.prompt.label !== undefined) requireText(options.prompt.label, 'prompt.label', 'a prompt label');
  }
  const parameters: Record<string, ModelParameterValue> = {};
  for (const [key, value] of Object.entries(options.parameters ?? {})) {
    const ok =
      typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
    if (!ok)
      throw new ConfigError({
        path: `parameters.${key}`,
        expected: 'a string, finite number or boolean',
        received: value,
      });
    parameters[key] = value;
  }
  if (
    options.status !== undefined &&
    options.status !== RELEASE_STATUS.draft &&
    options.status !== RELEASE_STATUS.stable
  ) {
    throw new ConfigError({ path: 'status', expected: "'draft' or 'stable'", received: options.status });
  }
  return {
    id: options.id,
    promptHash: options.promptHash,
    ...(options.prompt === undefined ? {} : { prompt: { ...options.prompt } }),
    model: options.model,
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    parameters,
    ...(options.description === undefined ? {} : { description: options.description }),
  };
}

function requireText(value: unknown, path: string, expected: string): void {
  if (typeof value !== 'string' || value.trim() === '')
    throw new ConfigError({ path, expected: `${expected} (non-empty)`, received: value });
}

/**
 * Registers a release (`agent-canary release create`). Its status starts as `draft`
 * (or `stable` for the release already serving everyone) and then follows the rollouts
 * that name it.
 *
 * @throws ConfigError for invalid options or an id already registered.
 * @example
 * createRelease(store, { id: 'v2', promptHash: sha256(prompt), model: 'gpt-4.1', parameters: { temperature: 0.2 } });
 */
export function createRelease(
  store: RolloutStore,
  options: ReleaseOptions,
  write: RegistryWriteOptions = {},
): ReleaseRecord {
  const resolved = resolveReleaseOptions(options);
  if (store.getRelease<StoredRelease>(resolved.id) !== undefined) {
    throw new ConfigError({ path: 'id', expected: 'an id not registered yet', received: resolved.id });
  }
  const now = (write.clock ?? Date.now)();
  const actor = write.actor ?? 'cli';
  const status = options.status ?? RELEASE_STATUS.draft;
  store.insertRelease(
    { ...resolved, createdAtMillis: now, createdBy: actor },
    {
      status,
      atMillis: now,
      actor,
      reason: status === RELEASE_STATUS.stable ? 'registered as the serving release' : 'registered',
    },
  );
  return showReleaseOrThrow(store, resolved.id);
}

/** Options of {@link listReleases}. */
export interface ListReleasesOptions {
  /** Keep releases whose current status is this one. */
  readonly status?: ReleaseStatus;
  /** Only derive statuses from rollouts of this flag. @default every flag */
  readonly flagKey?: string;
}

/** Every registered release with its current status, newest first (`agent-canary release list`). */
export function listReleases(store: RolloutStore, options: ListReleasesOptions = {}): ReleaseRecord[] {
  const rollouts = store.listRollouts(options.flagKey === undefined ? {} : { flagKey: options.flagKey });
  return store
    .listStoredReleases<StoredRelease>()
    .map((release) => withStatus(release, store.releaseEvents<ReleaseStatus>(release.id), rollouts))
    .filter((release) => options.status === undefined || release.status === options.status);
}

/** One release with its status history, or undefined (`agent-canary release show <id>`). */
export function showRelease(
  store: RolloutStore,
  id: string,
  options: { readonly flagKey?: string } = {},
): ReleaseRecord | undefined {
  const release = store.getRelease<StoredRelease>(id);
  if (release === undefined) return undefined;
  const rollouts = store.listRollouts(options.flagKey === undefined ? {} : { flagKey: options.flagKey });
  return withStatus(release, store.releaseEvents<ReleaseStatus>(id), rollouts);
}

function showReleaseOrThrow(store: RolloutStore, id: string): ReleaseRecord {
  const record = showRelease(store, id);
  if (record === undefined) throw new Error(`release ${id} vanished after insert`);
  return record;
}

/**
 * Records a status change by hand (e.g. `stable` for a release deployed outside a
 * rollout). Rollout-driven changes need no call: they are read from the rollouts.
 * Returns undefined when the release is not registered.
 */
export function markRelease(
  store: RolloutStore,
  id: string,
  change: { readonly status: ReleaseStatus; readonly reason: string },
  write: RegistryWriteOptions = {},
): ReleaseRecord | undefined {
  if (store.getRelease<StoredRelease>(id) === undefined) return undefined;
  store.appendReleaseEvent(id, {
    status: change.status,
    reason: change.reason,
    atMillis: (write.clock ?? Date.now)(),
    actor: write.actor ?? 'cli',
  });
  return showRelease(store, id);
}

/**
 * The release serving everyone outside a canary for `flagKey`: whichever came last of
 * the newest promoted rollout's canary release and the newest release registered or
 * marked `stable` by hand; else the stable release of the newest rollout. Undefined when
 * nothing says.
 */
export function currentStableRelease(
  store: RolloutStore,
  flagKey?: string,
): { readonly release: string; readonly sinceMillis: number; readonly rolloutId?: string } | undefined {
  const rollouts = store.listRollouts(flagKey === undefined ? {} : { flagKey });
  const candidates: { release: string; sinceMillis: number; rolloutId?: string }[] = [];
  for (const rollout of rollouts) {
    if (rollout.state.phase === ROLLOUT_PHASE.promoted)
      candidates.push({ release: rollout.config.canaryRelease, sinceMillis: endOf(rollout), rolloutId: rollout.id });
  }
  for (const release of store.listStoredReleases<StoredRelease>()) {
    for (const event of store.releaseEvents<ReleaseStatus>(release.id)) {
      if (event.status === RELEASE_STATUS.stable) candidates.push({ release: release.id, sinceMillis: event.atMillis });
    }
  }
  const latest = candidates.sort((a, b) => b.sinceMillis - a.sinceMillis)[0];
  if (latest !== undefined) return latest;
  const newest = rollouts[0];
  return newest === undefined
    ? undefined
    : { release: newest.config.stableRelease, sinceMillis: newest.createdAtMillis };
}

/**
 * A reader of release configurations for the agent app (`ReleaseConfigReader` of
 * `@agent-canary/instrumentation` is satisfied structurally): the app resolves its
 * assigned release id to the prompt and model it must use.
 *
 * @example
 * const config = await resolveReleaseConfig(client, 'agent.release', userId, { source: { registry: releaseConfigReader(store) } });
 */
export function releaseConfigReader(store: RolloutStore): {
  getReleaseConfig(id: string): ReleaseConfiguration | undefined;
} {
  return {
    getReleaseConfig(id) {
      const release = store.getRelease<StoredRelease>(id);
      if (release === undefined) return undefined;
      return {
        id: release.id,
        promptHash: release.promptHash,
        ...(release.prompt === undefined ? {} : { prompt: release.prompt }),
        model: release.model,
        ...(release.provider === undefined ? {} : { provider: release.provider }),
        parameters: release.parameters,
      };
    },
  };
}

function endOf(rollout: RolloutRecord): number {
  return rollout.state.endedAtMillis ?? rollout.state.updatedAtMillis;
}

/** Merges recorded events with the statuses implied by rollouts, oldest first, repeats collapsed. */
function withStatus(
  release: StoredRelease,
  recorded: readonly ReleaseStatusChange[],
  rollouts: readonly RolloutRecord[],
): ReleaseRecord {
  const events: ReleaseStatusChange[] = [...recorded];
  for (const rollout of rollouts) {
    const { state, config } = rollout;
    const started = state.startedAtMillis;
    if (config.canaryRelease === release.id && started !== undefined) {
      events.push({
        status: RELEASE_STATUS.canary,
        atMillis: started,
        reason: 'rollout started',
        actor: CONTROLLER,
        rolloutId: rollout.id,
      });
      const final =
        state.phase === ROLLOUT_PHASE.promoted
          ? RELEASE_STATUS.stable
          : state.phase === ROLLOUT_PHASE.rolledBack
            ? RELEASE_STATUS.rolledBack
            : state.phase === ROLLOUT_PHASE.aborted
              ? RELEASE_STATUS.draft
              : undefined;
      if (final !== undefined)
        events.push({
          status: final,
          atMillis: endOf(rollout),
          reason: `rollout ${state.phase}: ${state.reason}`,
          actor: CONTROLLER,
          rolloutId: rollout.id,
        });
    }
    if (config.stableRelease === release.id && started !== undefined) {
      events.push({
        status: RELEASE_STATUS.stable,
        atMillis: started,
        reason: 'stable release of a rollout',
        actor: CONTROLLER,
        rolloutId: rollout.id,
      });
      if (state.phase === ROLLOUT_PHASE.promoted)
        events.push({
          status: RELEASE_STATUS.retired,
          atMillis: endOf(rollout),
          reason: `replaced by ${config.canaryRelease}`,
          actor: CONTROLLER,
          rolloutId: rollout.id,
        });
    }
  }
  // Stable sort: at equal times, recorded events (registration) stay before derived ones.
  events.sort((a, b) => a.atMillis - b.atMillis);
  const history: ReleaseStatusChange[] = [];
  for (const event of events) if (history.at(-1)?.status !== event.status) history.push(event);
  return { ...release, status: history.at(-1)?.status ?? RELEASE_STATUS.draft, statusHistory: history };
}
