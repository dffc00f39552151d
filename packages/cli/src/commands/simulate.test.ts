import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODE } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { run } from '../program.js';

function setup(isTTY = false) {
  const cwd = mkdtempSync(join(tmpdir(), 'agent-canary-simulate-cli-'));
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
    columns: 120,
    cwd,
  };
  const cli = async (argv: string[]) => {
    out.stdout = '';
    out.stderr = '';
    return run(argv, io);
  };
  return { cwd, out, cli };
}

const SMALL = [
  'simulate',
  '--quick',
  '--runs',
  '2',
  '--users',
  '2000',
  '--scenarios',
  'aa,hard-break',
  '--gates',
  'ours,ours-request',
  '--workers',
  '1',
  '--horizon',
  '600',
];

describe('simulate', () => {
  it('prints one JSON report, the same for the same seed and different for another', async () => {
    const { out, cli } = setup();
    expect(await cli([...SMALL, '--seed', '5', '--json'])).toBe(EXIT_CODE.ok);
    const first = JSON.parse(out.stdout);
    expect(first.ok).toBe(true);
    expect(first.report).toMatchObject({
      seed: 5,
      aaRuns: 2,
      effectRuns: 2,
      users: 2000,
      gates: ['ours', 'ours-request'],
    });
    expect(first.report.cells.length).toBe(4);

    expect(await cli([...SMALL, '--seed', '5', '--json'])).toBe(EXIT_CODE.ok);
    expect(JSON.parse(out.stdout).report).toEqual(first.report);
    expect(await cli([...SMALL, '--seed', '6', '--json'])).toBe(EXIT_CODE.ok);
    expect(JSON.parse(out.stdout).report).not.toEqual(first.report);
  });

  it('prints the tables and progress on a terminal', async () => {
    const { out, cli } = setup(true);
    expect(await cli(SMALL)).toBe(EXIT_CODE.ok);
    expect(out.stdout).toContain('\r\x1b[2Ksimulating: ');
    expect(out.stdout).toMatch(/simulating: \d+\/\d+ runs/);
    expect(out.stdout).toContain('| users');
    expect(out.stdout).toContain('ours (users): rollbacks');
    expect(out.stdout).toContain('| error 1% → 20% (hard break)');
    expect(out.stdout).toContain('Targets:');
  });

  it('refuses unknown gates and non-numbers with the field named (exit 2)', async () => {
    const { out, cli } = setup();
    expect(await cli(['simulate', '--gates', 'magic', '--json'])).toBe(EXIT_CODE.usage);
    expect(JSON.parse(out.stdout).error).toMatchObject({ code: 'invalid_config' });
    expect(JSON.parse(out.stdout).error.message).toContain('gates');
    expect(await cli(['simulate', '--runs', 'many'])).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('runs: expected an integer');
  });
});
