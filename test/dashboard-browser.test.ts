/**
 * The live dashboard in real Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core; no browser is downloaded). `agent-canary serve` runs a rollout under
 * traffic: one agent replica process (the demo's support agent, flagd provider on the
 * flag file serve writes) exports every span over OTLP to serve's receiver, and the
 * controller ticks every second. The store also holds a finished rollout and registered
 * releases. The pages must load with no console error and no request beyond their
 * origin, draw their charts, update as evaluations land without a reload or a scroll
 * jump, act only with the right token, and render a release name carrying markup as text.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliIo, run } from '@agent-canary/cli';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import { gateResult, ScriptedGate } from '@agent-canary/gate/testing';
import { createRelease, type DriftEvidence, type MonitorState } from '@agent-canary/monitor';
import { type AgentCanaryServer, startServer } from '@agent-canary/server';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_FLAG, FLEET_STABLE, type Replica, startReplica, waitFor } from './helpers/fleet.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(import.meta.dirname, '..', '.test-output');
const available = existsSync(CHROMIUM);
const TOKEN = 'dashboard-test-token-0123456789';
const READ_TOKEN = 'dashboard-read-token-0123456789';
const HOSTILE = 'support-v2 <img src=x onerror="window.__xss=1">';
const LIVE_ID = 'support-agent-live';
const FINISHED_ID = 'billing-agent-r7';
const HOUR = 3_600_000;

if (!available && process.env['CI']) {
  throw new Error(`${CHROMIUM} is missing: the dashboard browser test must run under CI`);
}

interface CanvasInfo {
  readonly chart: string;
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
  return { chart: canvas.getAttribute('data-chart'), width: canvas.width, height: canvas.height, painted };
})`;

const DEFINITION = `rolloutId: ${LIVE_ID}
flagKey: ${FLEET_FLAG}
canaryRelease: ${JSON.stringify(HOSTILE)}
stableRelease: ${FLEET_STABLE}
tickInterval: 1s
steps:
  - { percent: 10, duration: 8s, minCanaryRequests: 30 }
  - { percent: 30, duration: 10m }
  - { percent: 100 }
warmup: { minDuration: 3s, minStableRequests: 40, minCanaryRequests: 10 }
gate:
  minSamples: 30
  maxExposureRequests: 100
  warnMarginFraction: 0.02
  sampleRatio: { settleMillis: 8000, unit: request }
  checks: { latencyP99: { maxMillis: 10000 } }
routing: { provider: flagd, options: { path: flags.json } }
`;

/** Chromium with a fresh, empty profile (playwright passes it as --user-data-dir). */
async function launchChromium(): Promise<{ browser: BrowserContext; profile: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'agent-canary-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
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
  return { browser, profile };
}

/** A finished rollout of another agent in the same store: rolled back by its gate. */
async function seedFinishedRollout(storePath: string): Promise<void> {
  const store = new RolloutStore({ path: storePath });
  try {
    createRelease(store, { id: FLEET_STABLE, promptHash: 'a'.repeat(64), model: 'gpt-4.1-mini', status: 'stable' });
    // Registry ids are restricted to a safe alphabet; free text (the description) is not.
    createRelease(store, {
      id: 'support-v2',
      promptHash: 'b'.repeat(64),
      model: 'gpt-4.1-mini',
      provider: 'openai',
      parameters: { temperature: 0.2 },
      description: 'tighter refund prompt <b>bold</b>',
    });
    const failing = (n: number) =>
      gateResult({
        verdict: n >= 3 ? 'fail' : 'pass',
        sequentialFailure: n >= 3,
        requests: { canary: 120 * n, control: 118 * n, stable: 900 * n },
        checks: [
          {
            check: 'error_rate',
            method: 'sequential',
            verdict: n >= 3 ? 'fail' : 'pass',
            unit: 'subject',
            measurements: [
              { cohort: 'canary', value: n >= 3 ? 0.09 : 0.01, samples: 80 * n },
              { cohort: 'control', value: 0.01, samples: 79 * n },
            ],
            statistic: { eValue: n >= 3 ? 900 : 0.8, boundary: 400, alpha: 0.0025 },
            reason: n >= 3 ? 'error_rate: canary 9% vs control 1%' : 'error_rate: no difference',
          },
        ],
      });
    seedDriftAlert(store);
    const controller = new RolloutController({
      store,
      routing: new InMemoryRoutingAdapter(),
      gate: new ScriptedGate(failing),
      env: {},
    });
    await controller.start({
      id: FINISHED_ID,
      flagKey: 'billing-agent.release',
      canaryRelease: 'billing-v4',
      stableRelease: 'billing-v3',
    });
    for (let tick = 0; tick < 3; tick++) await controller.tick();
  } finally {
    store.close();
  }
}

