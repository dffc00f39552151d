/**
 * A Strands Agents (TypeScript) agent under a canary. Strands emits OpenTelemetry GenAI
 * spans natively on the global tracer provider; registering one that carries agent-canary's
 * release tagger and behaviour processor is all it takes. A short rollout of the regressed
 * prompt is rolled back.
 */

import { type ExampleResult, type RolloutExampleOptions, runRollout } from '@agent-canary/example-rollout';
import { context, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { answerQuestion, CANARY_RELEASE, questionFor, STABLE_RELEASE } from './agent.js';

/** Options of {@link runExample}: the rollout's, without the agent wiring. */
export type ExampleOptions = Omit<RolloutExampleOptions, 'stableRelease' | 'canaryRelease' | 'install'>;

/** Runs the weather agent through a short rollout of the regressed prompt `weather@v2`. */
export function runExample(options: ExampleOptions = {}): Promise<ExampleResult> {
  return runRollout({
    ...options,
    stableRelease: STABLE_RELEASE,
    canaryRelease: CANARY_RELEASE,
    install: (spanProcessors) => {
      // Strands reports to the global tracer provider; register() also installs the
      // AsyncLocalStorage context manager its spans (and withRelease) rely on.
      const provider = new NodeTracerProvider({ spanProcessors: [...spanProcessors] });
      provider.register();
      return {
        answer: (release, userIndex) => answerQuestion(release, questionFor(userIndex).text),
        async shutdown() {
          await provider.shutdown();
          trace.disable();
          context.disable();
          propagation.disable();
        },
      };
    },
  });
}
