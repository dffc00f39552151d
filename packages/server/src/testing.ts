/** Test data for the report and the dashboard (`@agent-canary/server/testing`). */
export type { SyntheticRollout, SyntheticRolloutOptions } from './testing-fixtures/synthetic-rollout.js';
export { memoryReportSource, syntheticRollout } from './testing-fixtures/synthetic-rollout.js';
