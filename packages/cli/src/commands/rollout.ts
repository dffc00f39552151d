import type { CheckEvidence } from '@agent-canary/gate';
import { loadRolloutDefinition } from '../config.js';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { CliFailure, createOutput, formatTable } from '../output.js';
import { createProgress } from '../progress.js';
import { type ManualAction, ROLLOUT_OUTCOME, type RolloutSummary } from '../store.js';
import {
  type CommandContext,
  ENV,
  optionalDefinition,
  resolveActor,
  resolvePath,
  resolveStorePath,
  withStore,
} from './context.js';

/** Options of `rollout start`. */
export interface RolloutStartOptions {
  readonly config?: string;
  readonly store?: string;
  readonly actor?: string;
  readonly json: boolean;
}

/** Options of `rollout status`. */
export interface RolloutStatusOptions {
  readonly store?: string;
  readonly json: boolean;
  /** Poll until the rollout ends, showing progress on a terminal. */
  readonly watch: boolean;
  /** Poll interval of `--watch`. */
  readonly intervalMillis: number;
  /** Give up watching after this long (exit 3). */
  readonly timeoutMillis?: number;
}

/** Options of the manual actions (`pause`, `resume`, `promote`, `rollback`, `abort`, `approve`). */
export interface RolloutActionOptions {
  /** Definition file: tells which routing provider and webhook the action uses. */
  readonly config?: string;
  readonly store?: string;
  readonly actor?: string;
  readonly reason: string;
  readonly json: boolean;
}

/** Exit code for a rollout's state: 1 once it rolled back or was aborted, 0 otherwise. */
export function exitCodeOf(rollout: RolloutSummary): ExitCode {
  return rollout.outcome === ROLLOUT_OUTCOME.rolledBack || rollout.outcome === ROLLOUT_OUTCOME.aborted
    ? EXIT_CODE.rolledBack
    : EXIT_CODE.ok;
}

/** `rollout start`: validates the definition file and starts the rollout in the store. */
export async function rolloutStart(context: CommandContext, options: RolloutStartOptions): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const configPath = options.config ?? context.io.env[ENV.config];
  if (!configPath) {
    throw new CliFailure(
      'missing_config',
      `a rollout definition is required: pass --config <file> or set ${ENV.config}`,
      EXIT_CODE.usage,
    );
  }
  const definition = await loadRolloutDefinition(resolvePath(context, configPath), context.io.env);
  const storePath = resolveStorePath(context, options.store, definition.storePath);
  const actor = resolveActor(context, options.actor);
  const rollout = await withStore(context, storePath, (store) => store.start(definition, actor), {
    definition,
    create: true,
  });
  output.result(
    { ok: !rollout.routingPending, rollout, ...pendingError(rollout) },
    `started rollout ${rollout.id}: ${rollout.canaryRelease} at ${rollout.canaryPercent}% ` +
      `(step ${rollout.stepIndex + 1}/${rollout.stepCount}), stable ${rollout.stableRelease}` +
      pendingText(rollout),
  );
  return rollout.routingPending ? EXIT_CODE.runtime : EXIT_CODE.ok;
}

/** Why a write is pending and what happens next, for a rollout whose split the flag system has not acknowledged. */
function pendingMessage(rollout: RolloutSummary): string {
  const routing = rollout.routing;
  const still = routing?.routed === undefined ? '' : ` It still routes ${formatRouted(routing.routed)}.`;
  const error = routing?.lastError === undefined ? '' : ` Last error: ${routing.lastError}.`;
  const ended = rollout.outcome === ROLLOUT_OUTCOME.rolledBack || rollout.outcome === ROLLOUT_OUTCOME.aborted;
  return (
    `the flag system has not acknowledged the new split (canary ${rollout.canaryPercent}%) yet.${still}${error} ` +
    'The process running the controller (serve, or your app) retries it with back-off and alerts until it lands' +
    (ended ? `; \`rollout rollback ${rollout.id}\` writes it again from here.` : '.')
  );
}

function pendingError(rollout: RolloutSummary | undefined) {
  return rollout?.routingPending
    ? { error: { code: 'routing_not_acknowledged', message: pendingMessage(rollout) } }
    : {};
}

