/**
 * Summaries of the runs: per scenario and gate, the rollback rate with its Wilson
 * interval, detection delays (canary requests, seconds, users) and the ratio to the
 * oracle; the targets; a text/Markdown table.
 */
import { GATE, GATE_IDS, GATE_LABELS, type GateId } from './gates.js';
import type { RunResult } from './run.js';
import type { Scenario } from './scenarios.js';

/** Median and 95th percentile of a delay over the runs that detected. */
export interface DelaySummary {
  readonly median: number;
  readonly p95: number;
}

/** One gate in one scenario. */
export interface GateSummary {
  readonly gate: GateId;
  readonly label: string;
  readonly runs: number;
  /** Runs in which the gate rolled back within the horizon. */
  readonly rollbacks: number;
  /** rollbacks / runs: the false-rollback rate in A/A scenarios, the power otherwise. */
  readonly rate: number;
  /** Wilson 95% interval of `rate`. */
  readonly rateLow: number;
  readonly rateHigh: number;
  /** Over the runs that rolled back; null when none did. */
  readonly canaryRequests: DelaySummary | null;
  readonly seconds: DelaySummary | null;
  /** Distinct canary users exposed before the rollback. */
  readonly users: DelaySummary | null;
  /** Median canary requests over the oracle's (effect scenarios with an oracle). */
  readonly ratioToOracle: number | null;
}

/** One scenario's results. */
export interface ScenarioSummary {
  readonly id: string;
  readonly title: string;
  readonly effect: boolean;
  readonly sticky: boolean;
  readonly runs: number;
  readonly horizonCanaryRequests: number;
  readonly gates: readonly GateSummary[];
}

/** One of the targets, checked on this report. */
export interface TargetCheck {
  readonly target: string;
  /** null when the report lacks the scenario or gate the target needs. */
  readonly met: boolean | null;
  readonly detail: string;
}

/** What `runSimulation` returns: deterministic in its options (no timings). */
export interface SimulationReport {
  readonly seed: number;
  readonly quick: boolean;
  /** Runs per A/A scenario, per effect scenario and of the sticky-user variant. */
  readonly aaRuns: number;
  readonly effectRuns: number;
  readonly stickyRuns: number;
  readonly horizonCanaryRequests: number;
  readonly evaluationSeconds: number;
  readonly gates: readonly GateId[];
  readonly scenarios: readonly ScenarioSummary[];
  readonly targets: readonly TargetCheck[];
  /** Evaluations of our gate over all runs, and the metric-source reads they made. */
  readonly gateEvaluations: number;
  readonly sourceReads: number;
}

/** Wilson score interval at 95% for `successes` of `n`. */
export function wilsonInterval(successes: number, n: number): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const z = 1.959_963_985;
  const p = successes / n;
  const denominator = 1 + (z * z) / n;
  const center = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** Nearest-rank quantile of ascending values. */
function quantile(sorted: readonly number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

function delays(values: number[]): DelaySummary | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  return { median: quantile(values, 0.5), p95: quantile(values, 0.95) };
}

/** Summarises one scenario's runs (any order). */
export function summariseScenario(
  scenario: Scenario,
  horizonCanaryRequests: number,
  results: readonly RunResult[],
  gates: readonly GateId[],
): ScenarioSummary {
  const summaries: GateSummary[] = [];
  for (const gate of GATE_IDS) {
    if (!gates.includes(gate)) continue;
    const seen = results.filter((result) => result.detections[gate] !== undefined);
    if (seen.length === 0) continue;
    const detected = seen.flatMap((result) => {
      const detection = result.detections[gate];
      return detection ? [detection] : [];
    });
    const { low, high } = wilsonInterval(detected.length, seen.length);
    summaries.push({
      gate,
      label: GATE_LABELS[gate],
      runs: seen.length,
      rollbacks: detected.length,
      rate: detected.length / seen.length,
      rateLow: low,
      rateHigh: high,
      canaryRequests: delays(detected.map((d) => d.canaryRequests)),
      seconds: delays(detected.map((d) => d.seconds)),
      users: delays(detected.map((d) => d.users)),
      ratioToOracle: null,
    });
  }
  const oracle = summaries.find((summary) => summary.gate === GATE.oracle)?.canaryRequests?.median;
  return {
    id: scenario.id,
    title: scenario.title,
    effect: scenario.effect,
    sticky: scenario.sticky,
    runs: results.length,
    horizonCanaryRequests,
    gates: summaries.map((summary) =>
      oracle && summary.canaryRequests && summary.gate !== GATE.oracle
        ? { ...summary, ratioToOracle: summary.canaryRequests.median / oracle }
        : summary,
    ),
  };
}

