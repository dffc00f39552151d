import { readFile } from 'node:fs/promises';
import { ConfigError, hashPrompt } from '@agent-canary/conventions';
import {
  createRelease,
  listReleases,
  type ModelParameterValue,
  type PromptReference,
  RELEASE_STATUS,
  type ReleaseRecord,
  type ReleaseStatus,
  showRelease,
} from '@agent-canary/monitor';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { CliFailure, createOutput, formatTable } from '../output.js';
import { type CommandContext, resolveActor, resolvePath, resolveStorePath, withControllerStore } from './context.js';

/** Options of `release create`. */
export interface ReleaseCreateOptions {
  readonly id: string;
  readonly model: string;
  /** File holding the prompt (template) text; its hash is recorded, not the text. */
  readonly promptFile?: string;
  /** Prompt hash, when the text is not at hand (e.g. `sha256:0123456789abcdef`). */
  readonly promptHash?: string;
  readonly provider?: string;
  /** `key=value` model parameters; numbers and `true`/`false` are typed. @default [] */
  readonly params?: readonly string[];
  readonly promptName?: string;
  readonly promptVersion?: number;
  readonly promptLabel?: string;
  readonly description?: string;
  /** Register it as the release already serving everyone (the first release of an agent). */
  readonly stable?: boolean;
  readonly store?: string;
  readonly actor?: string;
  readonly json: boolean;
}

/** Options of `release list`. */
export interface ReleaseListOptions {
  readonly status?: ReleaseStatus;
  readonly flag?: string;
  readonly store?: string;
  readonly json: boolean;
}

/** Options of `release show`. */
export interface ReleaseShowOptions {
  readonly flag?: string;
  readonly store?: string;
  readonly json: boolean;
}

/**
 * Parses `key=value` into a model parameter: `0.2` is a number, `true`/`false` a boolean,
 * anything else (including an empty value) a string.
 * @throws ConfigError naming `--param` when there is no `=` or no key
 */
export function parseModelParameter(text: string): [string, ModelParameterValue] {
  const equals = text.indexOf('=');
  const key = equals > 0 ? text.slice(0, equals).trim() : '';
  if (key === '')
    throw new ConfigError({ path: '--param', expected: 'key=value, e.g. temperature=0.2', received: text });
  const raw = text.slice(equals + 1).trim();
  if (raw === 'true' || raw === 'false') return [key, raw === 'true'];
  const number = Number(raw);
  return [key, raw !== '' && Number.isFinite(number) ? number : raw];
}

/** `release create`: registers a release (prompt hash, model, parameters) in the controller's registry. */
export async function releaseCreate(context: CommandContext, options: ReleaseCreateOptions): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  if ((options.promptFile === undefined) === (options.promptHash === undefined)) {
    throw new CliFailure(
      'usage',
      'a release needs its prompt: pass --prompt-file <file> (hashed here) or --prompt-hash <hash>, not both',
      EXIT_CODE.usage,
    );
  }
  const promptHash =
    options.promptHash ?? hashPrompt(await readFile(resolvePath(context, options.promptFile ?? ''), 'utf8'));
  const parameters = Object.fromEntries((options.params ?? []).map(parseModelParameter));
  const prompt = promptReference(options);
  const release = await withControllerStore(resolveStorePath(context, options.store), { create: true }, async (store) =>
    createRelease(
      store,
      {
        id: options.id,
        model: options.model,
        promptHash,
        parameters,
        ...(prompt === undefined ? {} : { prompt }),
        ...(options.provider === undefined ? {} : { provider: options.provider }),
        ...(options.description === undefined ? {} : { description: options.description }),
        ...(options.stable ? { status: RELEASE_STATUS.stable } : {}),
      },
      { actor: resolveActor(context, options.actor), clock: context.now },
    ),
  );
  output.result(
    { ok: true, release },
    `registered release ${release.id} (${release.status})\n${formatConfig(release)}`,
  );
  return EXIT_CODE.ok;
}

