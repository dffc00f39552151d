export type { ConfigValidateOptions } from './commands/config.js';
export type { CommandContext } from './commands/context.js';
export { DEFAULT_STORE_PATH, ENV } from './commands/context.js';
export type {
  DemoCommandOptions,
  DemoDecisionView,
  DemoProgressView,
  DemoResultView,
  DemoRunner,
  DemoRunOptions,
} from './commands/demo.js';
export { bundledDemo, formatDemoResult } from './commands/demo.js';
export type { MonitorCommandOptions } from './commands/monitor.js';
export { PROMETHEUS_URL_ENV } from './commands/monitor.js';
export type { ReleaseCreateOptions, ReleaseListOptions, ReleaseShowOptions } from './commands/release.js';
export { parseModelParameter } from './commands/release.js';
export type { ReportOptions } from './commands/report.js';
export type { RolloutActionOptions, RolloutStartOptions, RolloutStatusOptions } from './commands/rollout.js';
export type { ServeCommandOptions } from './commands/serve.js';
export type { SimulateCommandOptions } from './commands/simulate.js';
export type { RoutingProvider } from './config/file-schema.js';
export { parseDurationMillis, ROUTING_PROVIDER } from './config/file-schema.js';
export type { RolloutDefinition, RoutingDefinition, ServeDefinition } from './config.js';
export {
  ConfigFileError,
  loadRolloutDefinition,
  parseRolloutDefinition,
  parseRolloutDefinitionText,
  safeParseRolloutDefinition,
} from './config.js';
export type {
  ActionControllerOptions,
  ControllerStoreOptions,
  RoutingFactory,
  StoredRolloutActionsOptions,
} from './controller-store.js';
export {
  actionController,
  controllerStoreOpener,
  sharesOfLabel,
  storedRolloutActions,
  toolMixOfSnapshot,
} from './controller-store.js';
export type { ExitCode } from './exit-codes.js';
export { EXIT_CODE } from './exit-codes.js';
export type { CliIo } from './io.js';
export { processIo } from './io.js';
export type { Output } from './output.js';
export { CliFailure, createOutput } from './output.js';
export type { RunDependencies } from './program.js';
export { run } from './program.js';
export type { Progress, ProgressOptions, ProgressState, StatusLine } from './progress.js';
export { createProgress, createStatusLine, formatProgress } from './progress.js';
export type {
  CheckPoint,
  CheckSeries,
  RenderReportOptions,
  ReportData,
  ReportDecision,
  RequestPoint,
  SharePoint,
} from './report.js';
export {
  buildReportData,
  checkSeriesOf,
  escapeHtml,
  jsonForScript,
  loadChartJsSource,
  renderReportHtml,
} from './report.js';
export type { CliRoutingOptions, LangfuseClientSettings } from './routing.js';
export { cliRoutingFactory, createRoutingAdapter, LANGFUSE_CLIENT_ENV, ROUTING_FILE_ENV } from './routing.js';
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