const pct = (value: number) => `${(100 * value).toFixed(value < 0.1 ? 2 : 1)}%`;

/** Checks the targets on the scenario summaries. */
export function checkTargets(scenarios: readonly ScenarioSummary[], rateScenarios: readonly string[]): TargetCheck[] {
  const find = (scenario: string, gate: GateId) =>
    scenarios.find((s) => s.id === scenario)?.gates.find((g) => g.gate === gate);
  const targets: TargetCheck[] = [];
  const aa = find('aa', GATE.ours);
  targets.push({
    target: 'A/A false rollback ≤ 1% with checks every 5 s (our gate)',
    met: aa ? aa.rate <= 0.01 : null,
    detail: aa ? `${pct(aa.rate)} (95% CI ${pct(aa.rateLow)}–${pct(aa.rateHigh)}, ${aa.runs} runs)` : 'not run',
  });
  const ratios: string[] = [];
  let ratioMet: boolean | null = null;
  for (const id of rateScenarios) {
    const ours = find(id, GATE.ours);
    if (!ours || ours.ratioToOracle === null) continue;
    ratios.push(`${id} ${ours.ratioToOracle.toFixed(2)}×`);
    ratioMet = (ratioMet ?? true) && ours.ratioToOracle <= 1.3;
  }
  targets.push({
    target: 'median canary requests to detection within 1.3× of the label-oracle SPRT (rate scenarios)',
    met: ratioMet,
    detail: ratios.length > 0 ? ratios.join(', ') : 'not run',
  });
  const hard = find('hard-break', GATE.ours);
  targets.push({
    target: 'hard break (error 1% → 20%) detected in under 100 canary requests (median)',
    met: hard?.canaryRequests ? hard.canaryRequests.median < 100 : hard ? false : null,
    detail: hard?.canaryRequests
      ? `median ${hard.canaryRequests.median}, p95 ${hard.canaryRequests.p95} canary requests (power ${pct(hard.rate)})`
      : 'not run',
  });
  const tail = find('tail', GATE.ours);
  targets.push({
    target: 'tail-only p99 +20% detected with ≥ 80% power by 15k canary requests',
    met: tail ? tail.rate >= 0.8 && tail.runs > 0 : null,
    detail: tail
      ? `power ${pct(tail.rate)} within ${scenarios.find((s) => s.id === 'tail')?.horizonCanaryRequests} canary requests (${tail.runs} runs)`
      : 'not run',
  });
  return targets;
}

function cell(summary: DelaySummary | null, digits = 0): string {
  return summary ? `${summary.median.toFixed(digits)} (${summary.p95.toFixed(digits)})` : '—';
}

/**
 * The report as a Markdown table (aligned, so it also reads in a terminal): one row
 * per scenario and gate, then the targets.
 */
export function formatTable(report: SimulationReport): string {
  const header = [
    'scenario',
    'gate',
    'runs',
    'rollback rate [95% CI]',
    'canary req. median (p95)',
    'seconds median (p95)',
    'users median (p95)',
    '× oracle',
  ];
  const rows: string[][] = [];
  for (const scenario of report.scenarios) {
    for (const gate of scenario.gates) {
      rows.push([
        scenario.title,
        gate.label,
        String(gate.runs),
        `${pct(gate.rate)} [${pct(gate.rateLow)}, ${pct(gate.rateHigh)}]`,
        cell(gate.canaryRequests),
        cell(gate.seconds),
        cell(gate.users),
        gate.ratioToOracle === null ? '—' : `${gate.ratioToOracle.toFixed(2)}`,
      ]);
    }
  }
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const table = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
  const targets = report.targets
    .map((t) => `- ${t.met === null ? 'n/a' : t.met ? 'met' : 'NOT met'}: ${t.target} — ${t.detail}`)
    .join('\n');
  return `${table}\n\nTargets:\n${targets}\n`;
}
