import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import type { GateEvaluator } from '@agent-canary/gate';
import { EmbeddedProvider, EmbeddedRoutingAdapter, readRoutingStateSync } from '@agent-canary/routing';
import { OpenFeature } from '@openfeature/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterEach(async () => {
  await OpenFeature.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const idleGate: GateEvaluator = {
  async evaluate(context) {
    return {
      result: {
        verdict: 'inconclusive',
        sequentialFailure: false,
        thresholdFailure: false,
        sampleRatioMismatch: false,
        requests: { stable: 0, canary: 0, control: 0 },
        subjects: { stable: 0, canary: 0, control: 0 },
        checks: [],
        reason: 'no data yet',
        evaluatedAtMillis: context.nowMillis,
      },
      state: null,
    };
  },
};

describe('RolloutController writing through EmbeddedRoutingAdapter, read by EmbeddedProvider', () => {
  it('routes ~5% to canary and ~5% to control at start, everyone to canary after a promotion', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ac-ctl-routing-'));
    dirs.push(dir);
    const path = join(dir, 'routing.json');
    const routing = new EmbeddedRoutingAdapter({ path });
    const store = new RolloutStore();
    const controller = new RolloutController({ store, routing, gate: idleGate, env: {} });
    await controller.start({ id: 'r1', flagKey: 'agent-release', canaryRelease: 'v2', stableRelease: 'v1' });

    let now = 0;
    await OpenFeature.setProviderAndWait('ctl', new EmbeddedProvider({ path, watch: false, monotonicNow: () => now }));
    const client = OpenFeature.getClient('ctl');
    const cohorts = async () => {
      const counts: Record<string, number> = { canary: 0, control: 0, stable: 0 };
      for (let i = 0; i < 4_000; i++) {
        const details = await client.getStringDetails('agent-release', 'x', { targetingKey: `u${i}` });
        counts[details.variant ?? 'none'] = (counts[details.variant ?? 'none'] ?? 0) + 1;
      }
      return counts;
    };
    const atStart = await cohorts();
    expect(atStart['canary']).toBeGreaterThan(140);
    expect(atStart['canary']).toBeLessThan(260);
    expect(atStart['control']).toBeGreaterThan(140);
    expect(atStart['control']).toBeLessThan(260);

    const promoted = await controller.promote({ actor: 'ana', reason: 'ship it' });
    expect(promoted.ok).toBe(true);
    now += 100;
    expect((await cohorts())['canary']).toBe(4_000);
  });

  it('a rollback reaches the provider as one write with canary and control at zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ac-ctl-routing-'));
    dirs.push(dir);
    const path = join(dir, 'routing.json');
    const routing = new EmbeddedRoutingAdapter({ path });
    const controller = new RolloutController({ store: new RolloutStore(), routing, gate: idleGate, env: {} });
    await controller.start({ id: 'r2', flagKey: 'agent-release', canaryRelease: 'v2', stableRelease: 'v1' });
    const before = readRoutingStateSync(path)?.version ?? 0;
    expect((await controller.rollback({ actor: 'oncall', reason: 'complaints' })).ok).toBe(true);
    const after = readRoutingStateSync(path);
    expect(after?.version).toBe(before + 1);
    expect(after?.flags['agent-release']).toMatchObject({
      canaryBasisPoints: 0,
      controlBasisPoints: 0,
      rolloutId: 'r2',
    });
    const provider = new EmbeddedProvider({ path, watch: false });
    await OpenFeature.setProviderAndWait('rb', provider);
    const client = OpenFeature.getClient('rb');
    for (let i = 0; i < 500; i++) {
      expect(await client.getStringValue('agent-release', 'x', { targetingKey: `u${i}` })).toBe('v1');
    }
  });
});
