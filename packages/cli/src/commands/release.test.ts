import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import { describe, expect, it } from 'vitest';
import { EXIT_CODE } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { run } from '../program.js';
import { parseModelParameter } from './release.js';

function setup() {
  const cwd = mkdtempSync(join(tmpdir(), 'agent-canary-release-'));
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    env: { AGENT_CANARY_ACTOR: 'alice' },
    isTTY: false,
    cwd,
  };
  const cli = async (argv: string[]) => {
    out.stdout = '';
    out.stderr = '';
    return run([...argv, '--store', 's.db'], io, { now: () => Date.UTC(2026, 0, 1) });
  };
  return { cwd, out, cli };
}

describe('release create | list | show', () => {
  it('registers a release from a prompt file (hash only), lists and shows it', async () => {
    const { cwd, out, cli } = setup();
    const prompt = 'You are a careful support agent.\n';
    writeFileSync(join(cwd, 'prompt.txt'), prompt);
    const expectedHash = `sha256:${createHash('sha256').update(prompt).digest('hex').slice(0, 16)}`;

    const create = [
      'release',
      'create',
      '--id',
      'support-v2',
      '--model',
      'gpt-4.1-mini',
      '--provider',
      'openai',
      '--prompt-file',
      'prompt.txt',
      '--param',
      'temperature=0.2',
      '--param',
      'stream=true',
      '--param',
      'reasoning=low',
      '--prompt-name',
      'support',
      '--prompt-version',
      '7',
      '--json',
    ];
    expect(await cli(create)).toBe(EXIT_CODE.ok);
    const created = JSON.parse(out.stdout);
    expect(created.release).toMatchObject({
      id: 'support-v2',
      status: 'draft',
      promptHash: expectedHash,
      model: 'gpt-4.1-mini',
      provider: 'openai',
      parameters: { temperature: 0.2, stream: true, reasoning: 'low' },
      prompt: { name: 'support', version: 7 },
      createdBy: 'alice',
    });
    expect(out.stdout).not.toContain('careful support agent');

    expect(
      await cli([
        'release',
        'create',
        '--id',
        'support-v1',
        '--model',
        'gpt-4o',
        '--prompt-hash',
        'sha256:00ff',
        '--stable',
      ]),
    ).toBe(EXIT_CODE.ok);
    expect(out.stdout).toContain('registered release support-v1 (stable)');

    expect(await cli(['release', 'list'])).toBe(EXIT_CODE.ok);
    expect(out.stdout).toMatch(/^ID\s+STATUS\s+MODEL\s+PROMPT\s+CREATED$/m);
    expect(out.stdout).toMatch(/^support-v2\s+draft\s+gpt-4\.1-mini\s+support@7/m);
    expect(out.stdout).toMatch(/^support-v1\s+stable\s+gpt-4o\s+sha256:00ff/m);

    expect(await cli(['release', 'list', '--status', 'stable', '--json'])).toBe(EXIT_CODE.ok);
    expect(JSON.parse(out.stdout).releases.map((release: { id: string }) => release.id)).toEqual(['support-v1']);

    expect(await cli(['release', 'show', 'support-v2'])).toBe(EXIT_CODE.ok);
    expect(out.stdout).toContain('release     support-v2 (draft)');
    expect(out.stdout).toContain('parameters  temperature=0.2 stream=true reasoning=low');
    expect(out.stdout).toContain(`prompt      ${expectedHash} (support, version 7)`);
  });

  it('shows the status a rollout gave the release', async () => {
    const { cwd, out, cli } = setup();
    expect(await cli(['release', 'create', '--id', 'v2', '--model', 'm', '--prompt-hash', 'h2'])).toBe(EXIT_CODE.ok);
    const store = new RolloutStore({ path: join(cwd, 's.db') });
    const controller = new RolloutController({
      store,
      routing: new InMemoryRoutingAdapter(),
      gate: { evaluate: () => Promise.reject(new Error('not evaluated')) },
    });
    await controller.start({ flagKey: 'support', canaryRelease: 'v2', stableRelease: 'v1', id: 'r-1' }, 'bob');
    await controller.rollback({ actor: 'bob', reason: 'refunds broken' });
    store.close();

    expect(await cli(['release', 'show', 'v2', '--json'])).toBe(EXIT_CODE.ok);
    const shown = JSON.parse(out.stdout).release;
    expect(shown.status).toBe('rolled_back');
    expect(shown.statusHistory.map((change: { status: string }) => change.status)).toEqual([
      'draft',
      'canary',
      'rolled_back',
    ]);
  });

  it('refuses bad input with the field named (exit 2) and unknown releases (exit 3)', async () => {
    const { cwd, out, cli } = setup();
    expect(await cli(['release', 'create', '--id', 'v2', '--model', 'm'])).toBe(EXIT_CODE.usage);
    expect(out.stderr).toContain('pass --prompt-file <file> (hashed here) or --prompt-hash <hash>');
    expect(existsSync(join(cwd, 's.db'))).toBe(false);

    expect(
      await cli(['release', 'create', '--id', 'v2', '--model', 'm', '--prompt-hash', 'h', '--prompt-file', 'p']),
    ).toBe(EXIT_CODE.usage);
    expect(await cli(['release', 'create', '--id', '-bad id', '--model', 'm', '--prompt-hash', 'h'])).toBe(
      EXIT_CODE.usage,
    );
    expect(out.stderr).toContain('invalid configuration at id: expected a release id');

    expect(await cli(['release', 'create', '--id', 'v2', '--model', 'm', '--prompt-hash', 'h', '--json'])).toBe(
      EXIT_CODE.ok,
    );
    expect(await cli(['release', 'create', '--id', 'v2', '--model', 'm', '--prompt-hash', 'h', '--json'])).toBe(
      EXIT_CODE.usage,
    );
    expect(JSON.parse(out.stdout).error).toMatchObject({ code: 'invalid_config' });
    expect(JSON.parse(out.stdout).error.message).toContain('an id not registered yet');

    expect(await cli(['release', 'list', '--status', 'shipped'])).toBe(EXIT_CODE.usage);
    expect(await cli(['release', 'show', 'v9', '--json'])).toBe(EXIT_CODE.runtime);
    expect(JSON.parse(out.stdout).error.code).toBe('release_not_found');
  });

  it('reading commands do not create a store behind a mistyped path', async () => {
    const { cwd, out, cli } = setup();
    expect(await cli(['release', 'list'])).toBe(EXIT_CODE.runtime);
    expect(out.stderr).toContain('no rollout store at');
    expect(existsSync(join(cwd, 's.db'))).toBe(false);
  });
});

describe('parseModelParameter', () => {
  it('types numbers and booleans and keeps everything else as text', () => {
    expect(parseModelParameter('temperature=0.2')).toEqual(['temperature', 0.2]);
    expect(parseModelParameter('max_tokens=512')).toEqual(['max_tokens', 512]);
    expect(parseModelParameter('stream=false')).toEqual(['stream', false]);
    expect(parseModelParameter('stop=a=b')).toEqual(['stop', 'a=b']);
    expect(parseModelParameter('suffix=')).toEqual(['suffix', '']);
    expect(() => parseModelParameter('=1')).toThrow('--param');
    expect(() => parseModelParameter('temperature')).toThrow('key=value');
  });
});
