/**
 * examples/vercel-ai end to end: a real AI SDK 6 `ToolLoopAgent` (mock model, built-in
 * telemetry), routed by the real OpenFeature SDK through the embedded provider, its spans
 * tagged and aggregated by our processors, and a short rollout of the regressed prompt that
 * the gate rolls back.
 */
import { describe, expect, it } from 'vitest';
import { CANARY_RELEASE, REWORDED_RELEASE, STABLE_RELEASE } from '../examples/vercel-ai/src/agent.js';
import { runExample } from '../examples/vercel-ai/src/example.js';
import { describeFrameworkExample } from './helpers/framework-example.js';

describeFrameworkExample({
  name: 'examples/vercel-ai',
  scope: 'ai',
  stableRelease: STABLE_RELEASE,
  canaryRelease: CANARY_RELEASE,
  isToolSpan: (span) => span.attributes['ai.operationId'] === 'ai.toolCall',
  toolNameOf: (span) => String(span.attributes['ai.toolCall.name']),
  run: (options) => runExample(options),
});

describe('examples/vercel-ai, a harmless change', () => {
  // The same gate lets a harmless prompt change through: the rollback above is the
  // regression's doing, not a gate that fails everything.
  it('promotes a harmless rewording of the prompt through every step', async () => {
    const benign = await runExample({ canaryRelease: REWORDED_RELEASE, usersAfter: 10 });
    expect(benign.phase).toBe('promoted');
    expect(benign.decisions.map((decision) => decision.to)).toEqual(['canary@10%', 'canary@50%', 'promoted']);
    expect(benign.failedChecks).toEqual([]);
    expect(Object.keys(benign.toolCallsByRelease[REWORDED_RELEASE] ?? {})).toEqual(['get_weather']);
    expect(benign.releasesAfter).toEqual({ [REWORDED_RELEASE]: 10 });
  }, 60_000);
});
