/**
 * A dependency-free SVG plot of the report: canary requests to detection per gate and
 * effect scenario, log scale, median dot with a line to the 95th percentile.
 */
import { GATE_IDS, type GateId } from './gates.js';
import type { SimulationReport } from './report.js';

const COLORS: Readonly<Record<GateId, string>> = Object.freeze({
  naive: '#9e9e9e',
  'naive-any': '#cfcfcf',
  kayenta: '#e69f00',
  'kayenta-cal': '#b07800',
  ours: '#0072b2',
  'ours-thresholds': '#56b4e9',
  'ours-request': '#cc79a7',
  oracle: '#009e73',
  'oracle-split': '#7fcfb2',
});

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Renders the effect scenarios of `report` as an SVG document (a string). A/A
 * scenarios have nothing to detect and are left to the table.
 *
 * @example
 * writeFileSync('docs/detection-benchmark.svg', renderPlotSvg(report));
 */
export function renderPlotSvg(report: SimulationReport): string {
  const scenarios = report.scenarios.filter((scenario) => scenario.effect);
  const gates = GATE_IDS.filter((gate) => report.gates.includes(gate));
  const left = 330;
  const right = 210;
  // A fast detection means little from a gate that also rolls back healthy releases.
  const falseRollbacks = new Map(
    (report.scenarios.find((scenario) => !scenario.effect && !scenario.sticky)?.gates ?? []).map((g) => [
      g.gate,
      g.rate,
    ]),
  );
  const plotWidth = 520;
  const rowHeight = 13;
  const groupGap = 16;
  const top = 40 + 16 * Math.ceil(gates.length / 3);
  const minLog = 1; // 10 requests
  const maxLog = Math.log10(Math.max(20_000, ...scenarios.map((s) => s.horizonCanaryRequests)));
  const x = (requests: number) =>
    left + ((Math.log10(Math.max(requests, 10)) - minLog) / (maxLog - minLog)) * plotWidth;
  const parts: string[] = [];
  let y = top;
  for (const scenario of scenarios) {
    parts.push(
      `<text x="8" y="${y + 10}" font-weight="bold">${escapeXml(scenario.title)}</text>`,
      `<line x1="${left}" x2="${left + plotWidth}" y1="${y - 3}" y2="${y - 3}" stroke="#eee"/>`,
    );
    y += 14;
    for (const summary of scenario.gates) {
      const color = COLORS[summary.gate];
      parts.push(`<text x="20" y="${y + 9}" fill="#444">${escapeXml(summary.label)}</text>`);
      if (summary.canaryRequests) {
        const median = x(summary.canaryRequests.median);
        const p95 = x(summary.canaryRequests.p95);
        const wolf = (falseRollbacks.get(summary.gate) ?? 0) > 0.05;
        const dot = wolf ? `fill="white" stroke="${color}" stroke-width="2"` : `fill="${color}"`;
        parts.push(
          `<line x1="${median.toFixed(1)}" x2="${p95.toFixed(1)}" y1="${y + 5}" y2="${y + 5}" stroke="${color}" stroke-width="2"/>`,
          `<circle cx="${median.toFixed(1)}" cy="${y + 5}" r="4" ${dot}/>`,
        );
      }
      const power = `${Math.round(summary.rate * 100)}%`;
      const median = summary.canaryRequests ? `${summary.canaryRequests.median}` : '—';
      const aa = falseRollbacks.get(summary.gate);
      const aaText = aa === undefined ? '' : ` · A/A ${(100 * aa).toFixed(aa < 0.1 ? 1 : 0)}%`;
      parts.push(
        `<text x="${left + plotWidth + 10}" y="${y + 9}" fill="#444">${median} · power ${power}${aaText}</text>`,
      );
      y += rowHeight;
    }
    y += groupGap;
  }
  const bottom = y;
  const ticks: string[] = [];
  for (let decade = minLog; decade <= Math.floor(maxLog); decade += 1) {
    const tx = x(10 ** decade);
    ticks.push(
      `<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${top - 8}" y2="${bottom}" stroke="#ddd"/>`,
      `<text x="${tx.toFixed(1)}" y="${bottom + 14}" text-anchor="middle">${(10 ** decade).toLocaleString('en-US')}</text>`,
    );
  }
  const legend = gates.map((gate, index) => {
    const lx = 8 + (index % 3) * 300;
    const ly = 28 + 16 * Math.floor(index / 3);
    const label = report.scenarios.flatMap((s) => s.gates).find((g) => g.gate === gate)?.label ?? gate;
    return `<circle cx="${lx + 5}" cy="${ly - 4}" r="4" fill="${COLORS[gate]}"/><text x="${lx + 14}" y="${ly}">${escapeXml(label)}</text>`;
  });
  const width = left + plotWidth + right;
  const height = bottom + 40;
  const title = `Canary requests to detection (median dot, line to p95; log scale; hollow: > 5% false rollbacks in A/A) — seed ${report.seed}, ${report.effectRuns} runs per scenario`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="8" y="14" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    ...legend,
    ...ticks,
    ...parts,
    `<text x="${left + plotWidth / 2}" y="${bottom + 30}" text-anchor="middle">canary requests (log scale)</text>`,
    '</svg>',
    '',
  ].join('\n');
}
