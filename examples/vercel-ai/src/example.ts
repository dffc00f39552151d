/**
 * A Vercel AI SDK 6 agent under a canary: the AI SDK's built-in telemetry
 * (`experimental_telemetry`) reports to a tracer provider that carries agent-canary's release
 * tagger and behaviour processor; a short rollout of the regressed prompt is rolled back.
 */

import { type ExampleResult, type RolloutExampleOptions, runRollout } from '@agent-canary/example-rollout';
import { context, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { CANARY_RELEASE, createWeatherAgent, questionFor, STABLE_RELEASE } from './agent.js';

/** Options of {@link runExample}: the rollout's, without the agent wiring. */
export interface ExampleOptions extends Omit<RolloutExampleOptions, 'stableRelease' | 'canaryRelease' | 'install'> {
  /** The release to canary: the regressed prompt, or `REWORDED_RELEASE`, a harmless one. @default 'weather@v2' */
  readonly canaryRelease?: string;
}

/** Runs the weather agent through a short rollout of the regressed prompt `weather@v2` (by default). */
export function runExample(options: ExampleOptions = {}): Promise<ExampleResult> {
  return runRollout({
    ...options,
    stableRelease: STABLE_RELEASE,
    canaryRelease: options.canaryRelease ?? CANARY_RELEASE,
    install: (spanProcessors) => {
      // The AI SDK reports to the global tracer provider; register() also installs the
      // AsyncLocalStorage context manager, without which every AI SDK span is its own trace.
      const provider = new NodeTracerProvider({ spanProcessors: [...spanProcessors] });
      provider.register();
      return {
        answer: (release, userIndex) => createWeatherAgent(release).generate({ prompt: questionFor(userIndex).text }),
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
