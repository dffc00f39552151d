/**
 * End to end: a controller killed in the middle of a rollout (its SQLite store closed
 * without warning) and replaced by a new one on the same file, which `restore()`s the
 * rollout, reaches the same decisions at the same times as an uninterrupted run with the
 * same seed. The agent, its OpenTelemetry pipeline, the behaviour processor and the
 * embedded routing keep running across the restart, as they do when only the controller
 * process dies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo, SCENARIO } from '@agent-canary/cli/demo';
import { RolloutStore } from '@agent-canary/controller';
import { afterAll, describe, expect, it } from 'vitest';

const dirs: string[] = [];
function outDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-canary-restart-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const MINUTE = 60_000;
const RATE = 5;

describe('controller restart mid-rollout', () => {
  it('a healthy rollout restarted during its 20% step is promoted exactly as without the restart', {
    timeout: 240_000,
  }, async () => {
    const options = { scenario: SCENARIO.healthy, seed: 11, requestsPerSecond: RATE } as const;
    const uninterrupted = await runDemo({ ...options, outDir: outDir() });
    const restarted = await runDemo({ ...options, outDir: outDir(), restartControllerAtMillis: 30 * MINUTE });
    expect(uninterrupted.outcome).toBe('promoted');
    expect(restarted.controllerRestartedAtMillis).toBe(30 * MINUTE);
    expect(restarted.outcome).toBe(uninterrupted.outcome);
    expect(restarted.decisions).toEqual(uninterrupted.decisions);
    expect(restarted.requests).toEqual(uninterrupted.requests);
    // The restarted controller wrote to the same store: one rollout, every verdict kept.
    const store = new RolloutStore({ path: restarted.storePath });
    try {
      expect(store.listRollouts().map((rollout) => rollout.id)).toEqual([restarted.rolloutId]);
      const verdicts = store.verdicts(restarted.rolloutId);
      expect(verdicts.length).toBe(restarted.virtualDurationMillis / 5_000);
    } finally {
      store.close();
    }
  });

  it('a regressing canary restarted before its rollback is still rolled back, at the same point', {
    timeout: 120_000,
  }, async () => {
    const options = { scenario: SCENARIO.toolRegression, seed: 1, requestsPerSecond: RATE } as const;
    const uninterrupted = await runDemo({ ...options, outDir: outDir() });
    const rollbackAt = uninterrupted.decisions.at(-1)?.elapsedMillis ?? 0;
    expect(uninterrupted.outcome).toBe('rolled_back');
    expect(rollbackAt).toBeGreaterThan(2 * MINUTE);
    const restartAt = Math.floor(rollbackAt / 2 / 5_000) * 5_000;
    const restarted = await runDemo({ ...options, outDir: outDir(), restartControllerAtMillis: restartAt });
    expect(restarted.controllerRestartedAtMillis).toBe(restartAt);
    expect(restarted.decisions).toEqual(uninterrupted.decisions);
  });
});
