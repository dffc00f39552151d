/**
 * The rollout report: one implementation in `@agent-canary/server`, shared with the
 * dashboard, and re-exported here where the CLI exported it before.
 */
export type {
  CheckPoint,
  CheckSeries,
  RenderReportOptions,
  ReportData,
  ReportDecision,
  RequestPoint,
  SharePoint,
} from '@agent-canary/server';
export {
  buildReportData,
  checkSeriesOf,
  escapeHtml,
  jsonForScript,
  loadChartJsSource,
  renderReportHtml,
} from '@agent-canary/server';
