import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ROUTING_ERROR_CODE, type RoutingSplit, sameSplit } from '@agent-canary/conventions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFlagdAdapter } from './adapter.js';
import { resolveFlagdAdapterConfig } from './config.js';
import { flagdFlagFor, splitFromFlagdFlag } from './flag-definition.js';

const SPLIT: RoutingSplit = {
  flagKey: 'agent-release',
  rolloutId: 'r1',
  canaryRelease: 'v2',
  stableRelease: 'v1',
  canaryBasisPoints: 500,
  controlBasisPoints: 500,
};

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'routing-flagd-'));
  path = join(dir, 'flags.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fileJson(): { flags: Record<string, Record<string, unknown>> } & Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as { flags: Record<string, Record<string, unknown>> };
}

describe('createFlagdAdapter', () => {
  it('writes the fractional flag definition and reads it back as the same split', async () => {
    const routing = createFlagdAdapter({ path, clock: () => 1234 });
    const result = await routing.apply(SPLIT);
    expect(result).toEqual({ acknowledged: true, acknowledgedAtMillis: 1234, attempts: 1, version: 1 });
    expect(fileJson().flags['agent-release']).toEqual({
      state: 'ENABLED',
      variants: { canary: 'v2', control: 'v1', stable: 'v1' },
      defaultVariant: 'stable',
      targeting: {
        fractional: [
          ['canary', 500],
          ['control', 500],
          ['stable', 9000],
        ],
      },
      metadata: { rolloutId: 'r1', managedBy: 'agent-canary', version: 1 },
    });
    expect(await routing.read('agent-release')).toEqual({ ...SPLIT, version: 1 });
    expect(await routing.read('other-flag')).toBeUndefined();
  });

  it('is idempotent: the same split is not rewritten, a new one bumps the version', async () => {
    const routing = createFlagdAdapter({ path });
    await routing.apply(SPLIT);
    const before = readFileSync(path, 'utf8');
    expect((await routing.apply(SPLIT)).version).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe(before);
    const rollback = { ...SPLIT, canaryBasisPoints: 0, controlBasisPoints: 0 };
    expect((await routing.apply(rollback)).version).toBe(2);
    expect(sameSplit(await routing.read('agent-release'), rollback)).toBe(true);
    // No temporary files are left next to the flag file.
    expect(readdirSync(dir)).toEqual(['flags.json']);
  });

  it('keeps the other flags and top-level keys of the file', async () => {
    const other = { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' };
    writeFileSync(
      path,
      JSON.stringify({ $schema: 'x', metadata: { flagSetId: 'team-a' }, flags: { 'dark-mode': other } }),
    );
    await createFlagdAdapter({ path }).apply(SPLIT);
    const file = fileJson();
    expect(file['$schema']).toBe('x');
    expect(file['metadata']).toEqual({ flagSetId: 'team-a' });
    expect(file.flags['dark-mode']).toEqual(other);
    expect(Object.keys(file.flags).sort()).toEqual(['agent-release', 'dark-mode']);
  });

  it('reads hand edits exactly, so the controller can see a foreign change', async () => {
    const routing = createFlagdAdapter({ path });
    await routing.apply(SPLIT);
    const file = fileJson();
    const flag = file.flags['agent-release'] as { targeting: { fractional: unknown[] } };
    flag.targeting.fractional = [
      ['canary', 30],
      ['control', 5],
      ['stable', 65],
    ];
    writeFileSync(path, JSON.stringify(file));
    const read = await routing.read('agent-release');
    expect(read).toMatchObject({ canaryBasisPoints: 3000, controlBasisPoints: 500 });
    expect(sameSplit(read, SPLIT)).toBe(false);
  });

  it('reads a flag without targeting as everyone on the default variant', () => {
    const flag = {
      state: 'ENABLED',
      variants: { canary: 'v2', control: 'v1', stable: 'v1' },
      defaultVariant: 'stable',
    };
    expect(splitFromFlagdFlag('f', flag)).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0 });
  });

  it.each([
    ['a disabled flag', (f: Record<string, unknown>) => ({ ...f, state: 'DISABLED' }), /state "DISABLED"/],
    [
      'a missing control variant',
      (f: Record<string, unknown>) => ({ ...f, variants: { canary: 'v2', stable: 'v1' } }),
      /no string variant "control"/,
    ],
    [
      'boolean variants',
      (f: Record<string, unknown>) => ({ ...f, variants: { canary: true, control: false, stable: false } }),
      /no string variant "canary"/,
    ],
    [
      'non-fractional targeting',
      (f: Record<string, unknown>) => ({ ...f, targeting: { if: [true, 'canary', 'stable'] } }),
      /not a single "fractional" rule/,
    ],
    [
      'a custom bucketing key',
      (f: Record<string, unknown>) => ({
        ...f,
        targeting: { fractional: [{ var: 'email' }, ['canary', 1], ['control', 1], ['stable', 8]] },
      }),
      /custom bucketing expression/,
    ],
    [
      'reordered variants',
      (f: Record<string, unknown>) => ({
        ...f,
        targeting: {
          fractional: [
            ['stable', 8],
            ['canary', 1],
            ['control', 1],
          ],
        },
      }),
      /expected \[canary, control, stable\]/,
    ],
    [
      'control on another release',
      (f: Record<string, unknown>) => ({ ...f, variants: { canary: 'v2', control: 'v0', stable: 'v1' } }),
      /control must run the stable release/,
    ],
  ])('rejects %s with a flagShape error naming the problem', async (_name, edit, message) => {
    const flag = edit(flagdFlagFor(SPLIT, 1) as unknown as Record<string, unknown>);
    writeFileSync(path, JSON.stringify({ flags: { 'agent-release': flag } }));
    const error = await createFlagdAdapter({ path })
      .read('agent-release')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ROUTING_ERROR_CODE.flagShape, provider: 'flagd', flagKey: 'agent-release' });
    expect((error as Error).message).toMatch(message);
  });

  it('replaces a flag of a foreign shape when the controller applies (it checked for hand edits first)', async () => {
    writeFileSync(path, JSON.stringify({ flags: { 'agent-release': { state: 'DISABLED', variants: { a: 1 } } } }));
    const routing = createFlagdAdapter({ path });
    expect((await routing.apply(SPLIT)).acknowledged).toBe(true);
    expect(sameSplit(await routing.read('agent-release'), SPLIT)).toBe(true);
  });

  it('names a file that is not JSON', async () => {
    writeFileSync(path, '{ "flags": ');
    await expect(createFlagdAdapter({ path }).read('agent-release')).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagShape,
      message: expect.stringContaining('is not valid JSON'),
    });
  });

  it.skipIf(process.getuid?.() === 0)('throws unauthorized when the directory is not writable', async () => {
    chmodSync(dir, 0o500);
    try {
      await expect(createFlagdAdapter({ path }).apply(SPLIT)).rejects.toMatchObject({
        code: ROUTING_ERROR_CODE.unauthorized,
        message: expect.stringContaining(path),
      });
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it('names a flag file replaced by a directory (flagShape), and writes again once the file is back', async () => {
    const routing = createFlagdAdapter({ path });
    expect((await routing.apply(SPLIT)).acknowledged).toBe(true);
    rmSync(path);
    mkdirSync(path);
    const rollback = { ...SPLIT, canaryBasisPoints: 0, controlBasisPoints: 0 };
    await expect(routing.apply(rollback)).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagShape,
      message: expect.stringContaining(`flag file ${path} is a directory`),
    });
    await expect(routing.read('agent-release')).rejects.toMatchObject({ code: ROUTING_ERROR_CODE.flagShape });
    rmSync(path, { recursive: true });
    expect(await routing.apply(rollback)).toMatchObject({ acknowledged: true });
    expect(sameSplit(await routing.read('agent-release'), rollback)).toBe(true);
  });

  it('throws flagNotFound when the directory does not exist', async () => {
    await expect(createFlagdAdapter({ path: join(dir, 'missing', 'flags.json') }).apply(SPLIT)).rejects.toMatchObject({
      code: ROUTING_ERROR_CODE.flagNotFound,
    });
  });

  it('rejects a split outside 0..10000 with a ConfigError naming the field', async () => {
    const error = await createFlagdAdapter({ path })
      .apply({ ...SPLIT, canaryBasisPoints: 9000, controlBasisPoints: 2000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ path: 'split.controlBasisPoints' });
  });
});

describe('resolveFlagdAdapterConfig', () => {
  it('takes the path from options, then AGENT_CANARY_FLAGD_FILE, then FLAGD_OFFLINE_FLAG_SOURCE_PATH', () => {
    const env = { AGENT_CANARY_FLAGD_FILE: '/a.json', FLAGD_OFFLINE_FLAG_SOURCE_PATH: '/b.json' };
    expect(resolveFlagdAdapterConfig({ path: '/c.json' }, env).path).toBe('/c.json');
    expect(resolveFlagdAdapterConfig({}, env).path).toBe('/a.json');
    expect(resolveFlagdAdapterConfig({}, { FLAGD_OFFLINE_FLAG_SOURCE_PATH: '/b.json' }).path).toBe('/b.json');
  });

  it('throws a ConfigError naming path when there is none', () => {
    expect(() => resolveFlagdAdapterConfig({}, {})).toThrow(ConfigError);
    expect(() => resolveFlagdAdapterConfig({}, {})).toThrow(/invalid configuration at path/);
  });
});
