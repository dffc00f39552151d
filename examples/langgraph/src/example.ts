/**
 * A LangGraph.js agent (or a deepagents one) under a canary. LangChain has no OpenTelemetry
 * of its own: OpenInference's `LangChainInstrumentation` hooks LangChain's callback manager
 * and emits a span per graph, node, model call and tool call, under the active context, so
 * agent-canary's release tagger and behaviour processor see them. A short rollout of the
 * regressed prompt is rolled back.
 */

import { type ExampleResult, type RolloutExampleOptions, runRollout } from '@agent-canary/example-rollout';
import { LangChainInstrumentation } from '@arizeai/openinference-instrumentation-langchain';
import * as CallbackManagerModule from '@langchain/core/callbacks/manager';
import { context, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  AGENT_FLAVOR,
  type AgentFlavor,
  answerQuestion,
  CANARY_RELEASE,
  questionFor,
  STABLE_RELEASE,
} from './agent.js';

/** Options of {@link runExample}: the rollout's, without the agent wiring. */
export interface ExampleOptions extends Omit<RolloutExampleOptions, 'stableRelease' | 'canaryRelease' | 'install'> {
  /** Which way of writing the agent to run. @default 'langgraph' */
  readonly flavor?: AgentFlavor;
}

/** Runs the weather agent through a short rollout of the regressed prompt `weather@v2`. */
export function runExample(options: ExampleOptions = {}): Promise<ExampleResult> {
  const flavor = options.flavor ?? AGENT_FLAVOR.langgraph;
  return runRollout({
    ...options,
    stableRelease: STABLE_RELEASE,
    canaryRelease: CANARY_RELEASE,
    install: (spanProcessors) => {
      // register() installs the AsyncLocalStorage context manager: spans start under the
      // active context, where withRelease put the assignment.
      const provider = new NodeTracerProvider({ spanProcessors: [...spanProcessors] });
      provider.register();
      // ESM: patch the callback-manager module LangChain itself uses (the same instance,
      // hence one @langchain/core in the dependency tree).
      new LangChainInstrumentation({ tracerProvider: provider }).manuallyInstrument(CallbackManagerModule);
      return {
        answer: (release, userIndex) => answerQuestion(flavor, release, questionFor(userIndex).text),
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
