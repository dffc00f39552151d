/** `pnpm start`: a short canary rollout of a regressed prompt on a Vercel AI SDK agent. */

import { formatResult } from '@agent-canary/example-rollout';
import { runExample } from './example.js';

console.log(formatResult(await runExample()));
