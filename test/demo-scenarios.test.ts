/**
 * End to end: the support-agent demo through real instrumentation (OpenTelemetry Node SDK,
 * tagging and behaviour processors), OpenFeature with the embedded provider, the gate,
 * the controller and its SQLite store, in virtual time with the real cadence.
 *
 * Runs at the demo's default 10 requests/s where they are quick (bad canaries end within
 * minutes of virtual time); full two-hour rollouts (healthy, A/A) run at 5 requests/s, half
 * the requests with the same steps, durations and gate, so the whole file stays within a
 * couple of minutes on a loaded machine.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DemoProgress,
  type DemoResult,
  EXPECTED_OUTCOME,
  runDemo,
  SCENARIO,
  type Scenario,
} from '@agent-canary/cli/demo';
import { ConfigError } from '@agent-canary/conventions';
import { afterAll, describe, expect, it } from 'vitest';

const dirs: string[] = [];
function outDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-canary-demo-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const FULL_ROLLOUT_RATE = 5;
/** A two-hour rollout at 5 requests/s takes 10–20 s of CPU; leave room for a loaded machine. */
const FULL_ROLLOUT_TIMEOUT_MILLIS = 120_000;
const MINUTE = 60_000;

/** Checks a rollback names, in its reason and evidence, one of the checks this regression moves. */
const FAILING_CHECKS: Readonly<Record<string, readonly string[]>> = {
  [SCENARIO.toolRegression]: ['tool_success_rate', 'similarity', 'thumbs_down_rate', 'tool_mix'],
  [SCENARIO.toneDrift]: ['similarity', 'response_length'],
  [SCENARIO.hardBreak]: ['tool_success_rate'],
};

function expectExplainedRollback(result: DemoResult): void {
  expect(result.outcome).toBe('rolled_back');
  const last = result.decisions.at(-1);
  expect(last?.to).toBe('rolled_back');
  expect(last?.verdict).toBe('fail');
  expect(last?.sharePercent).toBe(0);
  const expected = FAILING_CHECKS[result.scenario] ?? [];
  const named = (last?.failedChecks ?? []).filter((check) => expected.includes(check));
  expect(named.length, `failed checks ${last?.failedChecks.join(', ')}`).toBeGreaterThan(0);
  for (const check of named) expect(last?.reason).toContain(check);
}

function expectPromotedThroughEveryStep(result: DemoResult): void {
  expect(result.outcome).toBe('promoted');
  expect(result.decisions.map((decision) => decision.to)).toEqual([
    'canary@5%',
    'canary@20%',
    'canary@50%',
    'promoted',
  ]);
  expect(result.decisions.map((decision) => decision.sharePercent)).toEqual([5, 20, 50, 100]);
  // Each step waits its minimum time (15 min, 30 min, 1 h), then advances on the first
  // passing evaluation (a warning may hold it for a few ticks).
  const minutes = result.decisions.map((decision) => decision.elapsedMillis / MINUTE);
  expect(minutes[0]).toBe(0);
  for (const [index, stepMinutes] of [15, 30, 60].entries()) {
    const spent = (minutes[index + 1] ?? 0) - (minutes[index] ?? 0);
    expect(spent).toBeGreaterThanOrEqual(stepMinutes);
    expect(spent).toBeLessThan(stepMinutes + 10);
  }
  for (const decision of result.decisions.slice(1)) expect(decision.verdict).toBe('pass');
  const counts = result.decisions.map((decision) => decision.canaryRequests);
  expect(counts).toEqual([...counts].sort((a, b) => a - b));
  expect(result.decisions.at(-1)?.reason).toContain('ready to promote');
}

