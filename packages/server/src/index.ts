export type { ApiAction, ManualActionAnswer, ManualActionHandler } from './api.js';
export { API_ACTION, API_ERROR_CODE, ControllerApi } from './api.js';
export type { ServerConfig, ServerOptions } from './config.js';
export { resolveServerConfig, SERVER_DEFAULTS, SERVER_ENV } from './config.js';
export type { ReadAccessResult } from './dashboard/access.js';
export { describeReadAccess, isLoopbackHost, ReadAccess } from './dashboard/access.js';
export type { DashboardConfig, DashboardOptions } from './dashboard/config.js';
export { DASHBOARD_DEFAULTS, DASHBOARD_ENV, resolveDashboardConfig } from './dashboard/config.js';
export type { DashboardContext } from './dashboard/dashboard.js';
export { DASHBOARD_API_PREFIX, Dashboard } from './dashboard/dashboard.js';
export { DASHBOARD_CSP } from './dashboard/page.js';
export type {
  DashboardMonitor,
  DashboardRollout,
  ReleasesDocument,
  RolloutDocument,
  RolloutListDocument,
  StableReleaseView,
} from './dashboard/views.js';
export {
  releasesDocument,
  rolloutDocument,
  rolloutListDocument,
  rolloutVersion,
  VerdictCache,
} from './dashboard/views.js';
export type { ConvertLimits, DecodedBatch, RejectReason } from './otlp/convert.js';
export { decodeJsonRequest, decodeProtobufRequest, OtlpDecodeError, REJECT_REASON } from './otlp/convert.js';
export { ReceivedSpan } from './otlp/received-span.js';
export type { ReceiverStats } from './receiver.js';
export { OTLP_CONTENT_TYPE, TraceReceiver } from './receiver.js';
export type { CheckPoint, CheckSeries, ReportData, ReportDecision, RequestPoint, SharePoint } from './report/data.js';
export { buildReportData, checkSeriesOf, thinCheckSeries } from './report/data.js';
export type { RenderReportOptions } from './report/html.js';
export { escapeHtml, jsonForScript, loadChartJsSource, renderReportHtml } from './report/html.js';
export type {
  EvaluationRecord,
  ReportSource,
  RolloutHistory,
  RolloutOutcome,
  RolloutSummary,
  ToolMix,
  TransitionRecord,
} from './report/model.js';
export { ROLLOUT_OUTCOME } from './report/model.js';
export type { StoreReportSource } from './report/store-view.js';
export {
  readRolloutHistory,
  readRolloutSummary,
  sharesOfLabel,
  storeReportSource,
  summaryOfRecord,
  toolMixOfSnapshot,
  toolMixOfWindows,
} from './report/store-view.js';
export type { AgentCanaryServer } from './server.js';
export { OTLP_TRACES_PATH, startServer } from './server.js';
