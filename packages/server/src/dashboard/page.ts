/**
 * The dashboard's page: one HTML shell for every page (it carries no data), its styles,
 * and the security headers every dashboard answer carries.
 */
import { ROLLOUT_VIEW_STYLE } from '../report/style.js';

/** Paths of the dashboard's static assets. */
export const DASHBOARD_ASSET = Object.freeze({
  chartJs: '/dashboard/assets/chart.js',
  view: '/dashboard/assets/view.js',
  app: '/dashboard/assets/app.js',
  style: '/dashboard/assets/style.css',
});

/**
 * Content-Security-Policy of the dashboard: scripts, styles and requests from its own
 * origin only; no inline script, no plugin, no frame, no form submission elsewhere.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every dashboard answer. */
export const DASHBOARD_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});

/** What the shell tells the page script. */
export interface ShellSettings {
  readonly pollIntervalMillis: number;
  /** The controller API is there to take actions. */
  readonly actions: boolean;
}

/** The HTML shell of every dashboard page; the page script draws the page from the URL. */
export function dashboardShell(settings: ShellSettings): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>agent-canary dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${DASHBOARD_ASSET.style}">
</head>
<body data-poll-millis="${settings.pollIntervalMillis}" data-actions="${settings.actions ? 'on' : 'off'}">
<a class="skip" href="#content">Skip to content</a>
<header class="bar">
  <nav aria-label="Dashboard"><a class="brand" href="/">agent-canary</a><a href="/" data-nav="rollouts">Rollouts</a><a href="/releases" data-nav="releases">Releases</a></nav>
  <div class="bar-right"><span id="live" role="status" aria-live="polite"></span><button type="button" id="forget-tokens" class="link" hidden>Forget tokens</button></div>
</header>
<main id="content" tabindex="-1"><noscript>The dashboard needs JavaScript.</noscript></main>
<script src="${DASHBOARD_ASSET.chartJs}"></script>
<script src="${DASHBOARD_ASSET.view}"></script>
<script src="${DASHBOARD_ASSET.app}"></script>
</body>
</html>
`;
}

/** Styles of the dashboard: the rollout view's, plus the bar, tables, status, actions and dialog. */
export const DASHBOARD_STYLE = `${ROLLOUT_VIEW_STYLE}
.skip { position: absolute; left: -9999px; top: 0; background: var(--card); padding: 8px 12px; z-index: 10; }
.skip:focus { left: 8px; }
header.bar { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px 16px; padding: 10px 24px; background: var(--card); border-bottom: 1px solid var(--border); }
header.bar nav { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline; }
header.bar nav a { color: var(--text); text-decoration: none; padding: 2px 0; border-bottom: 2px solid transparent; }
header.bar nav a[aria-current="page"] { border-bottom-color: var(--control); font-weight: 600; }
header.bar nav a.brand { font-weight: 700; margin-right: 8px; }
.bar-right { display: flex; gap: 12px; align-items: center; color: var(--muted); font-size: 12px; }
.live-dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--pass); margin-right: 6px; }
.live-dot.stale { background: var(--warn); }
a { color: var(--control); }
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible, summary:focus-visible, main:focus-visible { outline: 2px solid var(--control); outline-offset: 2px; }
main:focus { outline: none; }
.crumb { margin: 0 0 12px; font-size: 13px; }
h1.page { font-size: 22px; margin: 0 0 16px; }
table.list { width: 100%; border-collapse: collapse; }
table.list th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em; border-bottom: 1px solid var(--border); padding: 6px 10px; }
table.list td { vertical-align: top; border-bottom: 1px solid var(--grid); padding: 10px; overflow-wrap: anywhere; }
table.list tr:last-child td { border-bottom: 0; }
table.list td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.chips { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 4px; }
.chip { display: inline-block; padding: 0 7px; border-radius: 999px; font-size: 11px; background: var(--grid); color: var(--text); border: 1px solid var(--border); }
.chip-alert { background: #fff4e6; border-color: var(--warn); }
dl.fields { display: grid; grid-template-columns: minmax(140px, max-content) 1fr; gap: 4px 16px; margin: 0; }
dl.fields dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.03em; padding-top: 2px; }
dl.fields dd { margin: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
.status-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap: 20px; margin: 0 0 20px; }
.status-grid > section.card { margin: 0; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 4px 0 8px; }
button { font: inherit; cursor: pointer; }
.actions button, dialog button { border: 1px solid var(--border); background: var(--card); color: var(--text); border-radius: 8px; padding: 6px 14px; font-weight: 600; }
.actions button:hover, dialog button:hover { border-color: var(--control); }
.actions button.danger, dialog button.danger { color: var(--fail); }
.actions button[disabled] { opacity: 0.5; cursor: not-allowed; }
button.link { border: 0; background: none; color: var(--control); padding: 0; font-size: 12px; text-decoration: underline; }
.message { margin: 8px 0 0; padding: 8px 12px; border-radius: 8px; border: 1px solid var(--border); overflow-wrap: anywhere; }
.message[hidden] { display: none; }
.message.refused { border-color: var(--fail); background: #fff5f5; }
.message.accepted { border-color: var(--pass); background: #f4fbf5; }
dialog { border: 1px solid var(--border); border-radius: 12px; padding: 20px; width: min(480px, calc(100vw - 32px)); color: var(--text); }
dialog::backdrop { background: rgba(29, 35, 48, 0.35); }
dialog h2 { margin: 0 0 12px; font-size: 17px; overflow-wrap: anywhere; }
dialog label { display: block; font-weight: 600; font-size: 13px; margin: 10px 0 4px; }
dialog input, dialog textarea { width: 100%; font: inherit; padding: 6px 8px; border: 1px solid var(--border); border-radius: 6px; }
dialog .hint { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
dialog .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 16px; }
form.token { display: grid; gap: 8px; max-width: 460px; }
form.token input { font: inherit; padding: 6px 8px; border: 1px solid var(--border); border-radius: 6px; }
form.token button { justify-self: start; border: 1px solid var(--border); background: var(--card); border-radius: 8px; padding: 6px 14px; font-weight: 600; }
.monitor-title { font-weight: 600; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 6px; overflow-wrap: anywhere; }
#status details { margin-top: 8px; }
#status summary { cursor: pointer; color: var(--muted); font-size: 13px; }
#status details dl.fields { margin-top: 6px; }
@media (max-width: 700px) {
  header.bar { padding: 8px 10px; }
  table.list thead { display: none; }
  table.list tr { display: block; border-bottom: 1px solid var(--border); padding: 6px 0; }
  table.list td { display: block; border: 0; padding: 3px 4px; }
  table.list td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: 12px; }
  dl.fields { grid-template-columns: 1fr; }
  dl.fields dd { margin-bottom: 6px; }
}
`;
