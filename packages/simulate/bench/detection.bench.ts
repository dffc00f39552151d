/**
 * The detection benchmark (issue 7) in full mode: writes the table into
 * docs/benchmarks.md (through scripts/bench.ts), the plot to docs/detection-benchmark.svg
 * and the report to docs/detection-benchmark.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTable, renderPlotSvg, runSimulation, type SimulationOptions } from '../src/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The documented run: full mode sizes (2,000 A/A runs, 500 per effect, 500 sticky). */
const OPTIONS: SimulationOptions = { seed: 20_261_126, workers: 2 };

export async function run(): Promise<{ title: string; markdown: string }> {
  const started = Date.now();
  let lastPrint = 0;
  const report = await runSimulation({
    ...OPTIONS,
    onProgress: ({ doneRuns, totalRuns, elapsedMillis }) => {
      if (elapsedMillis - lastPrint < 10_000 && doneRuns < totalRuns) return;
      lastPrint = elapsedMillis;
      process.stderr.write(
        `detection benchmark: ${doneRuns}/${totalRuns} runs, ${Math.round(elapsedMillis / 1000)} s\n`,
      );
    },
  });
  const minutes = (Date.now() - started) / 60_000;
  writeFileSync(join(ROOT, 'docs', 'detection-benchmark.svg'), renderPlotSvg(report));
  writeFileSync(join(ROOT, 'docs', 'detection-benchmark.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = `Seeded simulation of statistics.md §6: Poisson arrivals at 20 req/s split 90/5/5 (stable/canary/control),
error 1%, tool call 90% (success 95%), refusal 2%, latency 1500·e^Z ms, length 300·e^{0.6Z'}, similarity Beta(8, 2) on 20%,
thumbs-down 3% of the 10% with feedback. Every run feeds the same traffic (common random numbers across gates and
scenarios) to every gate; our gate is the real \`createGate\` reading a metric source that keeps cumulative per-cohort
counts and quantile-sketch buckets, evaluated every 5 simulated seconds with its state passed back (through JSON once per
run), \`evidence: 'decision'\`. Horizon: 7,200 canary requests (2 h; tail-only: 15,000). Seed ${report.seed};
${report.aaRuns} A/A runs, ${report.effectRuns} runs per effect, ${report.stickyRuns} sticky-user runs;
${report.gateEvaluations.toLocaleString('en-US')} gate evaluations; ${minutes.toFixed(1)} min on 2 worker threads.

Reproduce: \`npx -y pnpm@12.4.2 bench packages/simulate/bench/detection.bench.ts\` (this section, the plot and
\`docs/detection-benchmark.json\`), or \`agent-canary simulate --seed ${report.seed}\` (\`--quick\` for 200 A/A and 100
runs per scenario, \`--json\` for the report).

Rollback rate = false rollbacks in A/A rows, power elsewhere (Wilson 95% interval). Delays are over the runs that
rolled back: median (p95). Users = distinct canary users exposed before the rollback (each request is its own user
without sticky routing). × oracle = median canary requests over the label oracle's (α = 0.01).

${formatTable(report)}
![Canary requests to detection per gate and scenario](detection-benchmark.svg)

How to read it:
- **(a) / (a′)** the article's gate (statistics.md §6 a: moving averages of the last 100 canary values every 10 canary
  requests, tool ≥ 92%, error ≤ 2%, refusal ≤ 4%, 2nd-largest latency ≤ 1.2 × baseline p99, weights 2/2/1/1, 3
  consecutive FAILs). It has no control group: its A/A false rollbacks are noise crossing fixed limits.
- **(b) / (b-cal)** Kayenta-style: every 300 canary requests, one-sided two-proportion z (tool failure, error, refusal) and
  tie-corrected Mann–Whitney z (latency at 1% buckets) on cumulative per-request data, any z above 3.10 (3.3) rolls back.
  The 3.3 is statistics.md §7's calibration, not re-fitted here. It has no tool-mix or length metric.
- **(c)** our gate rolls back when a sequential test crosses its boundary (the controller's immediate rule);
  **(c+t)** adds the controller's other rule, 3 consecutive absolute-threshold failures, with the article's limits as
  §6 (a) sets them. A threshold fails only when an anytime-valid bound on the canary's value is past its limit
  (\`thresholdAlpha\` 0.01): judged on point estimates from the first 50 requests on, where one error is 2%, they
  rolled back 81% of healthy canaries; with the bound they add no false rollbacks and still catch a hard break first.
  They count requests, so under sticky routing they add a few false rollbacks.
- **(d2)** the label oracle knows the true effect: for the rate scenarios it bets on the labels of adverse events
  with the true relative risk (statistics.md §7 d2), for latency, length and tool mix on every observation with the
  exact likelihood ratio (so its tail-only figure is far below §7's exceedance-only oracle). **(d2-α_k)** is the same
  oracle at the α our gate gives the affected check: the gap between (c) and (d2-α_k) is the cost of not knowing the
  effect size, the gap between (d2-α_k) and (d2) the Bonferroni split over eight checks.
- Benchmark configuration of our gate: defaults (all checks, α = 0.01 split as statistics.md §4) except the article
  limits above, similarity minimum 0.7 (Beta(8, 2) has mean 0.8) and a tool-mix tolerance of 5 points (the scenario
  moves 10 points; the default 15% would only warn).
- **Sticky users**: 2,000 users with Zipf(1.1) traffic routed by a hash of their id, each with an error propensity
  ~ Beta(0.5, 49.5) (mean 1%). Per-request tests over-count: a few heavy users decide how many requests each arm serves
  and their errors cluster. Our gate counts subjects (one observation per user); its similarity and tool-mix tests
  exist only per request, so they are switched off in this variant (their alpha goes to the other checks) — a gap of
  the gate under sticky routing. **(c-req)** is the same gate counting requests.
`;
  return { title: 'Detection benchmark: false rollbacks and time to detection', markdown };
}
