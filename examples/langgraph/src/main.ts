/** `pnpm start [langgraph|deepagents]`: a short canary rollout of a regressed prompt on a LangGraph agent. */

import { formatResult } from '@agent-canary/example-rollout';
import { AGENT_FLAVOR } from './agent.js';
import { runExample } from './example.js';

const flavor = process.argv[2] === AGENT_FLAVOR.deepagents ? AGENT_FLAVOR.deepagents : AGENT_FLAVOR.langgraph;
console.log(`${flavor}:`);
console.log(formatResult(await runExample({ flavor })));
