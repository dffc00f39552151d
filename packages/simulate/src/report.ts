/**
 * Summaries of the runs: per cell (heterogeneity × share × scenario) and gate, the rollback
 * rate with its Wilson interval and the delays to rollback in canary requests and users,
 * beside the oracle's; the issue's targets; Markdown tables.
 */

import { oracleDetection, streamTheta } from './oracle.js';
import { GATE, GATE_LABELS, type GateId, gateConfigOf, type RunResult } from './run.js';
import { type Heterogeneity, type Scenario, TRAFFIC_DEFAULTS } from './scenarios.js';

/** The false-rollback level the oracle is held to: the gate's whole budget. */
export const ORACLE_ALPHA = 0.01;

/** Median and 95th percentile of a delay over the runs that detected. */
export interface DelaySummary {
  readonly median: number;
  readonly p95: number;
}

/** Delays to rollback of one gate (or the oracle) in one cell. */
export interface DetectionSummary {
  readonly runs: number;
  /** Runs that rolled back within the horizon. */
  readonly rollbacks: number;
  /** rollbacks / runs: the false-rollback rate in A/A cells, the power otherwise. */
  readonly rate: number;
  /** Wilson 95% interval of `rate`. */
  readonly rateLow: number;
  readonly rateHigh: number;
  /**
   * Median over ALL runs, a run without a rollback counting as never (null when fewer than
   * half rolled back): what a team waits, typically. In effect cells our gate is followed to
   * 1.5× the horizon (`TRAFFIC_DEFAULTS.effectFollowUp`), the oracle to the horizon.
   */
  readonly medianCanaryRequests: number | null;
  readonly medianCanaryUsers: number | null;
  /** Over the runs that rolled back (followed as the median is). */
  readonly detectedCanaryRequests: DelaySummary | null;
  readonly detectedCanaryUsers: DelaySummary | null;
}

/** One gate in one cell. */
export interface GateSummary extends DetectionSummary {
  readonly gate: GateId;
  readonly label: string;
  /** The checks that failed first, with how many runs each. */
  readonly failedChecks: Readonly<Record<string, number>>;
}

/** The oracle of an effect cell at one alpha. */
export interface OracleSummary extends DetectionSummary {
  readonly alpha: number;
}

/** One cell's results. */
export interface CellSummary {
  readonly scenario: string;
  readonly title: string;
  readonly effect: boolean;
  readonly heterogeneity: Heterogeneity;
  readonly canaryBasisPoints: number;
  readonly gates: readonly GateSummary[];
  /** Effect cells: the oracle's stream, its θ1, and the oracle at α = 0.01 and at the check's alpha. */
  readonly oracle?: {
    readonly stream: string;
    readonly check: string;
    readonly theta1: number | null;
    readonly atTotal: OracleSummary;
    readonly atCheck: OracleSummary;
  };
  /** Our gate's median canary requests over the oracle's at the check's α, and users over users. */
  readonly ratioToOracle: { readonly requests: number | null; readonly users: number | null } | null;
}

/** One of the issue's targets, checked on this report. */
export interface TargetCheck {
  readonly target: string;
  /** null when the report lacks the cells the target needs. */
  readonly met: boolean | null;
  readonly detail: string;
}

