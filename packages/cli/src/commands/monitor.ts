import { type Notifier, prometheusSource, webhookNotifier } from '@agent-canary/controller';
import { envValue } from '@agent-canary/conventions';
import type { MetricSource } from '@agent-canary/gate';
import {
  type BehaviorMonitor,
  createBehaviorMonitor,
  type MonitorStatus,
  type MonitorTickResult,
  metricBehaviorSource,
  OUTSIDE_ROLLOUTS_PROMETHEUS_SELECTOR,
  SIGNAL_STATUS,
} from '@agent-canary/monitor';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { CliFailure, createOutput } from '../output.js';
import { type CommandContext, resolveActor, resolveStorePath, withControllerStore } from './context.js';

/** Environment variable naming the Prometheus query API the standalone monitor reads. */
export const PROMETHEUS_URL_ENV = 'AGENT_CANARY_PROMETHEUS_URL';

/** Options of `monitor`. */
export interface MonitorCommandOptions {
  /** Follow the promotions of this release flag. */
  readonly flag?: string;
  /** Watch this release instead of the store's stable release. */
  readonly release?: string;
  readonly windowMillis?: number;
  readonly baselineMillis?: number;
  /** Time between ticks of the loop. */
  readonly intervalMillis?: number;
  readonly webhook?: string;
  /** Prometheus HTTP API base URL (env `AGENT_CANARY_PROMETHEUS_URL`). */
  readonly prometheus?: string;
  /** Run one tick, print it and exit. */
  readonly once: boolean;
  /** Freeze a baseline from the last `baselineMillis` now, then exit. */
  readonly freezeBaseline: boolean;
  readonly reason?: string;
  readonly actor?: string;
  readonly store?: string;
  readonly json: boolean;
}

/**
 * The monitor's source: the injected metric source, else the Prometheus HTTP API at `url`,
 * read on the series outside rollouts (each user of a release counted once per subject
 * period, whichever rollout serves it). `--window` is the subject period of the
 * processors that export the metrics, which the monitor's windows must equal.
 */
function behaviorSource(
  source: MetricSource | undefined,
  url: string | undefined,
  flagKey: string | undefined,
  subjectPeriodMillis: number | undefined,
) {
  if (source === undefined && url === undefined) {
    throw new CliFailure(
      'missing_config',
      `the standalone monitor reads metrics from Prometheus: pass --prometheus <url> or set ${PROMETHEUS_URL_ENV}`,
      EXIT_CODE.usage,
    );
  }
  return metricBehaviorSource(
    source ?? prometheusSource({ url: url ?? '', selector: OUTSIDE_ROLLOUTS_PROMETHEUS_SELECTOR }),
    {
      ...(flagKey === undefined ? {} : { flagKey }),
      ...(subjectPeriodMillis === undefined ? {} : { subjectPeriodMillis }),
    },
  );
}

/**
 * `monitor`: the continuous behaviour monitor of the stable release, standalone. With
 * `--once` it ticks once and exits 1 when a drift alert is open; with `--freeze-baseline`
 * it accepts the current behaviour as the new normal; otherwise it ticks every
 * `--interval` until stopped, printing one line (or one JSON document) per tick.
 */
