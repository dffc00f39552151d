import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controllerStoreOpener } from '../controller-store.js';
import { EXIT_CODE } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { type RunDependencies, run } from '../program.js';
import type { DemoResultView, DemoRunOptions } from './demo.js';

function setup(isTTY = false) {
  const cwd = mkdtempSync(join(tmpdir(), 'agent-canary-demo-cli-'));
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    env: {},
    isTTY,
    columns: 200,
    cwd,
  };
  const cli = (argv: string[], dependencies: RunDependencies = {}) => {
    out.stdout = '';
    out.stderr = '';
    return run(argv, io, dependencies);
  };
  return { cwd, out, cli };
}

describe('demo (the support-agent example, for real)', () => {
  it('rolls back the hard-break canary and prints outcome, decisions and report path as JSON', async () => {
    const { cwd, out, cli } = setup();
    expect(await cli(['demo', '--scenario', 'hard-break', '--seed', '7', '--out-dir', 'out', '--json'])).toBe(
      EXIT_CODE.ok,
    );
    expect(out.stderr).toBe('');
    const result = JSON.parse(out.stdout);
    expect(result).toMatchObject({ ok: true, outcome: 'rolled_back', scenario: 'hard-break', seed: 7 });
    expect(result.decisions.at(-1)).toMatchObject({ to: 'rolled_back', verdict: 'fail' });
    expect(result.reportPath).toBe(join(cwd, 'out', 'report.html'));
    const html = readFileSync(result.reportPath, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.includes(result.rolloutId)).toBe(true);

    // The demo's store is an ordinary controller store: the other commands read it.
    const openStore = controllerStoreOpener();
    expect(await cli(['rollout', 'status', result.rolloutId, '--store', result.storePath], { openStore })).toBe(
      EXIT_CODE.rolledBack,
    );
    expect(out.stdout).toContain('state     rolled_back');
  });

  it('refuses an unknown scenario, naming it (exit 2)', async () => {
    const { cwd, out, cli } = setup();
    expect(await cli(['demo', '--scenario', 'meltdown', '--out-dir', 'out'])).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('scenario: expected one of healthy, aa, tool-regression, tone-drift, hard-break');
    expect(existsSync(join(cwd, 'out', 'state.db'))).toBe(false);
  });
});

describe('demo output', () => {
  const result: DemoResultView = {
    scenario: 'tone-drift',
    seed: 3,
    outcome: 'rolled_back',
    rolloutId: 'support-agent-tone-drift-3',
    decisions: [
      { elapsedMillis: 0, from: 'draft', to: 'canary@5%', canaryRequests: 0, reason: 'started' },
      {
        elapsedMillis: 540_000,
        from: 'canary@5%',
        to: 'rolled_back',
        canaryRequests: 320,
        reason: 'similarity failed',
      },
    ],
    reportPath: '/x/report.html',
    storePath: '/x/state.db',
    virtualDurationMillis: 540_000,
    wallMillis: 2_000,
    requests: { stable: 5000, canary: 320, control: 300 },
  };
  const fakeDemo = async (options: DemoRunOptions) => {
    options.onProgress?.({
      elapsedMillis: 60_000,
      step: 1,
      stepCount: 4,
      sharePercent: 5,
      requests: { stable: 500, canary: 30, control: 28 },
    });
    options.onProgress?.({
      elapsedMillis: 120_000,
      step: 1,
      stepCount: 4,
      sharePercent: 5,
      requests: { stable: 1000, canary: 61, control: 55 },
      lastVerdict: 'inconclusive',
    });
    return { ...result, scenario: options.scenario, seed: options.seed ?? 42 };
  };

  it('draws one progress line on a terminal, then the decisions and the report path', async () => {
    const { out, cli } = setup(true);
    expect(await cli(['demo', '--scenario', 'tone-drift', '--seed', '3'], { runDemo: fakeDemo })).toBe(EXIT_CODE.ok);
    expect(out.stdout).toContain('\r\x1b[2K1.0 min · step 1/4 · canary 5% · requests stable 500 canary 30 control 28');
    expect(out.stdout).toContain(
      '\r\x1b[2K2.0 min · step 1/4 · canary 5% · requests stable 1000 canary 61 control 55 · verdict inconclusive\n',
    );
    expect(out.stdout).toContain('tone-drift (seed 3): rolled_back after 9.0 min of virtual time (2.0 s)');
    expect(out.stdout).toContain(
      '    9.0 min  canary@5% -> rolled_back (320 canary requests)\n             similarity failed',
    );
    expect(out.stdout).toContain('report    /x/report.html');
  });

  it('prints no progress in a pipe, and exactly one JSON document under --json', async () => {
    const piped = setup(false);
    expect(await piped.cli(['demo', '--scenario', 'tone-drift'], { runDemo: fakeDemo })).toBe(EXIT_CODE.ok);
    expect(piped.out.stdout).not.toContain('\r');
    expect(piped.out.stdout).toContain('tone-drift (seed 42): rolled_back');

    const json = setup(true);
    expect(await json.cli(['demo', '--scenario', 'tone-drift', '--json'], { runDemo: fakeDemo })).toBe(EXIT_CODE.ok);
    expect(JSON.parse(json.out.stdout)).toMatchObject({
      ok: true,
      outcome: 'rolled_back',
      reportPath: '/x/report.html',
    });
    expect(json.out.stderr).toBe('');
  });
});
