/**
 * Opens a rollout report in real Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core; no browser is downloaded), offline, and checks that every chart
 * canvas has drawn pixels and that the page asked the network for nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildReportData, renderReportHtml } from '@agent-canary/cli';
import { memoryReportSource, syntheticRollout } from '@agent-canary/server/testing';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(import.meta.dirname, '..', '.test-output');
const available = existsSync(CHROMIUM);

interface CanvasInfo {
  readonly section: string;
  readonly width: number;
  readonly height: number;
  /** Pixels with a non-zero alpha. */
  readonly painted: number;
}

// Runs in the page (a string, so the test needs no DOM types).
const READ_CANVASES = `[...document.querySelectorAll('canvas')].map((canvas) => {
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let index = 3; index < pixels.length; index += 4) if (pixels[index] > 0) painted++;
  const heading = canvas.closest('section')?.querySelector('h2');
  return { section: heading ? heading.textContent : '?', width: canvas.width, height: canvas.height, painted };
})`;
if (!available && process.env['CI']) {
  throw new Error(`${CHROMIUM} is missing: the report browser test must run under CI`);
}

describe.skipIf(!available)(
  available ? 'report in Chromium' : `report in Chromium (skipped: ${CHROMIUM} not installed)`,
  () => {
    let browser: BrowserContext;
    let profile: string;

    beforeAll(async () => {
      profile = mkdtempSync(join(tmpdir(), 'agent-canary-chromium-'));
      // A fresh, empty profile (playwright passes it as --user-data-dir).
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 900 },
        deviceScaleFactor: 1,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    });

    afterAll(async () => {
      await browser?.close();
      rmSync(profile, { recursive: true, force: true });
    });

    it('renders every chart with pixels, offline, and saves a screenshot', async () => {
      const hostile = '<img src=x onerror="window.__xss=1">';
      const rollout = syntheticRollout({ canaryRelease: `support-v2 ${hostile}`, pauseReason: `</script>${hostile}` });
      const data = await buildReportData(memoryReportSource([rollout]), rollout.summary.id, rollout.endMillis + 60_000);
      expect(data).toBeDefined();
      mkdirSync(OUTPUT, { recursive: true });
      const file = join(OUTPUT, 'report.html');
      writeFileSync(file, renderReportHtml(data!));

      const page = await browser.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith('file:') && !request.url().startsWith('data:')) requests.push(request.url());
      });
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('body[data-charts-ready]');

      const canvases = (await page.evaluate(READ_CANVASES)) as CanvasInfo[];
      const drawn = Number(await page.getAttribute('body', 'data-charts-ready'));
      // share + 5 metrics + 4 sequential (3 sequential checks and tool_mix's e-value) + tool mix + drift
      expect(canvases.length).toBe(drawn);
      expect(canvases.length).toBeGreaterThanOrEqual(10);
      for (const canvas of canvases) {
        expect(canvas.width, canvas.section).toBeGreaterThan(100);
        // A chart with axes, labels and a line paints well over 1% of its area.
        expect(canvas.painted, `${canvas.section}: painted pixels`).toBeGreaterThan(
          (canvas.width * canvas.height) / 100,
        );
      }
      const sections = new Set(canvases.map((canvas) => canvas.section));
      for (const title of ['Traffic split', 'Gate metrics', 'Sequential tests', 'Tool mix', 'Behaviour drift']) {
        expect(sections, title).toContain(title);
      }

      expect(await page.evaluate('window.__xss')).toBeUndefined();
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('h1').textContent()).toContain('support-agent-7f3a');
      expect(await page.locator('.lede strong').first().textContent()).toBe(`support-v2 ${hostile}`);
      expect(await page.locator('table.decisions tbody tr').count()).toBe(data!.decisions.length);
      // Every decision with its evidence, non-passing checks first; hostile reasons as text.
      const rows = page.locator('table.decisions tbody tr');
      expect(await rows.nth(2).locator('.reason').textContent()).toBe(`</script>${hostile}`);
      const rollback = rows.last();
      expect(await rollback.locator('.transition').textContent()).toBe('canary@50% → rolled_back');
      const evidence = await rollback.locator('ul.evidence li').allTextContents();
      expect(evidence.some((item) => item.includes('tool_success_rate') && item.includes('e-value'))).toBe(true);
      expect(await rollback.locator('ul.evidence .badge-pass').count()).toBe(0);
      expect(await rollback.locator('.muted').last().textContent()).toMatch(/other checks? passed/);
      // Each check says its unit of analysis; subjects read as users.
      const text = (await page.locator('body').textContent()) ?? '';
      expect(text).toContain('per user');
      expect(text).toContain('per tool call');
      expect(text).not.toContain('per subject');

      // A full-page capture resizes the viewport, and Chart.js redraws resized charts on the
      // next frame: grow the viewport to the page first, let it redraw, check again, capture.
      const height = Number(await page.evaluate('document.documentElement.scrollHeight'));
      await page.setViewportSize({ width: 1280, height });
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
      const redrawn = (await page.evaluate(READ_CANVASES)) as CanvasInfo[];
      for (const canvas of redrawn) expect(canvas.painted, `${canvas.section} after resize`).toBeGreaterThan(0);
      await page.screenshot({ path: join(OUTPUT, 'report.png') });

      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    });
  },
);
