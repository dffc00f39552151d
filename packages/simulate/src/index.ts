export type { GateId, RequestGate } from './gates.js';
export {
  GATE,
  GATE_IDS,
  GATE_LABELS,
  KAYENTA,
  KayentaGate,
  mannWhitneyZ,
  NAIVE_LIMITS,
  NaiveGate,
  ORACLE_ALPHA,
  OracleGate,
  twoProportionZ,
} from './gates.js';
export type { SimulateFlags } from './options.js';
export { SIMULATE_FLAG_DEFAULTS, simulationOptionsFromFlags } from './options.js';
export { renderPlotSvg } from './plot.js';
export type { DelaySummary, GateSummary, ScenarioSummary, SimulationReport, TargetCheck } from './report.js';
export { formatTable, wilsonInterval } from './report.js';
export type { Detection, RunOptions, RunResult } from './run.js';
export { OUR_GATE_OPTIONS, REQUEST_UNIT_GATE_OPTIONS, STICKY_GATE_OPTIONS, simulateRun } from './run.js';
export type { OracleSpec, OutcomeLaw, Scenario } from './scenarios.js';
export { BASELINE_LAW, SCENARIO_IDS, SCENARIOS, TOOLS, TRAFFIC_DEFAULTS } from './scenarios.js';
export type { SimulationConfig, SimulationOptions, SimulationProgress } from './simulate.js';
export { resolveSimulationConfig, runSimulation, SIMULATION_DEFAULTS } from './simulate.js';
export { SimulatedMetricSource } from './source.js';
