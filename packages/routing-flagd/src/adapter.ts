import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  type ApplyResult,
  assertValidSplit,
  ROUTING_ERROR_CODE,
  type RoutingAdapter,
  RoutingError,
  type RoutingSplit,
  sameSplit,
  withRetry,
} from '@agent-canary/conventions';
import { type FlagdAdapterConfig, type FlagdAdapterOptions, resolveFlagdAdapterConfig } from './config.js';
import { FLAGD_PROVIDER, FLAGD_VERSION_METADATA, flagdFlagFor, splitFromFlagdFlag } from './flag-definition.js';

/** `$schema` of a flag file this adapter creates. */
export const FLAGD_SCHEMA_URL = 'https://flagd.dev/schema/v0/flags.json';

type FlagFile = Record<string, unknown> & { flags: Record<string, unknown> };

/**
 * Routing through a flagd flag file, which flagd providers read from the file (file mode) or
 * get pushed by a `FlagdSyncServer` (sync mode, option `sync`). `apply` replaces the flag's
 * definition atomically (temporary file + rename in the same directory, other flags and keys
 * of the file kept), confirms it by reading the file back and, in sync mode, pushes it to the
 * connected providers; `read` returns exactly what the file says, hand edits included, so the
 * controller can tell a foreign change from its own.
 *
 * `apply` throws a {@link RoutingError} for what retrying within the call cannot fix and an
 * operator can: no permission to write the file's directory (`unauthorized`), a missing
 * directory (`flagNotFound`), a path that is a directory or a file that is not a flag file
 * (`flagShape`). It returns `acknowledged: false` when the read-back kept disagreeing. The
 * controller keeps retrying either way, with back-off, and alerts until the write lands.
 */
export class FlagdRoutingAdapter implements RoutingAdapter {
  /** The resolved configuration. */
  readonly config: FlagdAdapterConfig;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(options: FlagdAdapterOptions = {}) {
    this.config = resolveFlagdAdapterConfig(options);
  }

  /** Writes the split (no write when the file already routes it) and confirms it by reading back. */
  apply(split: RoutingSplit): Promise<ApplyResult> {
    try {
      assertValidSplit(split);
    } catch (error) {
      return Promise.reject(error);
    }
    // Serialised: two concurrent read-modify-writes of one file would lose a change.
    const result = this.writes.then(() => this.applyNow(split));
    this.writes = result.catch(() => undefined);
    return result;
  }

  async read(flagKey: string): Promise<RoutingSplit | undefined> {
    const file = await this.load();
    const flag = file?.flags[flagKey];
    return flag === undefined ? undefined : splitFromFlagdFlag(flagKey, flag);
  }

  /** Waits for writes in progress; in sync mode then stops the sync server (providers reconnect to the next one). */
  async close(): Promise<void> {
    await this.writes;
    await this.config.sync?.close();
  }

  private async applyNow(split: RoutingSplit): Promise<ApplyResult> {
    // A RoutingError (no permission, not a flag file) is one no quick retry will fix: leave at
    // once and let the controller retry later with its longer back-off.
    const isPermanent = (error: unknown) => error instanceof RoutingError;
    const outcome = await withRetry(
      async () => {
        const file = (await this.load()) ?? { $schema: FLAGD_SCHEMA_URL, flags: {} };
        const existing = file.flags[split.flagKey];
        const current = existing === undefined ? undefined : safeSplit(split.flagKey, existing);
        let version = current?.version ?? 0;
        if (current === undefined || !sameSplit(current, split) || current.rolloutId !== split.rolloutId) {
          version = nextVersion(existing);
          const flags = { ...file.flags, [split.flagKey]: flagdFlagFor(split, version) };
          try {
            await this.save({ ...file, flags });
          } catch (error) {
            throw permanentWriteError(error, this.config.path, split.flagKey) ?? error;
          }
        }
        const readBack = await this.read(split.flagKey);
        if (!sameSplit(readBack, split) || readBack?.rolloutId !== split.rolloutId) {
          throw new Error(`read-back of ${this.config.path} does not show the split yet`);
        }
        return version;
      },
      { ...this.config.retry, isPermanent },
    );
    if (!outcome.ok) return { acknowledged: false, attempts: outcome.attempts, reason: String(outcome.error) };
    // Sync mode: the file holds the split; connected providers get it now, not at the next poll.
    await this.config.sync?.refresh();
    const version = outcome.value;
    return { acknowledged: true, acknowledgedAtMillis: this.config.clock(), attempts: outcome.attempts, version };
  }

