/** `pnpm start`: a short canary rollout of a regressed prompt on a Strands agent. */

import { formatResult } from '@agent-canary/example-rollout';
import { runExample } from './example.js';

console.log(formatResult(await runExample()));