function pendingText(rollout: RolloutSummary | undefined): string {
  return rollout?.routingPending ? `\nwarning: ${pendingMessage(rollout)}` : '';
}

/** `canary 20%, control 20% (read back 5s ago)` */
function formatRouted(routed: NonNullable<RolloutSummary['routing']>['routed'], nowMillis?: number): string {
  if (routed === undefined) return 'an unknown split';
  const shares = `canary ${routed.canaryBasisPoints / 100}%, control ${routed.controlBasisPoints / 100}%`;
  if (routed.source === 'acknowledged') return `${shares} (the last split it acknowledged)`;
  const age =
    nowMillis === undefined || routed.atMillis === undefined ? '' : ` ${formatAge(nowMillis - routed.atMillis)}`;
  return `${shares} (read back${age})`;
}

/** `rolled_back — routing pending` while the flag system has not acknowledged the split, else the state. */
function stateText(rollout: RolloutSummary): string {
  const state = rollout.outcome ?? rollout.state;
  return rollout.routingPending ? `${state} — routing pending` : state;
}

/** `rollout status`: one rollout (optionally watched until it ends), or every rollout. */
export async function rolloutStatus(
  context: CommandContext,
  rolloutId: string | undefined,
  options: RolloutStatusOptions,
): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const storePath = resolveStorePath(context, options.store);
  return withStore(context, storePath, async (store) => {
    if (rolloutId === undefined) {
      if (options.watch) throw new CliFailure('usage', '--watch needs a rollout id', EXIT_CODE.usage);
      const rollouts = await store.list();
      output.result({ ok: true, rollouts }, formatRolloutList(rollouts, context.now()));
      return EXIT_CODE.ok;
    }
    let rollout = await store.get(rolloutId);
    if (!rollout) throw notFound(rolloutId);
    if (options.watch) {
      const progress = createProgress({
        write: context.io.stdout,
        isTTY: context.io.isTTY,
        json: options.json,
        ...(context.io.columns ? { columns: context.io.columns } : {}),
      });
      const deadline = options.timeoutMillis === undefined ? undefined : context.now() + options.timeoutMillis;
      try {
        while (rollout.outcome === undefined) {
          progress.update(progressOf(rollout));
          if (deadline !== undefined && context.now() >= deadline) {
            throw new CliFailure(
              'watch_timeout',
              `rollout ${rolloutId} is still ${rollout.state} after the --timeout`,
              EXIT_CODE.runtime,
            );
          }
          await context.sleep(options.intervalMillis);
          rollout = (await store.get(rolloutId)) ?? rollout;
        }
      } finally {
        progress.done();
      }
    }
    output.result({ ok: true, rollout }, formatRollout(rollout, context.now()));
    return exitCodeOf(rollout);
  });
}

/** A manual action on a rollout; exit 1 when the controller refuses it. */
export async function rolloutAction(
  context: CommandContext,
  action: ManualAction,
  rolloutId: string,
  options: RolloutActionOptions,
): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const definition = await optionalDefinition(context, options.config);
  const storePath = resolveStorePath(context, options.store, definition?.storePath);
  const actor = resolveActor(context, options.actor);
  const outcome = await withStore(
    context,
    storePath,
    async (store) => {
      if (!(await store.get(rolloutId))) throw notFound(rolloutId);
      return store.act(rolloutId, action, { actor, reason: options.reason });
    },
    definition ? { definition } : {},
  );
  const text = outcome.accepted
    ? `${action}: rollout ${rolloutId} is now ${outcome.rollout?.state ?? 'updated'} (${outcome.reason})`
    : `${action} refused for rollout ${rolloutId}: ${outcome.reason}`;
  const pending = outcome.accepted && outcome.rollout?.routingPending === true;
  output.result(
    { ok: outcome.accepted && !pending, action, actor, ...outcome, ...pendingError(outcome.rollout) },
    text + (outcome.accepted ? pendingText(outcome.rollout) : ''),
  );
  if (!outcome.accepted) return EXIT_CODE.rolledBack;
  return pending ? EXIT_CODE.runtime : EXIT_CODE.ok;
}

