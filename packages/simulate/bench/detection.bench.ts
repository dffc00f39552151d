/**
 * The benchmark on habitual Zipf users in full: writes the tables into docs/benchmarks.md
 * (through scripts/bench.ts) and the report to docs/detection-benchmark.json.
 * `AGENT_CANARY_BENCH_AA_RUNS` / `AGENT_CANARY_BENCH_EFFECT_RUNS` shrink it for a trial.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BASE_RATES,
  checkAlpha,
  formatDetection,
  formatFalseRollbacks,
  runSimulation,
  type SimulationOptions,
  TRAFFIC_DEFAULTS,
} from '../src/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

const alphaOf = (check: string) => Number(checkAlpha(check).toPrecision(3)).toString();

const runsFrom = (name: string): number | undefined => {
  const value = process.env[name];
  return value === undefined ? undefined : Number(value);
};

/** The documented run: 2,000 A/A runs and 200 runs per effect in every grid cell and share. */
const OPTIONS: SimulationOptions = {
  seed: 20_261_204,
  workers: 2,
  ...(runsFrom('AGENT_CANARY_BENCH_AA_RUNS') === undefined ? {} : { aaRuns: runsFrom('AGENT_CANARY_BENCH_AA_RUNS') }),
  ...(runsFrom('AGENT_CANARY_BENCH_EFFECT_RUNS') === undefined
    ? {}
    : { effectRuns: runsFrom('AGENT_CANARY_BENCH_EFFECT_RUNS') }),
};

export async function run(): Promise<{ title: string; markdown: string }> {
  const started = Date.now();
  let lastPrint = 0;
  const report = await runSimulation({
    ...OPTIONS,
    onProgress: ({ doneRuns, totalRuns, elapsedMillis }) => {
      if (elapsedMillis - lastPrint < 30_000 && doneRuns < totalRuns) return;
      lastPrint = elapsedMillis;
      process.stderr.write(
        `detection benchmark: ${doneRuns}/${totalRuns} runs, ${Math.round(elapsedMillis / 1000)} s\n`,
      );
    },
  });
  const minutes = (Date.now() - started) / 60_000;
  writeFileSync(join(ROOT, 'docs', 'detection-benchmark.json'), `${JSON.stringify(report, null, 2)}\n`);
  const targets = report.targets
    .map((t) => `- **${t.met === null ? 'n/a' : t.met ? 'met' : 'not met'}**: ${t.target} — ${t.detail}`)
    .join('\n');
  const markdown = `Seeded simulation of users as they are (\`@agent-canary/simulate\`, \`packages/simulate/src/scenarios.ts\`):
a population of ${report.users.toLocaleString('en-US')} users, Poisson arrivals at ${TRAFFIC_DEFAULTS.requestsPerSecond} req/s,
user k sending a share ∝ 1/k^s, each user routed by its bucket (sticky) and with habits of its own: error, tool-failure,
refusal and thumbs-down propensities ~ Beta(κ·p, κ·(1 − p)) around ${BASE_RATES.errorRate * 100}%, ${
    BASE_RATES.toolFailureRate * 100
  }%, ${BASE_RATES.refusalRate * 100}%, ${BASE_RATES.thumbsDownRate * 100}%; a usual tool
(drawn from 40/25/15/10/10%) called with a probability ~ Beta around ${BASE_RATES.usualToolChoice * 100}%, other tools by the
same shares; its own latency and length level (log-normal, variance 0.5/κ and 0.3/κ); its own similarity and toxicity
level (Beta around ${BASE_RATES.similarityMean} and ${BASE_RATES.toxicityMean}, scored on ${BASE_RATES.scoredShare * 100}% of answers).
The population sits **at** the default limits: error 1%, tool success 95%, p99 of a user's turn 3 s, mean similarity 0.85,
mean toxicity 0.1 — so the A/A rows also test that a threshold at its limit fails no more often than its alpha.
Grid: κ ∈ {5, 50, 1000} (strongly habitual to nearly identical users) × s ∈ {0.8, 1.1, 1.5}, canary (= control) share
5% and 50%. Our gate is the real \`createGate\` with the **default configuration**, evaluated every 5 simulated seconds with
its state passed along (through JSON once per run), rolling back as the controller does (a sequential test crossing its
boundary at once, a threshold failing 3 evaluations in a row). A run ends at ${report.horizonCanaryRequests.toLocaleString(
    'en-US',
  )} canary requests or 2 h. Seed ${report.seed}; ${report.aaRuns} A/A runs and ${
    report.effectRuns
  } runs per effect in every cell; ${report.gateEvaluations.toLocaleString('en-US')} gate evaluations; ${minutes.toFixed(
    0,
  )} min on 2 worker threads (a loaded shared machine).

Reproduce: \`npx -y pnpm@12.4.2 bench packages/simulate/bench/detection.bench.ts\` (this section and
\`docs/detection-benchmark.json\`), or \`agent-canary simulate --seed ${report.seed}\` (\`--quick\` for one cell, \`--json\`
for the report).

**False rollbacks of an identical canary** (Wilson 95% interval). *ours, counting requests* is the same gate with every
check at \`unit: 'request'\`: the call-counting behaviour the gate had before users became the unit.

${formatFalseRollbacks(report)}

**Time to rollback** — medians over all runs (a run without a rollback counts as never: "never" when fewer than half
rolled back), in canary requests / canary users. Power is counted within the horizon; to measure a median up to 1.5× an
oracle median inside the horizon, effect runs follow our gate to ${TRAFFIC_DEFAULTS.effectFollowUp}× the horizon
(${(TRAFFIC_DEFAULTS.effectFollowUp * report.horizonCanaryRequests).toLocaleString('en-US')} canary requests or ${
    (TRAFFIC_DEFAULTS.effectFollowUp * TRAFFIC_DEFAULTS.horizonMillis) / 3_600_000
  } h) while the oracle stops at the horizon. The **oracle** is a Wald SPRT told the true effect:
it reads the same per-user event stream as the check that watches the scenario (each user's first failed turn, first
refusal, or a tool switch at the second call, counted in the cohort the user entered), knows θ1 — the probability that an
event of that stream is a canary user's, measured over all runs of the cell — and looks at the same 5-second ticks.
At α = 0.01 it has the gate's whole false-rollback budget for one metric; "at the check's α" it has the share our gate gives
that test (error ${alphaOf('error_rate')}, refusal ${alphaOf('refusal_rate')}, tool switch ${alphaOf(
    'tool_mix',
  )}): the gap between the two is the price of watching every
metric with one budget, the gap between ours and the oracle at the check's α the price of not knowing the effect
(the *× oracle* column: ours over the oracle at the check's α, the comparison at equal false-rollback risk).
Each user counts once: where a few heavy users send most requests (s = 1.5), a hard break's evidence (users with a
failed turn) comes with many requests per user, and the oracle needs as many requests as our gate. At 50% every
5-second look adds about 50 canary requests: a rollback's delay moves in steps of that size.

${formatDetection(report)}

Targets:
${targets}
`;
  return { title: 'Detection benchmark: users as they are', markdown };
}