/** What `runSimulation` returns: deterministic in its options (no timings). */
export interface SimulationReport {
  readonly seed: number;
  readonly quick: boolean;
  readonly aaRuns: number;
  readonly effectRuns: number;
  readonly users: number;
  readonly horizonCanaryRequests: number;
  readonly evaluationSeconds: number;
  readonly gates: readonly GateId[];
  readonly cells: readonly CellSummary[];
  readonly targets: readonly TargetCheck[];
  /** Evaluations of the gates over all runs, and the metric-source reads they made. */
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

/** Median over all runs with misses as +∞; null when it is infinite. */
function medianWithMisses(values: readonly number[], runs: number): number | null {
  if (runs === 0 || values.length * 2 < runs) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return quantile([...sorted, ...new Array<number>(runs - values.length).fill(Number.POSITIVE_INFINITY)], 0.5);
}

/** Rate over detections within the horizon; delays over all (our gate is followed past it in effect runs). */
function detectionSummary(
  runs: number,
  detected: readonly { canaryRequests: number; canaryUsers: number; withinHorizon?: boolean }[],
): DetectionSummary {
  const within = detected.filter((d) => d.withinHorizon !== false).length;
  const { low, high } = wilsonInterval(within, runs);
  const requests = detected.map((d) => d.canaryRequests);
  const users = detected.map((d) => d.canaryUsers);
  return {
    runs,
    rollbacks: within,
    rate: runs > 0 ? within / runs : 0,
    rateLow: low,
    rateHigh: high,
    medianCanaryRequests: medianWithMisses(requests, runs),
    medianCanaryUsers: medianWithMisses(users, runs),
    detectedCanaryRequests: delays([...requests]),
    detectedCanaryUsers: delays([...users]),
  };
}

const CHECK_OPTION: Readonly<Record<string, 'errorRate' | 'refusalRate' | 'toolMix'>> = {
  error_rate: 'errorRate',
  refusal_rate: 'refusalRate',
  tool_mix: 'toolMix',
};

/** The alpha of the test that watches the oracle's stream (the tool-mix switch test runs at half the check's). */
export function checkAlpha(check: string): number {
  const key = CHECK_OPTION[check];
  if (key === undefined) return ORACLE_ALPHA;
  const alpha = gateConfigOf(GATE.ours, 'decision').checks[key].alpha;
  return key === 'toolMix' ? alpha / 2 : alpha;
}

/** Summarises one cell's runs. */
export function summariseCell(
  scenario: Scenario,
  heterogeneity: Heterogeneity,
  canaryBasisPoints: number,
  results: readonly RunResult[],
  gates: readonly GateId[],
): CellSummary {
  const summaries: GateSummary[] = gates.map((gate) => {
    // Comparison gates run on the first `contrastRuns` runs only.
    const evaluated = results.filter((result) => result.detections[gate] !== undefined);
    const detected = evaluated.flatMap((result) => {
      const detection = result.detections[gate];
      return detection ? [detection] : [];
    });
    const failedChecks: Record<string, number> = {};
    for (const detection of detected) {
      for (const check of new Set(detection.checks)) failedChecks[check] = (failedChecks[check] ?? 0) + 1;
    }
    return { gate, label: GATE_LABELS[gate], ...detectionSummary(evaluated.length, detected), failedChecks };
  });
  const base = {
    scenario: scenario.id,
    title: scenario.title,
    effect: scenario.effect,
    heterogeneity,
    canaryBasisPoints,
    gates: summaries,
  };
  if (!scenario.oracle) return { ...base, ratioToOracle: null };
  const controlBasisPoints = Math.min(canaryBasisPoints, 10_000 - canaryBasisPoints);
  const rho0 = canaryBasisPoints / (canaryBasisPoints + controlBasisPoints);
  const theta1 = streamTheta(results.map((result) => result.oracleEvents)) ?? null;
  const oracleAt = (alpha: number): OracleSummary => {
    const detected =
      theta1 === null
        ? []
        : results.flatMap((result) => {
            const detection = oracleDetection(result.oracleEvents, result.ticks, theta1, rho0, alpha);
            return detection ? [detection] : [];
          });
    return { alpha, ...detectionSummary(results.length, detected) };
  };
  const atTotal = oracleAt(ORACLE_ALPHA);
  const atCheck = oracleAt(checkAlpha(scenario.oracle.check));
  const ours = summaries.find((summary) => summary.gate === GATE.ours);
  const ratio = (a: number | null | undefined, b: number | null) =>
    a === null || a === undefined || b === null || b <= 0 ? null : a / b;
  return {
    ...base,
    oracle: { stream: scenario.oracle.stream, check: scenario.oracle.check, theta1, atTotal, atCheck },
    ratioToOracle: ours
      ? {
          requests: ratio(ours.medianCanaryRequests, atCheck.medianCanaryRequests),
          users: ratio(ours.medianCanaryUsers, atCheck.medianCanaryUsers),
        }
      : null,
  };
}

const pct = (value: number) => `${(100 * value).toFixed(value < 0.1 ? 2 : 1)}%`;
const gridLabel = (h: Heterogeneity) => `κ=${h.concentration}, s=${h.zipfExponent}`;
const shareLabel = (basisPoints: number) => `${basisPoints / 100}%`;
const cellLabel = (cell: CellSummary) => `${gridLabel(cell.heterogeneity)} at ${shareLabel(cell.canaryBasisPoints)}`;

/** A/A runs per cell the false-rollback target asks for. */
export const AA_TARGET_RUNS = 2000;

/** Checks the issue's targets on the cells. */
export function checkTargets(cells: readonly CellSummary[]): TargetCheck[] {
  const targets: TargetCheck[] = [];
  const ours = (cell: CellSummary) => cell.gates.find((gate) => gate.gate === GATE.ours);
  const aa = cells.filter((cell) => !cell.effect && ours(cell));
  const worst = aa.reduce<CellSummary | undefined>(
    (max, cell) => (max === undefined || (ours(cell)?.rateHigh ?? 0) > (ours(max)?.rateHigh ?? 0) ? cell : max),
    undefined,
  );
  const aaMet = aa.every((cell) => {
    const summary = ours(cell);
    return summary !== undefined && summary.runs >= AA_TARGET_RUNS && summary.rate <= 0.01 && summary.rateHigh <= 0.012;
  });
  const fewest = Math.min(...aa.map((cell) => ours(cell)?.runs ?? 0));
  targets.push({
    target: `A/A false rollback ≤ 1% with the Wilson 95% upper bound ≤ 1.2% over ≥ ${AA_TARGET_RUNS.toLocaleString(
      'en-US',
    )} runs, every grid cell and share (default configuration, checks every 5 s)`,
    met: aa.length > 0 ? aaMet : null,
    detail:
      worst && ours(worst)
        ? `worst cell ${cellLabel(worst)}: ${pct(ours(worst)?.rate ?? 0)} [${pct(
            ours(worst)?.rateLow ?? 0,
          )}, ${pct(ours(worst)?.rateHigh ?? 0)}] over ${ours(worst)?.runs} runs (${aa.length} cells${
            fewest < AA_TARGET_RUNS ? `; ${fewest} runs per cell are too few for the target` : ''
          })`
        : 'not run',
  });
  const effects = cells.filter((cell) => cell.effect && cell.oracle !== undefined);
  // Per cell: our median (followed past the horizon) and the oracle's, each null when fewer than half rolled back.
  const ratioTarget = (label: string, oracleOf: (cell: CellSummary) => number | null): void => {
    const known: number[] = [];
    const missed: string[] = [];
    for (const cell of effects) {
      const mine = ours(cell)?.medianCanaryRequests ?? null;
      const oracle = oracleOf(cell);
      if (mine !== null && oracle !== null) known.push(mine / oracle);
      else if (oracle !== null) missed.push(`${cell.scenario} ${cellLabel(cell)}`);
    }
    const parts = [
      known.length > 0
        ? `ratios ${Math.min(...known).toFixed(2)}–${Math.max(...known).toFixed(2)} over the ${known.length} of ${effects.length} effect cells where both roll back in most runs`
        : 'no effect cell where both roll back in most runs',
      ...(missed.length > 0
        ? [
            `cells where this oracle rolls back in most runs within the horizon and ours not within ${TRAFFIC_DEFAULTS.effectFollowUp}× it: ${missed.length} (${missed.join('; ')})`,
          ]
        : []),
    ];
    targets.push({
      target: `median canary requests to rollback ≤ 1.5× the oracle ${label}`,
      met: effects.length > 0 ? known.every((ratio) => ratio <= 1.5) && missed.length === 0 : null,
      detail: effects.length > 0 ? parts.join('; ') : 'not run',
    });
  };
  ratioTarget('at α = 0.01', (cell) => cell.oracle?.atTotal.medianCanaryRequests ?? null);
  ratioTarget("at the check's α", (cell) => cell.oracle?.atCheck.medianCanaryRequests ?? null);
  const hard = cells.filter((cell) => cell.scenario === 'hard-break');
  const hardMedian = (cell: CellSummary) => ours(cell)?.medianCanaryRequests ?? null;
  const under = (cell: CellSummary) => (hardMedian(cell) ?? Number.POSITIVE_INFINITY) < 100;
  const listed = (list: readonly CellSummary[]) =>
    list.map((cell) => `${cellLabel(cell)}: ${hardMedian(cell) ?? 'never'}`).join('; ');
  const over = hard.filter((cell) => !under(cell));
  targets.push({
    target: 'hard break (error 1% → 20%) rolled back in under 100 canary requests (median), every cell',
    met: hard.length > 0 ? over.length === 0 : null,
    detail:
      hard.length > 0
        ? `under 100 in ${hard.length - over.length} of ${hard.length} cells (${listed(hard.filter(under))})${
            over.length > 0 ? `; not in ${listed(over)}` : ''
          }`
        : 'not run',
  });
  return targets;
}

function line(widths: readonly number[], cells: readonly string[]): string {
  return `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  return [
    line(widths, header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map((row) => line(widths, row)),
  ].join('\n');
}

const rateCell = (summary: DetectionSummary | undefined) =>
  summary ? `${pct(summary.rate)} [${pct(summary.rateLow)}, ${pct(summary.rateHigh)}]` : '—';
const medianCell = (value: number | null | undefined) =>
  value === null || value === undefined ? 'never' : String(value);

/** The A/A cells as a table: false-rollback rate per grid cell, share and gate. */
export function formatFalseRollbacks(report: SimulationReport): string {
  const aa = report.cells.filter((cell) => !cell.effect);
  const rows = aa.map((cell) => [
    gridLabel(cell.heterogeneity),
    shareLabel(cell.canaryBasisPoints),
    ...report.gates.map((gate) => {
      const summary = cell.gates.find((g) => g.gate === gate);
      return summary ? `${rateCell(summary)} of ${summary.runs}` : '—';
    }),
    Object.entries(cell.gates.find((g) => g.gate === GATE.ours)?.failedChecks ?? {})
      .map(([check, count]) => `${check} ${count}`)
      .join(', ') || '—',
  ]);
  return table(
    [
      'users',
      'canary',
      'runs',
      ...report.gates.map((gate) => `${GATE_LABELS[gate]}: rollbacks [95% CI]`),
      'ours: failing checks',
    ],
    rows,
  );
}

/** The effect cells as a table: power and medians of our gate beside the oracle's. */
export function formatDetection(report: SimulationReport): string {
  const rows = report.cells
    .filter((cell) => cell.effect)
    .map((cell) => {
      const ours = cell.gates.find((gate) => gate.gate === GATE.ours);
      return [
        cell.title,
        gridLabel(cell.heterogeneity),
        shareLabel(cell.canaryBasisPoints),
        String(ours?.runs ?? 0),
        ours ? pct(ours.rate) : '—',
        `${medianCell(ours?.medianCanaryRequests)} / ${medianCell(ours?.medianCanaryUsers)}`,
        cell.oracle ? `${pct(cell.oracle.atTotal.rate)}` : '—',
        cell.oracle
          ? `${medianCell(cell.oracle.atTotal.medianCanaryRequests)} / ${medianCell(cell.oracle.atTotal.medianCanaryUsers)}`
          : '—',
        cell.oracle
          ? `${medianCell(cell.oracle.atCheck.medianCanaryRequests)} / ${medianCell(cell.oracle.atCheck.medianCanaryUsers)}`
          : '—',
        cell.ratioToOracle?.requests === null || cell.ratioToOracle === null
          ? '—'
          : `${cell.ratioToOracle.requests.toFixed(2)} / ${cell.ratioToOracle.users?.toFixed(2) ?? '—'}`,
        Object.entries(ours?.failedChecks ?? {})
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([check, count]) => `${check} ${count}`)
          .join(', ') || '—',
      ];
    });
  return table(
    [
      'scenario',
      'users',
      'canary',
      'runs',
      'ours: power',
      'ours: median req. / users',
      'oracle: power',
      'oracle α=0.01: median req. / users',
      "oracle at the check's α",
      "× oracle at the check's α (req. / users)",
      `ours: failing checks (to ${TRAFFIC_DEFAULTS.effectFollowUp}× the horizon)`,
    ],
    rows,
  );
}

/** The whole report as text: both tables and the targets. */
export function formatTable(report: SimulationReport): string {
  const targets = report.targets
    .map((t) => `- ${t.met === null ? 'n/a' : t.met ? 'met' : 'NOT met'}: ${t.target} — ${t.detail}`)
    .join('\n');
  const effects = report.cells.some((cell) => cell.effect) ? `\n\n${formatDetection(report)}` : '';
  const aa = report.cells.some((cell) => !cell.effect) ? formatFalseRollbacks(report) : '';
  return `${aa}${effects}\n\nTargets:\n${targets}\n`;
}
