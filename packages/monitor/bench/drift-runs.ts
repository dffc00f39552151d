/**
 * One run of the monitor's drift benchmark: habitual Zipf users (HabitualTraffic) through
 * the real BehaviorSpanProcessor, read by the real monitor with its default settings, in
 * simulated time. Used by drift.bench.ts, in worker threads (drift-worker.ts).
 */
import { RolloutStore } from '@agent-canary/controller';
import { BehaviorSpanProcessor } from '@agent-canary/processor';
import {
  HABITUAL_TRAFFIC_DEFAULTS,
  HabitualTraffic,
  type HabitualTrafficOptions,
  type TrafficChange,
} from '../src/drift/habitual-traffic.test-helper.js';
import { createBehaviorMonitor, type MonitorSignal, processorBehaviorSource } from '../src/index.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** Start of the first monitoring window (the baseline is the hour before). */
export const START = Date.UTC(2026, 10, 2, 0, 0, 0);

/** The traffic every run uses (its seed aside). */
export const BENCH_TRAFFIC: Omit<HabitualTrafficOptions, 'seed'> = { ...HABITUAL_TRAFFIC_DEFAULTS, sessionUsers: 10 };

/** Processor buckets of the benchmark: 1 min (its default is 10 s); windows are whole hours either way. */
export const BENCH_BUCKET_MILLIS = 60_000;

/** Scenarios of the benchmark. */
export const SCENARIO = {
  unchanged: 'unchanged',
  toolMix: 'tool_mix_10_points',
  refusal: 'refusal_3_to_6',
  latency: 'latency_x1.5',
  tail: 'tail_p95_x1.5',
} as const;
export type Scenario = (typeof SCENARIO)[keyof typeof SCENARIO];

/** What each detection scenario changes, and the signal that should catch it. */
export const CHANGES: Readonly<
  Record<Exclude<Scenario, 'unchanged'>, { change: Omit<TrafficChange, 'atMillis'>; signal: MonitorSignal }>
> = {
  [SCENARIO.toolMix]: { change: { tool: 'search', toolShareMove: -0.1 }, signal: 'tool_mix' },
  [SCENARIO.refusal]: { change: { refusalFactor: 2 }, signal: 'refusal_rate' },
  [SCENARIO.latency]: { change: { latencyFactor: 1.5 }, signal: 'latency' },
  [SCENARIO.tail]: { change: { tailFactor: 1.5 }, signal: 'latency_tail' },
};

/** One task: a scenario, a run index, the horizon and the tick cadence. */
export interface RunTask {
  readonly scenario: Scenario;
  readonly run: number;
  readonly seed: number;
  /** Simulated time watched: after START (unchanged), after the change (detection). */
  readonly horizonMillis: number;
  readonly tickMillis: number;
}

/** An alert a run raised. */
export interface RunAlert {
  readonly signal: MonitorSignal;
  readonly atMillis: number;
}

/** What a run reports. */
export interface RunResult {
  readonly scenario: Scenario;
  readonly run: number;
  /** When the change started (detection scenarios). */
  readonly changeAtMillis?: number;
  /** Minutes from the change to the first alert of the scenario's signal; absent when not caught. */
  readonly delayMinutes?: number;
  readonly alerts: readonly RunAlert[];
  /** Users in each closed window, and those of them with a tool call (the tool mix's users). */
  readonly windowToolUsers: readonly number[];
  readonly windowUsers: readonly number[];
  readonly baselineUsers: number;
  readonly spans: number;
  readonly simulatedMillis: number;
}

/**
 * Runs one task: the baseline hour before START, then windows from START on; in a
 * detection scenario the change starts at a seeded time in the third hour and the run
 * stops at the first alert of the scenario's signal (or at the horizon).
 */
export async function runTask(task: RunTask): Promise<RunResult> {
  const detection = task.scenario === SCENARIO.unchanged ? undefined : CHANGES[task.scenario];
  const changeAtMillis =
    detection === undefined ? undefined : START + 2 * HOUR + Math.floor(((task.seed % 997) / 997) * HOUR);
  const change = detection === undefined ? undefined : { ...detection.change, atMillis: changeAtMillis ?? 0 };
  const traffic = new HabitualTraffic({ ...BENCH_TRAFFIC, seed: task.seed }, START - HOUR, change);
  const processor = new BehaviorSpanProcessor({ now: traffic.now, bucketMillis: BENCH_BUCKET_MILLIS });
  const store = new RolloutStore();
  let now = START;
  const source = processorBehaviorSource(processor);
  const monitor = createBehaviorMonitor({ store, source, clock: () => now, release: 'v1' });
  const alerts: RunAlert[] = [];
  const windowToolUsers: number[] = [];
  const windowUsers: number[] = [];
  let delayMinutes: number | undefined;
  try {
    const endMillis = (changeAtMillis ?? START) + task.horizonMillis;
    for (let at = START; at <= endMillis; at += task.tickMillis) {
      traffic.run(processor, at);
      now = at;
      const result = await monitor.tick();
      if (at % HOUR === 0 && at > START) {
        // Users behind the window that just closed (for the report).
        const closed = await source.read({ release: 'v1', sinceMillis: at - HOUR, untilMillis: at });
        if (closed.ok) {
          windowUsers.push(closed.window.users);
          windowToolUsers.push(Object.values(closed.window.firstTools ?? {}).reduce((a, b) => a + b, 0));
        }
      }
      for (const alert of result.raised) {
        alerts.push({ signal: alert.signal, atMillis: alert.raisedAtMillis });
        if (detection !== undefined && alert.signal === detection.signal && changeAtMillis !== undefined) {
          delayMinutes ??= (alert.raisedAtMillis - changeAtMillis) / MINUTE;
        }
      }
      if (delayMinutes !== undefined) break;
    }
    return {
      scenario: task.scenario,
      run: task.run,
      ...(changeAtMillis === undefined ? {} : { changeAtMillis }),
      ...(delayMinutes === undefined ? {} : { delayMinutes }),
      alerts,
      windowToolUsers,
      windowUsers,
      baselineUsers: monitor.status().baseline?.users ?? 0,
      spans: traffic.spanCount(),
      simulatedMillis: now - START,
    };
  } finally {
    store.close();
  }
}