/**
 * A drift monitor's state with an open alert, committed the way the monitor commits it
 * (the dashboard reads the store; the monitor's own tests cover how alerts are raised).
 */
function seedDriftAlert(store: RolloutStore): void {
  const now = Date.now();
  const monitorId = 'monitor:billing-agent.release';
  const window = {
    turns: 4200,
    users: 1900,
    turnUsers: 1900,
    usersWith: { error: 20, refusal: 40 },
    firstTools: { lookup_invoice: 1500, refund: 400 },
  };
  const baseline = {
    release: 'billing-v3',
    sinceMillis: now - 3 * HOUR,
    untilMillis: now - 2 * HOUR,
    frozenAtMillis: now - 2 * HOUR,
    reason: 'promoted by rollout billing-agent-r6',
    actor: 'controller',
    periods: 1,
    window,
  };
  const evidence: DriftEvidence = {
    signal: 'tool_mix',
    status: 'alarm',
    unit: 'subject',
    subject: '<img src=x onerror="window.__xss=2">refund',
    baselineValue: 0.21,
    currentValue: 0.34,
    effect: 'share_change',
    effectSize: 0.13,
    effectBound: 0.09,
    tolerance: 0.02,
    alpha: 0.0001,
    baselineAlpha: 0.0001,
    users: 1800,
    baselineUsers: 3900,
    reason: 'tool_mix: refund share up from 21% to 34% of users',
    release: 'billing-v3',
    windowSinceMillis: now - HOUR,
    windowUntilMillis: now,
    firstSeenAtMillis: now - 20 * 60_000,
    baselineFrozenAtMillis: baseline.frozenAtMillis,
    baselineSinceMillis: baseline.sinceMillis,
    baselineUntilMillis: baseline.untilMillis,
  };
  store.commitMonitor<MonitorState>({
    monitorId,
    baseline,
    raise: [{ signal: evidence.signal, evidence }],
    state: (raised) => ({
      v: 2,
      monitorId,
      release: 'billing-v3',
      baseline,
      windowIndex: 2,
      signals: { tool_mix: { alertId: raised[0] ?? 0, raisedAtMillis: evidence.firstSeenAtMillis, cleanWindows: 0 } },
      updatedAtMillis: now,
    }),
  });
}

function phaseIn(storePath: string, id: string): string | undefined {
  const store = new RolloutStore({ path: storePath });
  try {
    return store.getRollout(id)?.state.phase;
  } finally {
    store.close();
  }
}

/**
 * What a page asked for and complained about. Chromium logs every HTTP error answer to a
 * fetch as a console error; those are the API's refusals, kept apart by status.
 */
function watch(page: Page, origin: string): { errors: string[]; outside: string[]; refusals: number[] } {
  const seen = { errors: [] as string[], outside: [] as string[], refusals: [] as number[] };
  page.on('request', (request) => {
    if (!request.url().startsWith(`${origin}/`)) seen.outside.push(request.url());
  });
  page.on('pageerror', (error) => seen.errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const refused = /^Failed to load resource: the server responded with a status of (4\d\d)\b/.exec(message.text());
    if (refused) seen.refusals.push(Number(refused[1]));
    else seen.errors.push(message.text());
  });
  return seen;
}

