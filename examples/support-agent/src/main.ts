/**
 * `pnpm --filter @agent-canary/example-support-agent start -- --scenario hard-break [--seed 7] [--json] [--out dir]`:
 * runs one demo scenario and prints its progress and decisions (the CLI's `agent-canary demo` does the same).
 */
import { parseArgs } from 'node:util';
import { runDemo } from './run-demo.js';
import { isScenario, SCENARIOS } from './scenarios.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'hard-break' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string', default: 'agent-canary-demo' },
    json: { type: 'boolean', default: false },
  },
});
if (!isScenario(values.scenario)) {
  console.error(`unknown scenario ${values.scenario}; one of ${SCENARIOS.join(', ')}`);
  process.exit(2);
}
const minutes = (millis: number) => `${(millis / 60_000).toFixed(1).padStart(5)} min`;
const result = await runDemo({
  scenario: values.scenario,
  seed: Number(values.seed),
  outDir: values.out,
  json: values.json,
  ...(values.json
    ? {}
    : {
        onProgress: (p) =>
          console.log(
            `${minutes(p.elapsedMillis)}  step ${p.step}/${p.stepCount} canary ${String(p.sharePercent).padStart(3)}%  ` +
              `requests stable/canary/control ${p.requests.stable}/${p.requests.canary}/${p.requests.control}  ${p.lastVerdict ?? ''}`,
          ),
      }),
});
if (values.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log(
    `\n${result.scenario} (seed ${result.seed}): ${result.outcome} after ${minutes(result.virtualDurationMillis)} of virtual time, ${(result.wallMillis / 1000).toFixed(1)} s of wall time`,
  );
  for (const d of result.decisions) {
    console.log(
      `${minutes(d.elapsedMillis)}  ${d.from} -> ${d.to}  (${d.canaryRequests} canary requests)  ${d.reason}`,
    );
  }
  console.log(`\nreport: ${result.reportPath}`);
}
