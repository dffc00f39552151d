/**
 * A Mastra agent under a canary. Mastra traces into its own span model; `@mastra/otel-bridge`
 * creates a live OpenTelemetry span for each Mastra span on the global tracer provider, under
 * the active context, so agent-canary's release tagger and behaviour processor see them. A
 * short rollout of the regressed prompt is rolled back.
 */

import { type ExampleResult, type RolloutExampleOptions, runRollout } from '@agent-canary/example-rollout';
import { context, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { answerQuestion, CANARY_RELEASE, createMastra, questionFor, STABLE_RELEASE } from './agent.js';

/** Options of {@link runExample}: the rollout's, without the agent wiring. */
export type ExampleOptions = Omit<RolloutExampleOptions, 'stableRelease' | 'canaryRelease' | 'install'>;

/** Runs the weather agent through a short rollout of the regressed prompt `weather@v2`. */
export function runExample(options: ExampleOptions = {}): Promise<ExampleResult> {
  return runRollout({
    ...options,
    stableRelease: STABLE_RELEASE,
    canaryRelease: CANARY_RELEASE,
    install: (spanProcessors) => {
      // The bridge starts its spans on the global tracer provider; register() also installs
      // the AsyncLocalStorage context manager it reads the active context from.
      const provider = new NodeTracerProvider({ spanProcessors: [...spanProcessors] });
      provider.register();
      const mastra = createMastra();
      return {
        answer: (release, userIndex) => answerQuestion(mastra, release, questionFor(userIndex).text),
        async shutdown() {
          await mastra.shutdown();
          await provider.shutdown();
          trace.disable();
          context.disable();
          propagation.disable();
        },
      };
    },
  });
}
