/**
 * The stable-release drift monitor over habitual Zipf users: false
 * alerts per run-day over long unchanged runs, and the delay to detect a 10-point move
 * of the tool mix, refusals 3% -> 6%, latency ×1.5 and a tail-only slowdown (p95 and p99
 * ×1.5, median unchanged). Traffic goes through the real BehaviorSpanProcessor and the
 * real monitor with its default settings, in simulated time, on 2 worker threads.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MONITOR_DEFAULTS, MONITOR_SIGNALS, type MonitorSignal } from '../src/index.js';
import {
  BENCH_BUCKET_MILLIS,
  BENCH_TRAFFIC,
  CHANGES,
  HOUR,
  MINUTE,
  type RunResult,
  type RunTask,
  SCENARIO,
  type Scenario,
} from './drift-runs.js';

/** Sizes of the documented run. */
const UNCHANGED_RUNS = 50;
const UNCHANGED_DAYS = 7;
const DETECTION_RUNS: Readonly<Record<Exclude<Scenario, 'unchanged'>, number>> = {
  [SCENARIO.toolMix]: 50,
  [SCENARIO.refusal]: 30,
  [SCENARIO.latency]: 30,
  [SCENARIO.tail]: 30,
};
const UNCHANGED_TICK_MILLIS = 10 * MINUTE;
const DETECTION_TICK_MILLIS = 5 * MINUTE;
const DETECTION_HORIZON_MILLIS = 24 * HOUR;
const SEED = 20_261_204;
const WORKERS = Math.min(2, availableParallelism());

function tasks(): RunTask[] {
  const list: RunTask[] = [];
  for (let run = 0; run < UNCHANGED_RUNS; run += 1) {
    list.push({
      scenario: SCENARIO.unchanged,
      run,
      seed: SEED + run,
      horizonMillis: UNCHANGED_DAYS * 24 * HOUR,
      tickMillis: UNCHANGED_TICK_MILLIS,
    });
  }
  for (const [scenario, runs] of Object.entries(DETECTION_RUNS) as [Exclude<Scenario, 'unchanged'>, number][]) {
    for (let run = 0; run < runs; run += 1) {
      // Each detection run has its own population, apart from the unchanged runs'.
      list.push({
        scenario,
        run,
        seed: SEED + 1000 * (1 + Object.keys(DETECTION_RUNS).indexOf(scenario)) + run,
        horizonMillis: DETECTION_HORIZON_MILLIS,
        tickMillis: DETECTION_TICK_MILLIS,
      });
    }
  }
  // Longest first, so the two workers finish together.
  return list.sort((a, b) => b.horizonMillis - a.horizonMillis);
}

function startWorker(): Worker {
  const source = new URL('./drift-worker.ts', import.meta.url).href;
  return new Worker(
    `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`,
    { eval: true },
  );
}

async function runAll(list: readonly RunTask[], onResult: (done: number) => void): Promise<RunResult[]> {
  const results: RunResult[] = [];
  let next = 0;
  const pool = Array.from({ length: Math.min(WORKERS, list.length) }, () => startWorker());
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              const task = list[next++];
              if (task === undefined) resolve();
              else worker.postMessage(task);
            };
            worker.on('message', (message: { ok: true; result: RunResult } | { ok: false; error: string }) => {
              if (!message.ok) {
                reject(new Error(message.error));
                return;
              }
              results.push(message.result);
              onResult(results.length);
              send();
            });
            worker.on('error', reject);
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
  return results;
}

/** Wilson 95% interval of k successes in n. */
function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959964;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

function minutes(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 120 ? `${(value / 60).toFixed(1)} h` : `${Math.round(value)} min`;
}

function pct(value: number): string {
  return `${(value * 100).toFixed(value < 0.1 && value > 0 ? 1 : 0)}%`;
}

