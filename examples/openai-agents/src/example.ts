/**
 * An OpenAI Agents SDK agent under a canary. The SDK traces into its own processors, not
 * OpenTelemetry: OpenInference's `OpenAIAgentsInstrumentation` replaces them with one that
 * starts an OpenTelemetry span per SDK span, under the active context, so agent-canary's
 * release tagger and behaviour processor see them. A short rollout of the regressed prompt
 * is rolled back.
 */

import { type ExampleResult, type RolloutExampleOptions, runRollout } from '@agent-canary/example-rollout';
import { OpenAIAgentsInstrumentation } from '@arizeai/openinference-instrumentation-openai-agents';
import * as agents from '@openai/agents';
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
      // register() installs the AsyncLocalStorage context manager: the OpenInference processor
      // starts each span under the active context, where withRelease put the assignment.
      const provider = new NodeTracerProvider({ spanProcessors: [...spanProcessors] });
      provider.register();
      const instrumentation = new OpenAIAgentsInstrumentation({ tracerProvider: provider });
      // ESM: patch the module object we import (exclusive: the SDK's default exporter to
      // OpenAI's tracing backend is removed).
      instrumentation.manuallyInstrument(agents);
      // The SDK switches its tracing off when NODE_ENV is `test` (and with
      // OPENAI_AGENTS_DISABLE_TRACING); agent-canary needs it on.
      agents.setTracingDisabled(false);
      return {
        answer: (release, userIndex) => answerQuestion(release, questionFor(userIndex).text),
        async shutdown() {
          agents.setTraceProcessors([]);
          instrumentation.disable();
          await provider.shutdown();
          trace.disable();
          context.disable();
          propagation.disable();
        },
      };
    },
  });
}
