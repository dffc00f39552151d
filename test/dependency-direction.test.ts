/**
 * The dependency direction of DESIGN.md: a package depends only on packages above it
 * in the table. Checked on package.json and on every import in src/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const PACKAGES = join(ROOT, 'packages');

/** Internal packages each package may depend on (DESIGN.md, "Packages"). */
const ALLOWED: Record<string, readonly string[]> = {
  conventions: [],
  stats: [],
  instrumentation: ['conventions'],
  processor: ['conventions', 'stats'],
  controller: ['conventions', 'stats', 'processor'],
  routing: ['conventions', 'controller'],
};
/** Provider packages (`routing-<provider>`) sit beside `routing` and may use it. */
const PROVIDER_ALLOWED = ['conventions', 'controller', 'routing'];
/** Top-level packages may use everything below them, but nothing depends on `cli`. */
const TOP_LEVEL = new Set(['cli', 'server', 'report', 'simulate']);

function allowedFor(name: string, all: readonly string[]): readonly string[] {
  if (name in ALLOWED) return ALLOWED[name] ?? [];
  if (name.startsWith('routing-')) return PROVIDER_ALLOWED;
  if (TOP_LEVEL.has(name)) return all.filter((other) => other !== name && other !== 'cli');
  throw new Error(`package ${name} is not placed in the dependency table of this test and DESIGN.md`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|mts)$/.test(entry) && !/\.test\.ts$/.test(entry) ? [path] : [];
  });
}

const names = readdirSync(PACKAGES).filter((name) => statSync(join(PACKAGES, name)).isDirectory());

describe('dependency direction', () => {
  it('knows every package', () => {
    for (const name of names) expect(() => allowedFor(name, names)).not.toThrow();
  });

  for (const name of names) {
    it(`${name} depends only on packages above it`, () => {
      const allowed = new Set(allowedFor(name, names));
      const manifest = JSON.parse(readFileSync(join(PACKAGES, name, 'package.json'), 'utf8')) as Record<
        string,
        Record<string, string> | undefined
      >;
      const declared = [
        ...Object.keys(manifest['dependencies'] ?? {}),
        ...Object.keys(manifest['peerDependencies'] ?? {}),
        ...Object.keys(manifest['devDependencies'] ?? {}),
      ]
        .filter((dep) => dep.startsWith('@agent-canary/'))
        .map((dep) => dep.slice('@agent-canary/'.length));
      const imported = sourceFiles(join(PACKAGES, name, 'src')).flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/from\s+['"]@agent-canary\/([a-z-]+)/g)].map((match) => match[1] ?? ''),
      );
      const offending = [...new Set([...declared, ...imported])].filter((dep) => !allowed.has(dep));
      expect(offending, `${name} may use only: ${[...allowed].join(', ') || 'no internal package'}`).toEqual([]);
    });
  }
});
