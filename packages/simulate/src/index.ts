export type { SimulateFlags } from './options.js';
export { SIMULATE_FLAG_DEFAULTS, simulationOptionsFromFlags } from './options.js';
export type { OracleDetection } from './oracle.js';
export { oracleDetection, streamTheta } from './oracle.js';
export type {
  CellSummary,
  DelaySummary,
  DetectionSummary,
  GateSummary,
  OracleSummary,
  SimulationReport,
  TargetCheck,
} from './report.js';
export {
  checkAlpha,
  formatDetection,
  formatFalseRollbacks,
  formatTable,
  ORACLE_ALPHA,
  wilsonInterval,
} from './report.js';
export type { Detection, GateId, RunOptions, RunResult } from './run.js';
export { GATE, GATE_IDS, GATE_LABELS, REQUEST_UNIT_OPTIONS, simulateRun } from './run.js';
export type { CanaryEffect, Heterogeneity, OracleStream, Scenario } from './scenarios.js';
export {
  BASE_RATES,
  CANARY_SHARES,
  HETEROGENEITY_GRID,
  ORACLE_STREAM,
  SCENARIO_IDS,
  SCENARIOS,
  TOOL_SHARES,
  TOOLS,
  TRAFFIC_DEFAULTS,
} from './scenarios.js';
export type { SimulationConfig, SimulationOptions, SimulationProgress } from './simulate.js';
export { resolveSimulationConfig, runSimulation, SIMULATION_DEFAULTS } from './simulate.js';
export { SimulatedMetricSource } from './source.js';
export { Population } from './traffic.js';