export async function run(): Promise<{ title: string; markdown: string }> {
  const list = tasks();
  const started = Date.now();
  let lastPrint = 0;
  const results = await runAll(list, (done) => {
    const elapsed = Date.now() - started;
    if (elapsed - lastPrint < 15_000 && done < list.length) return;
    lastPrint = elapsed;
    process.stderr.write(`monitor drift benchmark: ${done}/${list.length} runs, ${Math.round(elapsed / 1000)} s\n`);
  });
  const wallMinutes = (Date.now() - started) / 60_000;
  const unchanged = results.filter((r) => r.scenario === SCENARIO.unchanged);
  const runDays = unchanged.reduce((days, r) => days + r.simulatedMillis / (24 * HOUR), 0);
  const windows = unchanged.reduce((count, r) => count + r.windowUsers.length, 0);
  const falseAlerts = unchanged.flatMap((r) => r.alerts);
  const bySignal = new Map<MonitorSignal, number>();
  for (const alert of falseAlerts) bySignal.set(alert.signal, (bySignal.get(alert.signal) ?? 0) + 1);
  const spans = results.reduce((total, r) => total + r.spans, 0);
  const allUsers = results.flatMap((r) => r.windowUsers);
  const toolUsers = results.flatMap((r) => r.windowToolUsers);
  const baselineUsers = results.map((r) => r.baselineUsers);
  // With no alert in N run-days, the 95% upper bound of the rate is about 3/N (rule of three).
  const [, perDayUpper] = wilson(falseAlerts.length, Math.round(runDays));

  const rows: string[] = [];
  rows.push(
    `| unchanged, ${unchanged.length} runs × ${UNCHANGED_DAYS} days | every signal | ${falseAlerts.length} alert(s) in ` +
      `${runDays.toFixed(0)} run-days: **${(falseAlerts.length / runDays).toFixed(4)} per run-day** (95% upper bound ` +
      `${perDayUpper.toFixed(4)}); ${windows} windows × ${MONITOR_SIGNALS.length} signals | ` +
      `${falseAlerts.length === 0 ? '—' : [...bySignal].map(([s, n]) => `${s} ${n}`).join(', ')} |`,
  );
  for (const scenario of Object.keys(DETECTION_RUNS) as Exclude<Scenario, 'unchanged'>[]) {
    const runs = results.filter((r) => r.scenario === scenario);
    const caught = runs.filter((r) => r.delayMinutes !== undefined);
    const delays = caught.map((r) => r.delayMinutes ?? Number.NaN);
    const [low, high] = wilson(caught.length, runs.length);
    const within = (limit: number) => delays.filter((d) => d <= limit).length;
    const before = runs.flatMap((r) =>
      r.alerts.filter((a) => r.changeAtMillis !== undefined && a.atMillis < r.changeAtMillis),
    );
    const others = runs.flatMap((r) =>
      r.alerts.filter((a) => a.signal !== CHANGES[scenario].signal && a.atMillis >= (r.changeAtMillis ?? 0)),
    );
    const otherSignals = new Map<string, number>();
    for (const alert of others) otherSignals.set(alert.signal, (otherSignals.get(alert.signal) ?? 0) + 1);
    rows.push(
      `| ${scenario}, ${runs.length} runs | \`${CHANGES[scenario].signal}\` | caught within 24 h in ` +
        `**${caught.length}/${runs.length} (${pct(caught.length / runs.length)}, 95% CI ${pct(low)}–${pct(high)})**; ` +
        `within 1 h ${within(60)}, 6 h ${within(360)}; delay median **${minutes(quantile(delays, 0.5))}**, ` +
        `p90 ${minutes(quantile(delays, 0.9))}, max ${minutes(Math.max(...delays))} | ` +
        `${before.length === 0 ? 'none before the change' : `${before.length} before the change`}` +
        `${others.length === 0 ? '' : `; after it: ${[...otherSignals].map(([s, n]) => `${s} ${n}`).join(', ')}`} |`,
    );
  }
  const t = BENCH_TRAFFIC;
  const d = MONITOR_DEFAULTS;
  const paragraphs = [
    [
      'Habitual Zipf users (`packages/monitor/src/drift/habitual-traffic.test-helper.ts`) driven through the real',
      `\`BehaviorSpanProcessor\` (\`record(facts)\`, ${BENCH_BUCKET_MILLIS / 1000} s buckets, default 1 h subject`,
      'period) and read by the real monitor (`createBehaviorMonitor` + `processorBehaviorSource`) with its **default',
      `settings**: 1 h windows (the subject period), \`alphaPerWindow\` ${d.alphaPerWindow}, \`baselineAlpha\``,
      `${d.baselineAlpha}, tolerances ${d.maxToolShareChange * 100} points (tool and topic mix), KS ${d.ksTolerance},`,
      `×${d.maxRateRatio} (rates), ×${d.maxTailLatencyRatio} (p95/p99), all ${MONITOR_SIGNALS.length} signals. Simulated`,
      'time: the baseline is the hour before the first window; the monitor ticks every',
      `${UNCHANGED_TICK_MILLIS / MINUTE} min in unchanged runs and every ${DETECTION_TICK_MILLIS / MINUTE} min in detection`,
      'runs, which stop at the first alert of their signal.',
    ],
    [
      `Traffic (each run draws its own population; seed ${SEED} + run): ${t.users.toLocaleString('en-US')} users with`,
      `Zipf(${t.zipfExponent}) activity, ${t.turnsPerHour.toLocaleString('en-US')} turns/h (Poisson); the`,
      `${t.sessionUsers} heaviest users come and go (present in a random ${pct(t.sessionShare)} of hours). Per user,`,
      `Beta draws around the means with concentration ${t.concentration}: habit strength ${t.habitStrength} (usual`,
      'tool: search 40%, db 25%, code 15%, email 10%, calendar 10% of users; usual topic likewise), refusal',
      `${pct(t.refusalRate)} and error ${pct(t.errorRate)} per turn; a latency scale per user (log-normal, σ`,
      `${t.userLatencySigma} between users, ${t.latencySigma} within, median ${t.latencyMedianMillis} ms);`,
      `${pct(t.toolCallRate)} of turns call a tool; thumbs-down, regeneration and takeover on`,
      `${pct(t.thumbsDownRate)}, ${pct(t.regenerateRate)} and ${pct(t.humanTakeoverRate)} of turns. Users per`,
      `1 h window: median ${quantile(allUsers, 0.5)} (p10 ${quantile(allUsers, 0.1)}), ${quantile(toolUsers, 0.5)}`,
      `of them with a tool call; baseline users: median ${quantile(baselineUsers, 0.5)}.`,
    ],
    [
      "Changes start at a seeded minute of the third hour. **Tool mix**: users' habits move so that search's share",
      "of users' first tool calls falls 10 points (40% → 30%). **Refusal**: every user's refusal propensity",
      'doubles (3% → 6% per turn). **Latency** ×1.5 on every turn. **Tail**: a monotone stretch of latency that',
      "keeps the median and multiplies users' first-turn p95 and p99 by 1.5.",
    ],
  ];
  const markdown = [
    ...paragraphs.map((lines) => lines.join('\n')),
    ['| scenario | signal | result | other alerts |', '|---|---|---|---|', ...rows].join('\n'),
    `${spans.toLocaleString('en-US')} spans recorded in ${results.length} runs; ${wallMinutes.toFixed(1)} min on ${WORKERS} worker threads.`,
    [
      'Targets: no false alert over ≥ 50 runs × 7 days of unchanged behaviour (95% upper bound: Wilson,',
      'per run-day); the 10-point tool-mix move caught within a day with ≥ 80% power. Each signal alarms only when a',
      'confidence bound of its effect is past its tolerance (docs/monitoring.md), so the delays are set by how many users',
      "a window holds: a change is proven once enough of the window's users show it, and the window that straddles the",
      'change dilutes it (most changes are proven in the first whole window after it). "Other alerts" after the change are',
      'the same change seen by another signal (latency ×1.5 also moves the tail).',
    ].join('\n'),
  ].join('\n\n');
  return { title: 'Drift monitor of the stable release: false alerts and detection over habitual users', markdown };
}