  private async load(): Promise<FlagFile | undefined> {
    let text: string;
    try {
      text = await readFile(this.config.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      const permanent = permanentWriteError(error, this.config.path, undefined);
      if (permanent !== undefined) throw permanent;
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.flagShape,
        provider: FLAGD_PROVIDER,
        message: `flag file ${this.config.path} is not valid JSON (${(error as Error).message})`,
        cause: error,
      });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw fileShape(this.config.path, 'is not a JSON object');
    }
    const flags = (parsed as Record<string, unknown>)['flags'];
    if (flags === undefined) return { ...(parsed as Record<string, unknown>), flags: {} };
    if (typeof flags !== 'object' || flags === null || Array.isArray(flags)) {
      throw fileShape(this.config.path, 'has a "flags" member that is not an object');
    }
    return parsed as FlagFile;
  }

  private async save(file: FlagFile): Promise<void> {
    const path = this.config.path;
    const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, 'utf8');
      // rename(2) within one directory is atomic: flagd sees the old file or the new one, never half of one.
      await rename(temporary, path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }
}

/**
 * Creates the flagd routing adapter.
 *
 * @example
 * const routing = createFlagdAdapter({ path: '/etc/flagd/flags.json' });
 * await routing.apply({ flagKey: 'agent-release', rolloutId: 'r1', canaryRelease: 'v2', stableRelease: 'v1', canaryBasisPoints: 500, controlBasisPoints: 500 });
 */
export function createFlagdAdapter(options: FlagdAdapterOptions = {}): FlagdRoutingAdapter {
  return new FlagdRoutingAdapter(options);
}

function safeSplit(flagKey: string, flag: unknown): RoutingSplit | undefined {
  try {
    return splitFromFlagdFlag(flagKey, flag);
  } catch {
    // A flag of a foreign shape is replaced: the controller checked for hand edits before deciding to write.
    return undefined;
  }
}

function nextVersion(flag: unknown): number {
  const metadata =
    typeof flag === 'object' && flag !== null ? (flag as Record<string, unknown>)['metadata'] : undefined;
  const previous =
    typeof metadata === 'object' && metadata !== null
      ? (metadata as Record<string, unknown>)[FLAGD_VERSION_METADATA]
      : 0;
  return (typeof previous === 'number' && Number.isFinite(previous) ? previous : 0) + 1;
}

function permanentWriteError(error: unknown, path: string, flagKey: string | undefined): RoutingError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new RoutingError({
      code: ROUTING_ERROR_CODE.unauthorized,
      provider: FLAGD_PROVIDER,
      ...(flagKey === undefined ? {} : { flagKey }),
      message: `no permission to read and replace flag file ${path} (${code}); the controller needs write access to its directory`,
      cause: error,
    });
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new RoutingError({
      code: ROUTING_ERROR_CODE.flagNotFound,
      provider: FLAGD_PROVIDER,
      ...(flagKey === undefined ? {} : { flagKey }),
      message: `directory of flag file ${path} does not exist (${code})`,
      cause: error,
    });
  }
  if (code === 'EISDIR') {
    return new RoutingError({
      code: ROUTING_ERROR_CODE.flagShape,
      provider: FLAGD_PROVIDER,
      ...(flagKey === undefined ? {} : { flagKey }),
      message: `flag file ${path} is a directory, not a flag file (${code}); replace it with the flag file flagd reads`,
      cause: error,
    });
  }
  return undefined;
}

function fileShape(path: string, message: string): RoutingError {
  return new RoutingError({
    code: ROUTING_ERROR_CODE.flagShape,
    provider: FLAGD_PROVIDER,
    message: `flag file ${path} ${message}`,
  });
}