describe('demo scenarios, fixed seed', () => {
  for (const scenario of [SCENARIO.toolRegression, SCENARIO.toneDrift, SCENARIO.hardBreak] as const) {
    it(`${scenario}: rolled back, and the decision names the failing check`, async () => {
      const result = await runDemo({ scenario, seed: 42, outDir: outDir() });
      expectExplainedRollback(result);
      expect(result.decisions[0]).toMatchObject({ from: 'draft', to: 'canary@5%', step: 1, sharePercent: 5 });
    });
  }

  it('hard-break: rolled back within a few dozen canary requests of the warm-up end', async () => {
    for (const seed of [42, 7]) {
      const result = await runDemo({ scenario: SCENARIO.hardBreak, seed, outDir: outDir() });
      expect(result.outcome).toBe('rolled_back');
      const warmup = result.warmup;
      expect(warmup).toBeDefined();
      const rollback = result.decisions.at(-1);
      expect(rollback?.canaryRequests).toBeGreaterThanOrEqual(warmup?.canaryRequests ?? Number.POSITIVE_INFINITY);
      expect((rollback?.canaryRequests ?? 0) - (warmup?.canaryRequests ?? 0)).toBeLessThanOrEqual(36);
      // Detected by the sequential test at once, not after three failing threshold evaluations.
      expect(rollback?.reason).toMatch(/^sequential test crossed its boundary/);
    }
  });

  it('healthy: promoted to 100% through every step, writes the report and reports progress', {
    timeout: FULL_ROLLOUT_TIMEOUT_MILLIS,
  }, async () => {
    const progress: DemoProgress[] = [];
    const dir = outDir();
    const result = await runDemo({
      scenario: SCENARIO.healthy,
      seed: 42,
      outDir: dir,
      requestsPerSecond: FULL_ROLLOUT_RATE,
      onProgress: (p) => progress.push(p),
    });
    expectPromotedThroughEveryStep(result);
    expect(result.requests.canary).toBeGreaterThan(result.requests.stable);
    expect(result.reportPath).toBe(join(dir, 'report.html'));
    const html = readFileSync(result.reportPath, 'utf8');
    expect(html).toContain(result.rolloutId);
    expect(html).toContain('support-v2');
    // Progress follows the steps in order and ends promoted; cohorts only grow.
    expect(progress.map((p) => p.step).filter((step, i, all) => step !== all[i - 1])).toEqual([1, 2, 3]);
    expect(progress.at(-1)).toMatchObject({ phase: 'promoted', sharePercent: 100 });
    for (const [i, p] of progress.entries()) {
      const before = progress[i - 1];
      if (before) expect(p.requests.canary).toBeGreaterThanOrEqual(before.requests.canary);
    }
    // The result is what `--json` prints: plain JSON.
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('is deterministic: the same seed gives the same decisions', async () => {
    const a = await runDemo({ scenario: SCENARIO.toolRegression, seed: 3, outDir: outDir() });
    const b = await runDemo({ scenario: SCENARIO.toolRegression, seed: 3, outDir: outDir() });
    expect(b.decisions).toEqual(a.decisions);
    expect(b.requests).toEqual(a.requests);
  });

  it('rejects an unknown scenario with a ConfigError naming the field', async () => {
    await expect(runDemo({ scenario: 'nope' as Scenario, outDir: outDir() })).rejects.toMatchObject({
      name: 'ConfigError',
      path: 'scenario',
    });
    await expect(runDemo({ scenario: SCENARIO.aa, outDir: outDir(), requestsPerSecond: 0 })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });
});

describe('demo scenarios, robustness over seeds', () => {
  for (const scenario of [SCENARIO.toolRegression, SCENARIO.toneDrift, SCENARIO.hardBreak] as const) {
    it(`${scenario}: rolled back for seeds 1, 2 and 3`, async () => {
      for (const seed of [1, 2, 3]) {
        const result = await runDemo({ scenario, seed, outDir: outDir(), requestsPerSecond: FULL_ROLLOUT_RATE });
        expect(result.outcome, `seed ${seed}`).toBe(EXPECTED_OUTCOME[scenario]);
        expectExplainedRollback(result);
      }
    });
  }

  for (const seed of [1, 2, 3]) {
    it(`aa: an A/A canary is promoted and never rolled back (seed ${seed})`, {
      timeout: FULL_ROLLOUT_TIMEOUT_MILLIS,
    }, async () => {
      const result = await runDemo({
        scenario: SCENARIO.aa,
        seed,
        outDir: outDir(),
        requestsPerSecond: FULL_ROLLOUT_RATE,
      });
      expect(result.decisions.some((decision) => decision.to === 'rolled_back')).toBe(false);
      expectPromotedThroughEveryStep(result);
    });
  }

  it('aa: at most the false-alarm rate the gate promises over ten more seeds (first 16 minutes)', {
    timeout: FULL_ROLLOUT_TIMEOUT_MILLIS,
  }, async () => {
    // The sequential tests bound the probability of rolling back an A/A canary by alpha
    // (1% per rollout, every check together): over ten runs, two rollbacks would already be
    // a 0.4% event. (Seed 4 is one of the rare ones: tool_mix fires after 2 minutes. Over
    // seeds 4-23 x 25 min and 100-299 x 10 min, it was the only rollback of 220 runs.)
    const rolledBack: number[] = [];
    for (let seed = 4; seed < 14; seed++) {
      const result = await runDemo({
        scenario: SCENARIO.aa,
        seed,
        outDir: outDir(),
        requestsPerSecond: FULL_ROLLOUT_RATE,
        horizonMillis: 16 * MINUTE,
      });
      if (result.outcome === 'rolled_back') {
        rolledBack.push(seed);
        // Only a sequential test may do it: no absolute threshold breaks on an A/A.
        expect(result.decisions.at(-1)?.reason).toMatch(/^sequential test crossed its boundary/);
      } else {
        expect(result.outcome, `seed ${seed}`).toBe('held');
        expect(result.decisions.map((decision) => decision.to)).toEqual(['canary@5%', 'canary@20%']);
      }
    }
    expect(rolledBack.length).toBeLessThanOrEqual(1);
  });
});
