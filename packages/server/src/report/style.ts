/**
 * The styles of the rollout view, shared by the static report and the dashboard: colour
 * tokens (the charts read them too), cards, key figures, badges and the decision table.
 * Plain CSS, no external font or image.
 */
export const ROLLOUT_VIEW_STYLE = `
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
.swatch-canary { background: var(--canary); } .swatch-control { background: var(--control); } .swatch-stable { background: var(--stable); }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 0 0 20px; }
.kpi { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 12px 14px; }
.kpi .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.kpi .value { font-size: 20px; font-weight: 600; margin-top: 2px; font-variant-numeric: tabular-nums; }
.kpi .value small { display: block; font-size: 12px; font-weight: 400; color: var(--muted); overflow-wrap: anywhere; }
section.card { background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 18px 20px 20px; margin: 0 0 20px; }
section.card > header { margin-bottom: 12px; }
section.card > header p { color: var(--muted); margin: 0; font-size: 13px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(250px, 100%), 1fr)); gap: 14px; }
.two-col .grid { grid-template-columns: 1fr; }
.panel { margin: 0; border: 1px solid var(--border); border-radius: 10px; padding: 10px 12px 8px; }
.panel-title { font-weight: 600; text-transform: capitalize; }
.panel-sub { color: var(--muted); font-size: 12px; margin-bottom: 4px; font-variant-numeric: tabular-nums; }
.chart-box { position: relative; width: 100%; }
.two-col { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap: 20px; }
.two-col > section.card { margin: 0; }
.two-col { margin: 0 0 20px; }
.empty { color: var(--muted); font-style: italic; margin: 8px 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; color: #fff; background: var(--inconclusive); white-space: nowrap; }
.badge-pass { background: var(--pass); } .badge-warn { background: var(--warn); } .badge-fail { background: var(--fail); }
.badge-inconclusive { background: var(--inconclusive); } .badge-running { background: var(--running); }
.badge-lg { font-size: 14px; padding: 4px 12px; }
table.decisions { width: 100%; border-collapse: collapse; }
.table-scroll { overflow-x: auto; }
h1, .lede, .reason, .facts, ul.evidence li { overflow-wrap: anywhere; }
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
@media (max-width: 640px) { main { padding: 16px 10px 40px; } section.card { padding: 14px 12px; } .transition { white-space: normal; } table.decisions td { padding: 8px 6px; } }
@media print { body { background: #fff; } section.card, .kpi { break-inside: avoid; } }
`;
