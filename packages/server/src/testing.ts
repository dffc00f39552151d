/** Test data for the report and the dashboard (`@agent-canary/server/testing`). */
export type { SyntheticRollout, SyntheticRolloutOptions } from './report/synthetic-rollout.js';
export { memoryReportSource, syntheticRollout } from './report/synthetic-rollout.js';
