import { describe, expect, it } from 'vitest';
import { buildReportData, type ReportData } from './data.js';
import { escapeHtml, inlineScript, jsonForScript, loadChartJsSource, renderReportHtml } from './html.js';
import { memoryReportSource, syntheticRollout } from './synthetic-rollout.js';
import { ROLLOUT_VIEW_SCRIPT } from './view-script.js';

const HOSTILE = '</script><script>alert(1)</script><!-- "\'&\u2028';

async function reportData(options: Parameters<typeof syntheticRollout>[0] = {}): Promise<ReportData> {
  const rollout = syntheticRollout(options);
  const data = await buildReportData(memoryReportSource([rollout]), rollout.summary.id, rollout.endMillis);
  if (!data) throw new Error('no data');
  return data;
}

function scripts(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)].map((match) => match[1] ?? '');
}

describe('renderReportHtml', () => {
  it('is one self-contained file: Chart.js inlined, no external script, style, link or source map', async () => {
    const html = renderReportHtml(await reportData());
    expect(html).not.toMatch(/<(script|img|iframe)\b[^>]*\bsrc=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/url\(\s*['"]?https?:/i);
    expect(html).not.toContain('sourceMappingURL');
    expect(html).toContain("default-src 'none'");
    const [data, chart, view] = scripts(html);
    expect(scripts(html)).toHaveLength(3);
    expect(chart).toContain('Chart.js v4');
    expect(chart?.length).toBeGreaterThan(100_000);
    // The view the dashboard runs too, reading the data embedded in the page.
    expect(view).toBe(inlineScript(ROLLOUT_VIEW_SCRIPT));
    expect(view).toContain("getElementById('report-data')");
    expect(JSON.parse(data ?? '')).toMatchObject({ rollout: { id: 'support-agent-7f3a' } });
  });

  it('says "rolled back — routing pending" and what the flag system still routes until the rollback lands', async () => {
    const rollout = syntheticRollout({ seed: 3 });
    const pending = {
      ...rollout,
      summary: {
        ...rollout.summary,
        state: 'rolled_back',
        outcome: 'rolled_back' as const,
        canaryPercent: 0,
        routingPending: true,
        routing: {
          pending: true,
          pendingSinceMillis: rollout.endMillis,
          failedAttempts: 4,
          lastError: 'no permission to read and replace flag file <flags.json>',
          routed: { canaryBasisPoints: 2_000, controlBasisPoints: 2_000, source: 'read_back' as const },
        },
      },
    };
    const data = await buildReportData(memoryReportSource([pending]), pending.summary.id, rollout.endMillis);
    expect(data?.rollout.routingPending).toMatchObject({ routedCanaryPercent: 20, routedControlPercent: 20 });
    expect(data?.rollout.routingPending?.lastError).toBe('no permission to read and replace flag file <flags.json>');
    expect((await reportData()).rollout.routingPending).toBeUndefined();
    // The page's view draws it (as text: test/report-browser.test.ts renders it in Chromium).
    expect(ROLLOUT_VIEW_SCRIPT).toContain('routing pending');
    expect(ROLLOUT_VIEW_SCRIPT).toContain('Flag system still routes');
  });

  it('never writes hostile release names or reasons as markup: escaped in the title, inert in the data', async () => {
    const data = await reportData({ canaryRelease: HOSTILE, stableRelease: `<b>${HOSTILE}`, pauseReason: HOSTILE });
    const html = renderReportHtml(data);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<b>');
    expect(html).toContain(
      '<title>Rollout support-agent-7f3a: &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- &quot;&#39;&amp;',
    );
    // Exactly the three script elements the report opens: nothing in the data closed or opened one.
    expect(html.match(/<script\b/gi)).toHaveLength(3);
    expect(html.match(/<\/script>/gi)).toHaveLength(3);
    // The embedded data survives the escaping byte for byte.
    expect(JSON.parse(scripts(html)[0] ?? '')).toEqual(JSON.parse(JSON.stringify(data)));
    // The view writes text only (the browser test checks what it draws).
    expect(ROLLOUT_VIEW_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('uses the Chart.js bundle it is given', async () => {
    const html = renderReportHtml(await reportData(), { chartJsSource: 'window.Chart = function () {};' });
    expect(scripts(html)[1]).toBe('window.Chart = function () {};');
  });
});

describe('escaping helpers', () => {
  it('escapeHtml escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('jsonForScript cannot end a script element and parses back to the same value', () => {
    const value = { text: HOSTILE, nested: ['</SCRIPT >', '<!--', '\u2029'] };
    const json = jsonForScript(value);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('inlineScript cannot end a script element or open a comment', () => {
    expect(inlineScript('a = "</script>"; b = "<!--";')).toBe('a = "<\\/script>"; b = "<\\!--";');
  });

  it('loads the installed Chart.js UMD bundle once', () => {
    const source = loadChartJsSource();
    expect(source).toMatch(/Chart\.js v4\.\d+\.\d+/);
    expect(loadChartJsSource()).toBe(source);
  });
});