function promptReference(options: ReleaseCreateOptions): PromptReference | undefined {
  if (options.promptName === undefined) {
    if (options.promptVersion !== undefined || options.promptLabel !== undefined) {
      throw new CliFailure('usage', '--prompt-version and --prompt-label need --prompt-name', EXIT_CODE.usage);
    }
    return undefined;
  }
  return {
    name: options.promptName,
    ...(options.promptVersion === undefined ? {} : { version: options.promptVersion }),
    ...(options.promptLabel === undefined ? {} : { label: options.promptLabel }),
  };
}

/** `release list`: every registered release with its current status, newest first. */
export async function releaseList(context: CommandContext, options: ReleaseListOptions): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const releases = await withControllerStore(
    resolveStorePath(context, options.store),
    { create: false },
    async (store) =>
      listReleases(store, {
        ...(options.status === undefined ? {} : { status: options.status }),
        ...(options.flag === undefined ? {} : { flagKey: options.flag }),
      }),
  );
  output.result({ ok: true, releases }, formatReleaseList(releases, context.now()));
  return EXIT_CODE.ok;
}

/** `release show`: one release's configuration and status history (exit 3 when unknown). */
export async function releaseShow(context: CommandContext, id: string, options: ReleaseShowOptions): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const release = await withControllerStore(
    resolveStorePath(context, options.store),
    { create: false },
    async (store) => showRelease(store, id, options.flag === undefined ? {} : { flagKey: options.flag }),
  );
  if (release === undefined) {
    throw new CliFailure(
      'release_not_found',
      `no release with id ${JSON.stringify(id)} in the store`,
      EXIT_CODE.runtime,
    );
  }
  output.result({ ok: true, release }, formatRelease(release));
  return EXIT_CODE.ok;
}

function formatParameters(parameters: Readonly<Record<string, ModelParameterValue>>): string {
  const entries = Object.entries(parameters);
  return entries.length === 0 ? '-' : entries.map(([key, value]) => `${key}=${String(value)}`).join(' ');
}

function formatPrompt(prompt: PromptReference | undefined): string {
  if (prompt === undefined) return '';
  const at = [
    prompt.version === undefined ? undefined : `version ${prompt.version}`,
    prompt.label === undefined ? undefined : `label ${prompt.label}`,
  ].filter((part) => part !== undefined);
  return ` (${prompt.name}${at.length > 0 ? `, ${at.join(', ')}` : ''})`;
}

function formatConfig(release: ReleaseRecord): string {
  return [
    `  model       ${release.model}${release.provider === undefined ? '' : ` (${release.provider})`}`,
    `  prompt      ${release.promptHash}${formatPrompt(release.prompt)}`,
    `  parameters  ${formatParameters(release.parameters)}`,
    ...(release.description === undefined ? [] : [`  description ${release.description}`]),
  ].join('\n');
}

/** Human-readable view of one release and its status history. */
export function formatRelease(release: ReleaseRecord): string {
  const history = release.statusHistory.map(
    (change) =>
      `  ${new Date(change.atMillis).toISOString()}  ${change.status.padEnd(11)} ${change.actor}: ${change.reason}` +
      (change.rolloutId === undefined ? '' : ` (rollout ${change.rolloutId})`),
  );
  return [
    `release     ${release.id} (${release.status})`,
    formatConfig(release),
    `  created     ${new Date(release.createdAtMillis).toISOString()} by ${release.createdBy}`,
    'history',
    ...history,
  ].join('\n');
}

/** Human-readable table of releases. */
export function formatReleaseList(releases: readonly ReleaseRecord[], nowMillis: number): string {
  if (releases.length === 0) return 'no releases in the store\n';
  const rows = [
    ['ID', 'STATUS', 'MODEL', 'PROMPT', 'CREATED'],
    ...releases.map((release) => [
      release.id,
      release.status,
      release.model,
      release.prompt === undefined
        ? release.promptHash
        : `${release.prompt.name}${release.prompt.version === undefined ? '' : `@${release.prompt.version}`}`,
      ageOf(nowMillis - release.createdAtMillis),
    ]),
  ];
  return formatTable(rows);
}

function ageOf(millis: number): string {
  const minutes = Math.max(0, Math.round(millis / 60_000));
  if (minutes < 90) return `${minutes}m ago`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours}h ago` : `${Math.round(hours / 24)}d ago`;
}