/** No request beyond the origin, no console error, and no HTTP refusal but the expected ones. */
function expectClean(seen: ReturnType<typeof watch>, refusals: readonly number[] = []): void {
  expect(seen.outside).toEqual([]);
  expect(seen.errors).toEqual([]);
  expect(seen.refusals).toEqual(refusals);
}

async function painted(page: Page): Promise<CanvasInfo[]> {
  return (await page.evaluate(READ_CANVASES)) as CanvasInfo[];
}

async function evaluationsShown(page: Page): Promise<number> {
  return Number(await page.locator('[data-kpi="evaluations"] .value').textContent());
}

describe.skipIf(!available)(
  available ? 'dashboard in Chromium' : `dashboard in Chromium (skipped: ${CHROMIUM} not installed)`,
  () => {
    let dir: string;
    let storePath: string;
    let url: string;
    let serving: Promise<number> | undefined;
    const shutdown = new AbortController();
    let replica: Replica | undefined;
    let browser: BrowserContext;
    let profile: string;
    const stdout = { text: '' };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'agent-canary-dashboard-'));
      storePath = join(dir, 'state.db');
      writeFileSync(join(dir, 'rollout.yaml'), DEFINITION);
      await seedFinishedRollout(storePath);
      let listening: (() => void) | undefined;
      const first = new Promise<void>((resolve) => {
        listening = resolve;
      });
      const io: CliIo = {
        stdout: (text) => {
          stdout.text += text;
          listening?.();
        },
        stderr: (text) => {
          stdout.text += text;
        },
        env: { AGENT_CANARY_API_TOKEN: TOKEN },
        isTTY: false,
        cwd: dir,
      };
      serving = run(['serve', '-c', 'rollout.yaml', '--store', storePath, '--port', '0', '--monitor', '--json'], io, {
        shutdown: shutdown.signal,
      });
      await Promise.race([first, serving]);
      const answer = JSON.parse(stdout.text) as { url: string; dashboardUrl: string; rolloutId: string };
      expect(answer).toMatchObject({ rolloutId: LIVE_ID, dashboardUrl: `${answer.url}/` });
      url = answer.url;
      replica = await startReplica({
        id: 'r1',
        flagFile: join(dir, 'flags.json'),
        flagKey: FLEET_FLAG,
        stableRelease: FLEET_STABLE,
        canaryReleases: { [HOSTILE]: 'healthy' },
        mode: 'otlp',
        otlpUrl: `${url}/v1/traces`,
        requestsPerSecond: 30,
        maxRequests: 100_000,
        maxDurationMillis: 240_000,
        seed: 7,
      });
      ({ browser, profile } = await launchChromium());
      mkdirSync(OUTPUT, { recursive: true });
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await replica?.stop();
      shutdown.abort();
      await serving;
      if (profile) rmSync(profile, { recursive: true, force: true });
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('lists the rollouts, renders a release name carrying markup as text, and asks nothing of the network', async () => {
      const page = await browser.newPage();
      const seen = watch(page, url);
      await page.goto(`${url}/`);
      await page.waitForSelector(`tr[data-rollout="${LIVE_ID}"]`);
      await page.waitForSelector(`tr[data-rollout="${FINISHED_ID}"]`);
      const live = page.locator(`tr[data-rollout="${LIVE_ID}"]`);
      expect(await live.locator('.release').textContent()).toBe(HOSTILE);
      expect(await live.locator('td').nth(3).textContent()).toMatch(/^step \d\/3 · (10|30)%$/);
      const finished = page.locator(`tr[data-rollout="${FINISHED_ID}"]`);
      expect(await finished.locator('.badge').first().textContent()).toBe('rolled back');
      expect(await finished.locator('td').nth(4).textContent()).toContain('fail');
      expect(await finished.locator('td').nth(5).textContent()).toBe('error rate');
      expect(await page.evaluate('window.__xss')).toBeUndefined();
      expect(await page.locator('img').count()).toBe(0);
      // The rollout's own page is one link away.
      expect(await live.locator('a').getAttribute('href')).toBe(`/rollouts/${LIVE_ID}`);
      await page.screenshot({ path: join(OUTPUT, 'dashboard-list.png') });
      expectClean(seen);
      await page.close();
    });

    it('draws the rollout page and updates it in place as evaluations land', async () => {
      const page = await browser.newPage();
      const seen = watch(page, url);
      await page.goto(`${url}/rollouts/${encodeURIComponent(LIVE_ID)}`);
      await page.waitForSelector('#rollout-view[data-renders]');
      // Wait for the gate's checks to show up (after its warm-up), then for their charts.
      await waitFor(
        'gate metric charts',
        async () => ((await painted(page)).length >= 5 ? true : undefined),
        60_000,
        () => stdout.text,
      );
      const canvases = await painted(page);
      for (const canvas of canvases) {
        expect(canvas.width, String(canvas.chart)).toBeGreaterThan(100);
        expect(canvas.painted, `${canvas.chart}: painted pixels`).toBeGreaterThan((canvas.width * canvas.height) / 100);
      }
      // The traffic split, and the live tool mix read from serve's behaviour processor.
      expect(canvases.map((canvas) => canvas.chart)).toEqual(expect.arrayContaining(['share', 'tool-mix']));
      expect(await page.locator('h1').textContent()).toBe(`Rollout ${LIVE_ID}`);
      expect(await page.locator('.lede strong').first().textContent()).toBe(HOSTILE);
      expect(await page.evaluate('window.__xss')).toBeUndefined();
      expect(await page.locator('img').count()).toBe(0);

      // New evaluations appear without a reload, and the reader keeps their place: the
      // section at the top of the window stays where it was (the same element, not a
      // redrawn copy; the browser's scroll anchoring absorbs growth above it).
      await page.evaluate('window.__sameDocument = true');
      await page.evaluate('window.scrollTo(0, 900)');
      expect(Number(await page.evaluate('window.scrollY'))).toBeGreaterThan(800);
      const anchor = `(() => {
        const card = [...document.querySelectorAll('#rollout-view section.card')].find((node) => node.getBoundingClientRect().top >= 0);
        if (!card.id) card.id = 'scroll-anchor';
        return { id: card.id, top: card.getBoundingClientRect().top, title: card.querySelector('h2').textContent };
      })()`;
      const before = await evaluationsShown(page);
      const renders = Number(await page.getAttribute('#rollout-view', 'data-renders'));
      const place = (await page.evaluate(anchor)) as { id: string; top: number; title: string };
      await waitFor(
        'new evaluations on the page',
        async () => ((await evaluationsShown(page)) > before ? true : undefined),
        20_000,
      );
      expect(Number(await page.getAttribute('#rollout-view', 'data-renders'))).toBeGreaterThan(renders);
      expect(await page.evaluate('window.__sameDocument')).toBe(true);
      const after = (await page.evaluate(
        `(() => { const card = document.getElementById(${JSON.stringify('scroll-anchor')}); return card ? card.getBoundingClientRect().top : null; })()`,
      )) as number | null;
      expect(after, `top of "${place.title}"`).not.toBeNull();
      expect(Math.abs((after ?? 0) - place.top), `"${place.title}" moved`).toBeLessThanOrEqual(1);
      for (const canvas of await painted(page))
        expect(canvas.painted, `${canvas.chart} after update`).toBeGreaterThan(0);

      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: join(OUTPUT, 'dashboard-rollout.png') });
      await page.screenshot({ path: join(OUTPUT, 'dashboard-rollout-full.png'), fullPage: true });
      expectClean(seen);
      await page.close();
    }, 120_000);

    it('refuses Pause with a wrong token and changes nothing; pauses with the right one; all from the keyboard', async () => {
      const page = await browser.newPage();
      const seen = watch(page, url);
      await page.goto(`${url}/rollouts/${encodeURIComponent(LIVE_ID)}`);
      await page.waitForSelector('#rollout-view[data-renders]');
      expect(phaseIn(storePath, LIVE_ID)).toBe('canary');

      // Tab to the Pause button: the actions are reachable from the keyboard.
      let reached = false;
      for (let presses = 0; presses < 40 && !reached; presses++) {
        await page.keyboard.press('Tab');
        reached = (await page.evaluate("document.activeElement?.getAttribute('data-action')")) === 'pause';
      }
      expect(reached).toBe(true);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#action-dialog[open]');
      expect(await page.evaluate('document.activeElement.id')).toBe('action-token');
      await page.keyboard.type('not-the-token-at-all-0000');
      await page.keyboard.press('Tab');
      await page.keyboard.type('ana');
      await page.keyboard.press('Tab');
      await page.keyboard.type('checking the refund answers');
      await page.locator('#action-confirm').press('Enter');
      const message = page.locator('#actions .message');
      await page.waitForSelector('#actions .message.refused');
      expect(await message.textContent()).toBe('Pause refused: a valid bearer token is required');
      expect(phaseIn(storePath, LIVE_ID)).toBe('canary');
      const audit = new RolloutStore({ path: storePath });
      expect(audit.manualActions(LIVE_ID)).toEqual([]);
      audit.close();

      // The refused token was forgotten: the dialog asks again.
      await page.locator('[data-action="pause"]').click();
      await page.waitForSelector('#action-dialog[open]');
      await page.fill('#action-token', TOKEN);
      expect(await page.inputValue('#action-actor')).toBe('ana');
      await page.fill('#action-reason', 'checking the refund answers');
      await page.locator('#action-confirm').click();
      await page.waitForSelector('#actions .message.accepted');
      expect(phaseIn(storePath, LIVE_ID)).toBe('paused');
      await waitFor(
        'the page to show the pause',
        async () => ((await page.locator('#status .status-line .badge').textContent()) === 'paused' ? true : undefined),
        10_000,
      );

      // The token is kept for the tab: resume, then roll back, without asking again.
      for (const action of ['resume', 'rollback']) {
        await page.locator(`[data-action="${action}"]`).click();
        await page.waitForSelector('#action-dialog[open]');
        expect(await page.locator('#action-token').isVisible()).toBe(false);
        await page.fill('#action-reason', `${action} from the dashboard`);
        await page.locator('#action-confirm').click();
        await waitFor(
          `${action} accepted`,
          async () =>
            (await page.locator('#actions .message').textContent())?.startsWith(
              action === 'resume' ? 'Resume: accepted' : 'Roll back: accepted',
            )
              ? true
              : undefined,
          10_000,
        );
      }
      expect(phaseIn(storePath, LIVE_ID)).toBe('rolled_back');
      await waitFor(
        'the page to show the rollback',
        async () => ((await page.locator('.kpi .badge').first().textContent()) === 'rolled back' ? true : undefined),
        10_000,
      );
      const decisions = await page.locator('table.decisions tbody tr .transition').allTextContents();
      expect(decisions.at(-1)).toMatch(/→ rolled_back$/);
      // A finished rollout refuses, and the page says why.
      await page.locator('[data-action="promote"]').click();
      await page.fill('#action-reason', 'too late');
      await page.locator('#action-confirm').click();
      await page.waitForSelector('#actions .message.refused');
      expect(await message.textContent()).toMatch(/^Promote refused: .+/);
      await page.screenshot({ path: join(OUTPUT, 'dashboard-rollout-rolled-back.png') });
      // Refused: the wrong token, and the promotion of a finished rollout.
      expectClean(seen, [401, 409]);
      await page.close();
    }, 120_000);

    it('is usable on a narrow window: nothing wider than the screen', async () => {
      const page = await browser.newPage();
      const seen = watch(page, url);
      await page.setViewportSize({ width: 390, height: 844 });
      for (const path of ['/', `/rollouts/${encodeURIComponent(LIVE_ID)}`, '/releases']) {
        await page.goto(`${url}${path}`);
        await page.waitForFunction('Number(document.body.getAttribute("data-updates")) >= 1');
        const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
        expect(overflow, path).toBeLessThanOrEqual(0);
      }
      await page.goto(`${url}/rollouts/${encodeURIComponent(LIVE_ID)}`);
      await page.waitForSelector('#rollout-view[data-renders]');
      await page.screenshot({ path: join(OUTPUT, 'dashboard-rollout-narrow.png') });
      expectClean(seen);
      await page.close();
    }, 60_000);

    it('shows the release registry, the stable release and the drift monitor, with markup in release text as text', async () => {
      const page = await browser.newPage();
      const seen = watch(page, url);
      await page.goto(`${url}/releases`);
      await page.waitForFunction('Number(document.body.getAttribute("data-updates")) >= 1');
      const releases = await page.locator('.release').allTextContents();
      expect(releases).toEqual(expect.arrayContaining(['support-v2', FLEET_STABLE]));
      expect(await page.getByText('tighter refund prompt <b>bold</b>').count()).toBe(1);
      expect(await page.locator('b').count()).toBe(0);
      expect(await page.evaluate('window.__xss')).toBeUndefined();
      // The drift monitor with its open alert and the evidence behind it.
      const monitor = page.locator('.panel', { hasText: 'monitor:billing-agent.release' });
      expect(await monitor.locator('.badge').allTextContents()).toEqual(['monitoring', '1 open alert']);
      const alert = await monitor.locator('tbody tr').first().textContent();
      expect(alert).toContain('tool mix');
      expect(alert).toContain('<img src=x onerror="window.__xss=2">refund');
      expect(alert).toContain('share change 0.13, at least 0.090 (tolerance 0.020)');
      expect(alert).toContain('1800 users vs 3900 in the baseline');
      await page.screenshot({ path: join(OUTPUT, 'dashboard-releases.png'), fullPage: true });
      expectClean(seen);
      await page.close();
    });

    it('asks for a token when reads need one, and keeps it for the tab only', async () => {
      const store = new RolloutStore({ path: storePath });
      let server: AgentCanaryServer | undefined;
      try {
        server = await startServer({ port: 0, dashboard: { store, readToken: READ_TOKEN }, env: {} });
        const page = await browser.newPage();
        const seen = watch(page, server.url);
        await page.goto(`${server.url}/`);
        await page.waitForSelector('#read-token');
        await page.fill('#read-token', READ_TOKEN);
        await page.keyboard.press('Enter');
        await page.waitForSelector(`tr[data-rollout="${FINISHED_ID}"]`);
        // The token travels in a header, never in the address or a cookie.
        expect(page.url()).toBe(`${server.url}/`);
        expect(await browser.cookies()).toEqual([]);
        // Without the API, the rollout page shows no working action.
        await page.goto(`${server.url}/rollouts/${FINISHED_ID}`);
        await page.waitForSelector('#rollout-view[data-renders]');
        expect(await page.locator('[data-action="pause"]').isDisabled()).toBe(true);
        // Refused: the first read, without the token.
        expectClean(seen, [401]);
        await page.close();
      } finally {
        await server?.shutdown();
        store.close();
      }
    });
  },
);

