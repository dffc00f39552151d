/**
 * The dependency direction of DESIGN.md: a package depends only on packages above it
 * in the table (checked on package.json and on every import in src/), and inside a
 * package, folders import one way (no two folders, or root files, import each other).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const PACKAGES = join(ROOT, 'packages');

/** Internal packages each package may depend on (DESIGN.md, "Packages"). */
const ALLOWED: Record<string, readonly string[]> = {
  conventions: [],
  stats: [],
  instrumentation: ['conventions'],
  processor: ['conventions', 'stats'],
  gate: ['conventions', 'stats'],
  controller: ['conventions', 'stats', 'processor', 'gate'],
  monitor: ['conventions', 'stats', 'processor', 'gate', 'controller'],
  routing: ['conventions'],
  embedded: ['conventions', 'stats', 'instrumentation', 'processor', 'gate', 'controller', 'routing'],
};
/** Provider packages (`routing-<provider>`) sit beside `routing` and may use it, never the controller. */
const PROVIDER_ALLOWED = ['conventions', 'routing'];
/** Top-level packages may use everything below them, but nothing depends on `cli`. */
const TOP_LEVEL = new Set(['cli', 'server', 'simulate']);
/** `agent-canary` is only the name `npx agent-canary` finds: it runs the `cli` package's command. */
const COMMAND_NAME: Record<string, readonly string[]> = { 'agent-canary': ['cli'] };

function allowedFor(name: string, all: readonly string[]): readonly string[] {
  if (name in ALLOWED) return ALLOWED[name] ?? [];
  if (name in COMMAND_NAME) return COMMAND_NAME[name] ?? [];
  if (name.startsWith('routing-')) return PROVIDER_ALLOWED;
  if (TOP_LEVEL.has(name)) return all.filter((other) => other !== name && other !== 'cli');
  throw new Error(`package ${name} is not placed in the dependency table of this test and DESIGN.md`);
}

function sourceFiles(dir: string, withTests = false): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'node_modules' ? [] : sourceFiles(path, withTests);
    return /\.(ts|tsx|mts)$/.test(entry) && (withTests || !/\.test\.ts$/.test(entry)) ? [path] : [];
  });
}

/**
 * Unit of the folder graph of one package: a first-level folder of `src/`, or a file
 * directly in `src/` (an index or a leaf module such as `errors.ts`).
 */
function unitOf(srcDir: string, file: string): string {
  const [first, ...rest] = relative(srcDir, file).split(sep);
  return rest.length === 0 ? (first ?? '') : `${first}/`;
}

/** Pairs of units that import each other, directly or through others (a cycle). */
function folderCycles(srcDir: string): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const file of sourceFiles(srcDir)) {
    const from = unitOf(srcDir, file);
    for (const match of readFileSync(file, 'utf8').matchAll(/from\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts'));
      if (!target.startsWith(srcDir)) continue;
      const to = unitOf(srcDir, target);
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)?.add(to);
    }
  }
  const reaches = (start: string, goal: string): boolean => {
    const seen = new Set<string>();
    const stack = [start];
    while (stack.length > 0) {
      const unit = stack.pop() as string;
      if (unit === goal) return true;
      if (seen.has(unit)) continue;
      seen.add(unit);
      for (const next of edges.get(unit) ?? []) stack.push(next);
    }
    return false;
  };
  const cycles: string[][] = [];
  for (const [from, targets] of edges) {
    for (const to of targets) if (from < to && reaches(to, from)) cycles.push([from, to]);
  }
  return cycles;
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

  for (const name of names) {
    it(`${name}: folders inside the package import one way`, () => {
      expect(
        folderCycles(join(PACKAGES, name, 'src')),
        'pairs of folders (or root files) importing each other',
      ).toEqual([]);
    });
  }
});