function notFound(rolloutId: string): CliFailure {
  return new CliFailure(
    'rollout_not_found',
    `no rollout with id ${JSON.stringify(rolloutId)} in the store`,
    EXIT_CODE.runtime,
  );
}

function progressOf(rollout: RolloutSummary) {
  return {
    label: rollout.state,
    step: rollout.stepIndex + 1,
    stepCount: rollout.stepCount,
    canaryPercent: rollout.canaryPercent,
    requests: rollout.lastResult?.requests ?? {},
    ...(rollout.lastResult ? { verdict: rollout.lastResult.verdict } : {}),
  };
}

function formatAge(millis: number): string {
  const seconds = Math.max(0, Math.round(millis / 1000));
  if (seconds < 90) return `${seconds}s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes}m ago`;
  return `${Math.round(minutes / 60)}h ago`;
}

/** `subject: canary 412 · control 398`: a check's unit and the units behind each arm. */
function unitsOf(check: CheckEvidence): string {
  const samples = (cohort: string) => check.measurements.find((m) => m.cohort === cohort)?.samples;
  const canary = samples('canary');
  const control = samples('control');
  return canary === undefined && control === undefined
    ? check.unit
    : `${check.unit}: canary ${canary ?? '-'} · control ${control ?? '-'}`;
}

/** Human-readable status of one rollout. */
export function formatRollout(rollout: RolloutSummary, nowMillis: number): string {
  const pending = rollout.routingPending ? ' — routing pending' : '';
  const lines = [
    `rollout   ${rollout.id}`,
    `releases  ${rollout.canaryRelease} (canary) vs ${rollout.stableRelease} (stable), flag ${rollout.flagKey}`,
    `state     ${rollout.state}${rollout.outcome && rollout.outcome !== rollout.state ? ` (${rollout.outcome})` : ''}${pending}, step ${rollout.stepIndex + 1}/${rollout.stepCount}, canary ${rollout.canaryPercent}%`,
  ];
  const routing = rollout.routing;
  if (rollout.routingPending) {
    const decided =
      routing?.pendingSinceMillis === undefined ? '' : `decided ${formatAge(nowMillis - routing.pendingSinceMillis)}, `;
    const error = routing?.lastError === undefined ? '' : `; last error: ${routing.lastError}`;
    lines.push(
      `routing   pending: ${decided}not acknowledged by the flag system; it still routes ${formatRouted(routing?.routed, nowMillis)}`,
      `          ${routing?.failedAttempts ?? 0} failed attempts${error}`,
    );
  }
  const result = rollout.lastResult;
  if (result) {
    lines.push(
      `requests  stable ${result.requests.stable} · canary ${result.requests.canary} · control ${result.requests.control}`,
      `verdict   ${result.verdict}: ${result.reason} (${formatAge(nowMillis - result.evaluatedAtMillis)})`,
    );
    lines.push(
      `users     canary ${result.subjects.canary} · control ${result.subjects.control} (the unit of most checks: each user counted in the cohort it entered)`,
    );
    for (const check of result.checks) {
      const observe = check.observeOnly ? ' (observe only)' : '';
      lines.push(`  ${check.verdict.padEnd(12)} ${check.check} [${unitsOf(check)}]${observe}: ${check.reason}`);
    }
  } else {
    lines.push('verdict   not evaluated yet');
  }
  return `${lines.join('\n')}\n`;
}

/** Human-readable table of rollouts. */
export function formatRolloutList(rollouts: readonly RolloutSummary[], nowMillis: number): string {
  if (rollouts.length === 0) return 'no rollouts in the store\n';
  const rows = [
    ['ID', 'STATE', 'STEP', 'CANARY', 'RELEASE', 'VERDICT', 'UPDATED'],
    ...rollouts.map((rollout) => [
      rollout.id,
      stateText(rollout),
      `${rollout.stepIndex + 1}/${rollout.stepCount}`,
      `${rollout.canaryPercent}%`,
      rollout.canaryRelease,
      rollout.lastResult?.verdict ?? '-',
      formatAge(nowMillis - rollout.updatedAtMillis),
    ]),
  ];
  return formatTable(rows);
}