describe.skipIf(!available)(
  available ? 'demo --dashboard in Chromium' : `demo --dashboard in Chromium (skipped: ${CHROMIUM} not installed)`,
  () => {
    let dir: string;
    let browser: BrowserContext;
    let profile: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'agent-canary-demo-dashboard-'));
      ({ browser, profile } = await launchChromium());
      mkdirSync(OUTPUT, { recursive: true });
    });

    afterAll(async () => {
      await browser?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('shows the demo rollout advancing live, and rolls it back from the page', async () => {
      const output = { stdout: '', stderr: '' };
      const io: CliIo = {
        stdout: (text) => {
          output.stdout += text;
        },
        stderr: (text) => {
          output.stderr += text;
        },
        env: { AGENT_CANARY_API_TOKEN: TOKEN },
        isTTY: false,
        cwd: dir,
      };
      const shutdown = new AbortController();
      // 4 virtual minutes per second: the 15-minute first step lasts about 4 s.
      const demo = run(
        ['demo', '--scenario', 'healthy', '--dashboard', '--port', '0', '--speed', '240', '--out-dir', dir],
        io,
        { shutdown: shutdown.signal },
      );
      try {
        const url = await waitFor(
          'the demo dashboard',
          () => /dashboard (http:\/\/\S+\/)/.exec(output.stderr)?.[1],
          30_000,
        );
        const page = await browser.newPage();
        const seen = watch(page, url.replace(/\/$/, ''));
        await page.goto(`${url}rollouts/support-agent-healthy-42`);
        await page.waitForSelector('#rollout-view[data-renders]');
        await page.evaluate('window.__sameDocument = true');
        // The rollout advances on the page by itself: 5% -> 20% -> 50%.
        const share = () => page.locator('.kpi', { hasText: 'Canary share' }).locator('.value').textContent();
        await waitFor(
          'the 50% step on the page',
          async () => ((await share())?.startsWith('50%') ? true : undefined),
          60_000,
          () => output.stderr,
        );
        await page.locator('[data-action="rollback"]').click();
        await page.fill('#action-token', TOKEN);
        await page.fill('#action-actor', 'ana');
        await page.fill('#action-reason', 'refund answers look wrong in support tickets');
        await page.locator('#action-confirm').click();
        await page.waitForSelector('#actions .message.accepted');
        await waitFor(
          'the rollback on the page',
          async () => ((await page.locator('.kpi .badge').first().textContent()) === 'rolled back' ? true : undefined),
          10_000,
        );
        expect(await page.evaluate('window.__sameDocument')).toBe(true);
        const decisions = await page.locator('table.decisions tbody tr .transition').allTextContents();
        expect(decisions).toEqual([
          'draft → canary@5%',
          'canary@5% → canary@20%',
          'canary@20% → canary@50%',
          'canary@50% → rolled_back',
        ]);
        expect(await page.locator('table.decisions tbody tr').last().locator('.reason').textContent()).toContain(
          'refund answers look wrong in support tickets',
        );
        // The demo itself saw the rollback and printed its result while the page stays up.
        await waitFor(
          'the demo result',
          () => (output.stdout.includes('healthy (seed 42): rolled_back') ? true : undefined),
          20_000,
        );
        await page.waitForFunction('document.querySelectorAll("canvas").length >= 10');
        // The top of the page down to the traffic split: the picture in docs/dashboard.png.
        const bottom = Number(
          await page.evaluate(
            `document.querySelector('[data-chart="share"]').closest('section').getBoundingClientRect().bottom + window.scrollY + 16`,
          ),
        );
        await page.screenshot({
          path: join(OUTPUT, 'dashboard-demo.png'),
          fullPage: true,
          clip: { x: 0, y: 0, width: 1280, height: bottom },
        });
        await page.screenshot({ path: join(OUTPUT, 'dashboard-demo-full.png'), fullPage: true });
        expectClean(seen);
        await page.close();
      } finally {
        shutdown.abort();
        expect(await demo).toBe(0);
      }
      expect(output.stdout).toContain('dashboard http://');
    }, 120_000);
  },
);
