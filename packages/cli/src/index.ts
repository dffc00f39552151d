export type { ConfigValidateOptions } from './commands/config.js';
export type { CommandContext } from './commands/context.js';
export { DEFAULT_STORE_PATH, ENV } from './commands/context.js';
export type { ReportOptions } from './commands/report.js';
export type { RolloutActionOptions, RolloutStartOptions, RolloutStatusOptions } from './commands/rollout.js';
export type {
  RolloutDefinition,
  RoutingDefinition,
  RoutingProvider,
} from './config.js';
export {
  ConfigFileError,
  loadRolloutDefinition,
  parseDurationMillis,
  parseRolloutDefinition,
  parseRolloutDefinitionText,
  ROUTING_PROVIDER,
  safeParseRolloutDefinition,
} from './config.js';
export type { ControllerStoreOptions, RoutingFactory } from './controller-store.js';
export { controllerStoreOpener, sharesOfLabel, toolMixOfSnapshot } from './controller-store.js';
export type { ExitCode } from './exit-codes.js';
export { EXIT_CODE } from './exit-codes.js';
export type { CliIo } from './io.js';
export { processIo } from './io.js';
export type { Output } from './output.js';
export { CliFailure, createOutput } from './output.js';
export type { RunDependencies } from './program.js';
export { run } from './program.js';
export type { Progress, ProgressOptions, ProgressState } from './progress.js';
export { createProgress, formatProgress } from './progress.js';
export type {
  CheckPoint,
  CheckSeries,
  ReportData,
  ReportDecision,
  RequestPoint,
  SharePoint,
} from './report/data.js';
export { buildReportData, checkSeriesOf } from './report/data.js';
export type { RenderReportOptions } from './report/html.js';
export { escapeHtml, jsonForScript, loadChartJsSource, renderReportHtml } from './report/html.js';
export type { CliRoutingOptions } from './routing.js';
export { cliRoutingFactory, ROUTING_FILE_ENV } from './routing.js';
export type {
  ActionOutcome,
  Attribution,
  CliStore,
  EvaluationRecord,
  ManualAction,
  OpenStore,
  OpenStoreContext,
  RolloutHistory,
  RolloutOutcome,
  RolloutSummary,
  ToolMix,
  TransitionRecord,
} from './store.js';
export { MANUAL_ACTION, ROLLOUT_OUTCOME } from './store.js';