export async function monitorCommand(
  context: CommandContext,
  options: MonitorCommandOptions,
  source?: MetricSource,
): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  if (options.freezeBaseline && options.reason === undefined) {
    throw new CliFailure('usage', '--freeze-baseline needs --reason <text> (kept with the baseline)', EXIT_CODE.usage);
  }
  const prometheusUrl = options.prometheus ?? envValue(context.io.env[PROMETHEUS_URL_ENV]);
  const monitorSource = behaviorSource(source, prometheusUrl, options.flag, options.windowMillis);
  const notifiers: Notifier[] = options.webhook ? [webhookNotifier({ url: options.webhook })] : [];
  return withControllerStore(resolveStorePath(context, options.store), { create: true }, async (store) => {
    const monitor = createBehaviorMonitor({
      store,
      source: monitorSource,
      notifiers,
      clock: context.now,
      ...(options.flag === undefined ? {} : { flagKey: options.flag }),
      ...(options.release === undefined ? {} : { release: options.release }),
      ...(options.windowMillis === undefined ? {} : { windowMillis: options.windowMillis }),
      ...(options.baselineMillis === undefined ? {} : { baselineMillis: options.baselineMillis }),
      ...(options.intervalMillis === undefined ? {} : { tickIntervalMillis: options.intervalMillis }),
    });
    if (options.freezeBaseline) {
      const frozen = await monitor.freezeBaseline({
        actor: resolveActor(context, options.actor),
        reason: options.reason ?? '',
      });
      const status = monitor.status();
      output.result(
        frozen.ok
          ? { ok: true, status }
          : { ok: false, error: { code: 'baseline_refused', message: frozen.reason }, status },
        frozen.ok
          ? `froze the baseline of ${frozen.baseline.release}: ${frozen.baseline.window.users} users ` +
              `(${frozen.baseline.window.turns} turns) from ` +
              `${iso(frozen.baseline.sinceMillis)} to ${iso(frozen.baseline.untilMillis)}`
          : `baseline not frozen: ${frozen.reason}`,
      );
      return frozen.ok ? EXIT_CODE.ok : EXIT_CODE.rolledBack;
    }
    if (options.once) {
      const tick = await monitor.tick();
      const status = monitor.status();
      output.result({ ok: true, tick, status }, formatMonitor(tick, status, context.now()));
      return status.openAlerts.length > 0 ? EXIT_CODE.rolledBack : EXIT_CODE.ok;
    }
    return loop(context, monitor, options);
  });
}

async function loop(
  context: CommandContext,
  monitor: BehaviorMonitor,
  options: MonitorCommandOptions,
): Promise<ExitCode> {
  const shutdown = context.shutdown;
  const output = createOutput(context.io, options.json);
  output.note(
    `monitoring ${monitor.config.release ?? monitor.config.flagKey ?? 'the stable release'} every ` +
      `${Math.round(monitor.config.tickIntervalMillis / 1000)}s (monitor id ${monitor.config.monitorId}); Ctrl-C stops`,
  );
  while (!shutdown?.aborted) {
    const tick = await monitor.tick();
    const status = monitor.status();
    // A long-running command cannot print one document at the end: one compact JSON document per tick.
    if (options.json) context.io.stdout(`${JSON.stringify({ ok: true, tick, status })}\n`);
    else context.io.stdout(formatTickLine(tick, status, context.now()));
    if (shutdown?.aborted) break;
    await context.sleep(monitor.config.tickIntervalMillis, shutdown);
  }
  await monitor.idle();
  return monitor.status().openAlerts.length > 0 ? EXIT_CODE.rolledBack : EXIT_CODE.ok;
}

function iso(millis: number): string {
  return new Date(millis).toISOString();
}

function formatTickLine(tick: MonitorTickResult, status: MonitorStatus, nowMillis: number): string {
  const alarms = tick.evaluations.filter((evaluation) => evaluation.status === SIGNAL_STATUS.alarm);
  const raised = tick.raised.map((alert) => `ALERT ${alert.signal}: ${alert.evidence.reason}`);
  return (
    `${iso(nowMillis)}  ${tick.phase}${tick.release === undefined ? '' : ` ${tick.release}`}  ` +
    `${alarms.length} alarming, ${status.openAlerts.length} open alert(s)  ${tick.reason}\n` +
    raised.map((line) => `  ${line}\n`).join('')
  );
}

/** Human-readable result of one tick and the monitor's status. */
export function formatMonitor(tick: MonitorTickResult, status: MonitorStatus, nowMillis: number): string {
  const lines = [
    `monitor   ${status.monitorId}`,
    `phase     ${tick.phase}${tick.release === undefined ? '' : `, release ${tick.release}`}: ${tick.reason}`,
  ];
  if (status.baseline) {
    lines.push(
      `baseline  ${status.baseline.users} users (${status.baseline.turns} turns), ` +
        `${iso(status.baseline.sinceMillis)} to ${iso(status.baseline.untilMillis)} ` +
        `(${status.baseline.actor}: ${status.baseline.reason})`,
    );
  }
  if (tick.window)
    lines.push(`window    ${iso(tick.window.sinceMillis)} to ${iso(Math.min(tick.window.untilMillis, nowMillis))}`);
  for (const evaluation of tick.evaluations)
    lines.push(`  ${evaluation.status.padEnd(10)} ${evaluation.signal}: ${evaluation.reason}`);
  lines.push(`alerts    ${status.openAlerts.length} open`);
  for (const alert of status.openAlerts) {
    lines.push(`  ${alert.signal} since ${iso(alert.evidence.firstSeenAtMillis)}: ${alert.evidence.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
