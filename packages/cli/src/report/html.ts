/**
 * Renders the rollout report as ONE self-contained HTML file: inline CSS, Chart.js
 * inlined from the installed package, the data as JSON, and a small drawing script.
 * Opening it needs no network. Every string that came from a user (release names,
 * reasons, actors) is escaped; the data block cannot close its `<script>` element.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CheckEvidence } from '@agent-canary/gate';
import { REPORT_CLIENT_SCRIPT } from './client-script.js';
import type { ReportData, ReportDecision } from './data.js';

/** Options of `renderReportHtml`. */
export interface RenderReportOptions {
  /**
   * Chart.js UMD source to inline.
   * @default the installed `chart.js/dist/chart.umd.js`
   */
  readonly chartJsSource?: string;
}

let cachedChartJs: string | undefined;

/** Reads the installed Chart.js UMD bundle (without its source-map comment, which would point at a file). */
export function loadChartJsSource(): string {
  if (cachedChartJs === undefined) {
    const entry = createRequire(import.meta.url).resolve('chart.js');
    const source = readFileSync(join(dirname(entry), 'chart.umd.js'), 'utf8');
    cachedChartJs = source.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  }
  return cachedChartJs;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/**
 * Serialises a value as JSON that is safe inside a `<script>` element: `<`, `>`, `&` and
 * the JavaScript line separators are written as `\uXXXX`, so no string can end the
 * element or open a comment.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Inline script source, made safe for a `<script>` element. */
function inlineScript(source: string): string {
  // Chart.js contains neither sequence today; guard against a future version that would.
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function formatTime(millis: number): string {
  return `${new Date(millis).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function formatOffset(millis: number): string {
  const seconds = Math.max(0, Math.round(millis / 1000));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m ${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

function badge(kind: string, text: string = kind): string {
  return `<span class="badge badge-${escapeHtml(kind.replace(/[^a-z_]/gi, ''))}">${escapeHtml(text.replace(/_/g, ' '))}</span>`;
}

function outcomeOf(data: ReportData): { kind: string; text: string } {
  const pending = data.rollout.routingPending === undefined ? '' : ' — routing pending';
  if (data.rollout.outcome === 'promoted') return { kind: pending ? 'warn' : 'pass', text: `promoted${pending}` };
  if (data.rollout.outcome === 'rolled_back') return { kind: 'fail', text: `rolled back${pending}` };
  if (data.rollout.outcome === 'aborted') return { kind: pending ? 'fail' : 'warn', text: `aborted${pending}` };
  return { kind: pending ? 'warn' : 'running', text: `${data.rollout.state}${pending}` };
}

/** The KPI that says what the flag system still routes while the controller's split is not acknowledged. */
function routingKpi(data: ReportData): string[] {
  const pending = data.rollout.routingPending;
  if (pending === undefined) return [];
  const routed =
    pending.routedCanaryPercent === undefined
      ? 'unknown'
      : `canary ${pending.routedCanaryPercent}%, control ${pending.routedControlPercent ?? 0}%`;
  const since = pending.sinceMillis === undefined ? '' : ` since ${formatTime(pending.sinceMillis)}`;
  const error = pending.lastError === undefined ? '' : ` · ${pending.lastError}`;
  return [
    'Flag system still routes',
    `${escapeHtml(routed)} <small>not acknowledged${escapeHtml(since)}${escapeHtml(error)}</small>`,
  ];
}

function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function evidenceItem(evidence: CheckEvidence): string {
  const canary = evidence.measurements.find((m) => m.cohort === 'canary');
  const control = evidence.measurements.find((m) => m.cohort === 'control');
  const facts = [
    canary ? `canary ${formatNumber(canary.value)} (n=${canary.samples})` : undefined,
    control ? `control ${formatNumber(control.value)} (n=${control.samples})` : undefined,
    evidence.threshold ? `limit ${evidence.threshold.operator} ${formatNumber(evidence.threshold.value)}` : undefined,
    evidence.statistic
      ? `e-value ${formatNumber(evidence.statistic.eValue)} / boundary ${formatNumber(evidence.statistic.boundary)}`
      : undefined,
    evidence.effect
      ? `${evidence.effect.name} ${formatNumber(evidence.effect.value)}${
          evidence.effect.lower !== undefined && evidence.effect.upper !== undefined
            ? ` [${formatNumber(evidence.effect.lower)}, ${formatNumber(evidence.effect.upper)}]`
            : ''
        }`
      : undefined,
  ].filter((fact): fact is string => fact !== undefined);
  return (
    `<li>${badge(evidence.verdict)} <strong>${escapeHtml(evidence.check)}</strong> ` +
    `<span class="method">${escapeHtml(evidence.method.replace(/_/g, ' '))}</span> ${escapeHtml(evidence.reason)}` +
    (facts.length > 0 ? `<div class="facts">${escapeHtml(facts.join(' · '))}</div>` : '') +
    '</li>'
  );
}

function decisionRow(decision: ReportDecision, startMillis: number): string {
  const interesting = decision.evidence.filter((evidence) => evidence.verdict !== 'pass');
  const shown = interesting.length > 0 ? interesting : decision.evidence;
  const hidden = decision.evidence.length - shown.length;
  const evidence =
    decision.evidence.length === 0
      ? '<span class="muted">no gate evidence (manual or scheduled decision)</span>'
      : `<ul class="evidence">${shown.map(evidenceItem).join('')}</ul>` +
        (hidden > 0 ? `<div class="muted">${hidden} other check${hidden === 1 ? '' : 's'} passed</div>` : '');
  return (
    '<tr>' +
    `<td class="when"><div>+${escapeHtml(formatOffset(decision.atMillis - startMillis))}</div>` +
    `<div class="muted">${escapeHtml(formatTime(decision.atMillis))}</div></td>` +
    `<td><div class="transition">${escapeHtml(decision.from)} → <strong>${escapeHtml(decision.to)}</strong></div>` +
    `<div class="muted">${escapeHtml(decision.cause.replace(/_/g, ' '))} · by ${escapeHtml(decision.actor)}</div>` +
    (decision.verdict ? `<div>${badge(decision.verdict)}</div>` : '') +
    '</td>' +
    `<td><div class="reason">${escapeHtml(decision.reason)}</div>${evidence}</td>` +
    '</tr>'
  );
}

const STYLE = `
:root {
  --font: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  --bg: #f5f6f8; --card: #ffffff; --text: #1d2330; --muted: #6b7280; --border: #e4e7ec; --grid: #eceef2;
  --canary: #e8590c; --control: #1c7ed6; --stable: #adb5bd;
  --pass: #2f9e44; --warn: #f08c00; --fail: #e03131; --inconclusive: #868e96; --running: #1c7ed6;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.5 var(--font); }
main { max-width: 1180px; margin: 0 auto; padding: 32px 24px 64px; }
header.top { display: flex; flex-wrap: wrap; align-items: flex-start; justify-content: space-between; gap: 16px; margin-bottom: 20px; }
h1 { font-size: 24px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 16px; margin: 0 0 2px; }
.lede { color: var(--muted); margin: 0; }
.lede strong { color: var(--text); }
.swatch { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin: 0 4px 0 2px; vertical-align: 0; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 0 0 20px; }
.kpi { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 12px 14px; }
.kpi .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.kpi .value { font-size: 20px; font-weight: 600; margin-top: 2px; font-variant-numeric: tabular-nums; }
.kpi .value small { display: block; font-size: 12px; font-weight: 400; color: var(--muted); overflow-wrap: anywhere; }
section.card { background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 18px 20px 20px; margin: 0 0 20px; }
section.card > header { margin-bottom: 12px; }
section.card > header p { color: var(--muted); margin: 0; font-size: 13px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 14px; }
.two-col .grid { grid-template-columns: 1fr; }
.panel { margin: 0; border: 1px solid var(--border); border-radius: 10px; padding: 10px 12px 8px; }
.panel-title { font-weight: 600; text-transform: capitalize; }
.panel-sub { color: var(--muted); font-size: 12px; margin-bottom: 4px; font-variant-numeric: tabular-nums; }
.chart-box { position: relative; width: 100%; }
.two-col { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 20px; }
.two-col > section.card { margin: 0; }
.two-col { margin: 0 0 20px; }
.empty { color: var(--muted); font-style: italic; margin: 8px 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; color: #fff; background: var(--inconclusive); white-space: nowrap; }
.badge-pass { background: var(--pass); } .badge-warn { background: var(--warn); } .badge-fail { background: var(--fail); }
.badge-inconclusive { background: var(--inconclusive); } .badge-running { background: var(--running); }
.badge-lg { font-size: 14px; padding: 4px 12px; }
table.decisions { width: 100%; border-collapse: collapse; }
table.decisions th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em; border-bottom: 1px solid var(--border); padding: 6px 10px; }
table.decisions td { vertical-align: top; border-bottom: 1px solid var(--grid); padding: 10px; }
table.decisions td.when { white-space: nowrap; font-variant-numeric: tabular-nums; width: 1%; }
table.decisions tr:last-child td { border-bottom: 0; }
.transition { white-space: nowrap; }
.reason { margin-bottom: 4px; }
.muted { color: var(--muted); font-size: 12px; }
ul.evidence { list-style: none; margin: 0; padding: 0; }
ul.evidence li { padding: 3px 0; }
.method { color: var(--muted); font-size: 12px; margin-right: 4px; }
.facts { color: var(--muted); font-size: 12px; margin-left: 2px; font-variant-numeric: tabular-nums; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 24px; }
@media print { body { background: #fff; } section.card, .kpi { break-inside: avoid; } }
`;

/** Renders the report for one rollout as a complete, self-contained HTML document. */
export function renderReportHtml(data: ReportData, options: RenderReportOptions = {}): string {
  const { rollout } = data;
  const outcome = outcomeOf(data);
  const lastRequests = data.requests.at(-1)?.requests;

  const lastVerdict = [...data.decisions].reverse().find((decision) => decision.verdict)?.verdict;
  const failing = data.checks
    .filter((series) => series.points.at(-1)?.verdict === 'fail')
    .map((series) => series.check);
  const kpis = [
    ['Outcome', badge(outcome.kind, outcome.text)],
    ['Duration', escapeHtml(formatOffset(data.endMillis - data.startMillis))],
    [
      'Canary share',
      `${escapeHtml(formatNumber(rollout.canaryPercent))}% <small>step ${rollout.stepIndex + 1}/${rollout.stepCount}</small>`,
    ],
    [
      'Requests in window',
      lastRequests ? `${lastRequests.canary} / ${lastRequests.control} <small>canary / control</small>` : '–',
    ],
    [
      'Decisions',
      `${data.decisions.length}${lastVerdict ? ` <small>last gate verdict: ${escapeHtml(lastVerdict)}</small>` : ''}`,
    ],
    [
      'Failing checks',
      failing.length === 0 ? '0' : `${failing.length} <small>${escapeHtml(failing.join(', '))}</small>`,
    ],
    routingKpi(data),
  ].filter((kpi) => kpi.length > 0);
  const title = `Rollout ${rollout.id}: ${rollout.canaryRelease}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header class="top">
  <div>
    <h1>Rollout ${escapeHtml(rollout.id)}</h1>
    <p class="lede"><span class="swatch" style="background:var(--canary)"></span><strong>${escapeHtml(rollout.canaryRelease)}</strong> (canary)
    vs <span class="swatch" style="background:var(--control)"></span><strong>${escapeHtml(rollout.stableRelease)}</strong> (control and stable)
    · flag <strong>${escapeHtml(rollout.flagKey)}</strong></p>
    <p class="lede">${escapeHtml(formatTime(data.startMillis))} → ${escapeHtml(formatTime(data.endMillis))}</p>
  </div>
  <div>${badge(outcome.kind, outcome.text).replace('class="badge ', 'class="badge badge-lg ')}</div>
</header>
<div class="kpis">${kpis.map(([label, value]) => `<div class="kpi"><div class="label">${label}</div><div class="value">${value}</div></div>`).join('')}</div>
<section class="card"><header><h2>Traffic split</h2><p>Share of requests per cohort over time; dotted lines mark decisions (red: rollback, green: promotion). Control serves the stable release on a slice as large as the canary's.</p></header><div id="chart-share"></div></section>
<section class="card"><header><h2>Gate metrics</h2><p>Canary vs control at each evaluation; canary points coloured by the check's verdict; dashed line: absolute limit.</p></header><div class="grid" id="chart-metrics"></div></section>
<section class="card"><header><h2>Sequential tests</h2><p>Anytime-valid e-value of each canary-vs-control test against its rejection boundary 1/α (log scale). Crossing it rolls back at once.</p></header><div class="grid" id="chart-sequential"></div></section>
<div class="two-col">
<section class="card"><header><h2>Tool mix</h2><p>Share of tool calls per tool.</p></header><div id="chart-toolmix"></div></section>
<section class="card"><header><h2>Behaviour drift</h2><p>Divergence of the canary's behaviour profile from control's, against its tolerance.</p></header><div class="grid" id="chart-drift"></div></section>
</div>
<section class="card"><header><h2>Decision timeline</h2><p>Every state transition with who made it, why, and the gate evidence behind it (non-passing checks first).</p></header>
<table class="decisions"><thead><tr><th>When</th><th>Decision</th><th>Reason and evidence</th></tr></thead>
<tbody>${data.decisions.length === 0 ? '<tr><td colspan="3" class="empty">No decision recorded yet.</td></tr>' : data.decisions.map((decision) => decisionRow(decision, data.startMillis)).join('')}</tbody></table>
</section>
<footer>Generated by agent-canary on ${escapeHtml(formatTime(data.generatedAtMillis))}. Self-contained: charts drawn with Chart.js embedded in this file.</footer>
</main>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${inlineScript(options.chartJsSource ?? loadChartJsSource())}</script>
<script>${inlineScript(REPORT_CLIENT_SCRIPT)}</script>
</body>
</html>
`;
}
