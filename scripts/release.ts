/**
 * `pnpm release`: packs every public package the way pnpm publishes it (workspace ranges
 * replaced by versions, the `@agent-canary/source` condition removed by `.pnpmfile.cjs`, the
 * root LICENSE added), checks each tarball, then publishes the checked tarballs the registry
 * does not have yet, upstream packages first, with `npm publish` to the registry of the npm
 * configuration (`npm_config_registry`, `.npmrc`). `pnpm check:packages` stops after the checks.
 * Both build first (see package.json). Versions and changelogs come from `changeset version`.
 *
 * The checks on each tarball: publint (errors and warnings fail), Are The Types Wrong with the
 * ESM-only profile, and what an install outside the workspace needs — LICENSE and README, no
 * `workspace:` range, no condition pointing at unshipped sources, every export and bin target
 * shipped with its types, every source map resolvable (its sources are inlined), no tests or
 * fixtures, and every package a shipped module imports declared as a dependency or peer.
 *
 * Usage: tsx scripts/release.ts [--check-only] [--out <dir>]
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);
/** Packs, checks and registry look-ups running at once. */
const CONCURRENCY = 4;
const SOURCE_CONDITION = '@agent-canary/source';
const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;

type Manifest = {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  type?: string;
  exports?: unknown;
  bin?: Record<string, string>;
} & Partial<Record<(typeof DEPENDENCY_FIELDS)[number] | 'devDependencies', Record<string, string>>>;

/** A public workspace package. */
export interface WorkspacePackage {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly manifest: Manifest;
}

/** A package packed as it would be published. */
export interface PackedPackage extends WorkspacePackage {
  /** Path of the `.tgz`. */
  readonly tarball: string;
  /** Size of the tarball in bytes. */
  readonly packedBytes: number;
  /** Sum of the sizes of the files in the tarball, in bytes. */
  readonly unpackedBytes: number;
  /** Paths inside the tarball, relative to its `package/` folder. */
  readonly files: readonly string[];
}

/** The public packages under packages/, each after the workspace packages it depends on. */
export function publicPackages(root = ROOT): WorkspacePackage[] {
  const all = readdirSync(join(root, 'packages'))
    .map((name) => join(root, 'packages', name))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
      return { name: manifest.name, version: manifest.version, dir, manifest };
    })
    .filter((pkg) => pkg.manifest.private !== true);
  const byName = new Map(all.map((pkg) => [pkg.name, pkg]));
  const ordered: WorkspacePackage[] = [];
  const visit = (pkg: WorkspacePackage, path: readonly string[]): void => {
    if (ordered.includes(pkg)) return;
    if (path.includes(pkg.name)) throw new Error(`dependency cycle: ${[...path, pkg.name].join(' -> ')}`);
    for (const field of DEPENDENCY_FIELDS) {
      for (const dep of Object.keys(pkg.manifest[field] ?? {})) {
        const upstream = byName.get(dep);
        if (upstream) visit(upstream, [...path, pkg.name]);
      }
    }
    ordered.push(pkg);
  };
  for (const pkg of [...all].sort((a, b) => a.name.localeCompare(b.name))) visit(pkg, []);
  return ordered;
}

/** How to run pnpm: the one running this script, or the pinned one through npx. */
function pnpmCommand(): [string, string[]] {
  return process.env['npm_config_user_agent']?.startsWith('pnpm/') ? ['pnpm', []] : ['npx', ['-y', 'pnpm@12.4.2']];
}

function listTarball(tarball: string): { files: string[]; unpackedBytes: number } {
  const listing = execFileSync('tar', ['-tvzf', tarball], { encoding: 'utf8' });
  const files: string[] = [];
  let unpackedBytes = 0;
  for (const line of listing.split('\n')) {
    // -rw-r--r-- 0/0 1234 1985-10-26 08:15 package/dist/index.js
    const match = /^-\S*\s+\S+\s+(\d+)\s+\S+\s+\S+\s+package\/(.+)$/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    unpackedBytes += Number(match[1]);
    files.push(match[2]);
  }
  return { files: files.sort(), unpackedBytes };
}

/** Packs one package with `pnpm pack` into `outDir`. */
export async function packPackage(pkg: WorkspacePackage, outDir: string): Promise<PackedPackage> {
  const [command, prefix] = pnpmCommand();
  const { stdout } = await run(command, [...prefix, 'pack', '--pack-destination', outDir, '--json'], { cwd: pkg.dir });
  const { filename } = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { filename: string };
  return { ...pkg, tarball: filename, packedBytes: statSync(filename).size, ...listTarball(filename) };
}

/** Maps `items` through `task`, at most `limit` at a time, keeping their order. */
export async function inPool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function exportTargets(exports: unknown, conditions: readonly string[] = []): Array<[string[], string]> {
  if (typeof exports === 'string') return [[[...conditions], exports]];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.entries(exports).flatMap(([key, value]) => exportTargets(value, [...conditions, key]));
}

/** Package names a shipped module imports (static imports, re-exports and `await import(...)`). */
function importedPackages(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm),
    ...source.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...source.matchAll(/await import\('([^']+)'\)/g),
  ].map((match) => match[1] ?? '');
  return specifiers
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    )
    .filter((name) => !builtinModules.includes(name));
}

/** What an install outside the workspace needs from a tarball; returns the problems found. */
export function checkContents(packed: PackedPackage, unpackedDir: string): string[] {
  const problems: string[] = [];
  const files = new Set(packed.files);
  const read = (path: string) => readFileSync(join(unpackedDir, path), 'utf8');
  const manifest = JSON.parse(read('package.json')) as Manifest;
  for (const required of ['LICENSE', 'README.md']) {
    if (!files.has(required)) problems.push(`${required} is missing`);
  }
  if (manifest.license !== 'Apache-2.0') problems.push(`license is ${manifest.license}, expected Apache-2.0`);
  if (manifest.type !== 'module') problems.push('type is not "module"');
  for (const field of [...DEPENDENCY_FIELDS, 'devDependencies'] as const) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      if (range.startsWith('workspace:')) problems.push(`${field}.${dep} is still ${range}`);
    }
  }
  const targets = exportTargets(manifest.exports);
  if (targets.length === 0) problems.push('no exports');
  for (const [conditions, target] of targets) {
    const where = `exports ${conditions.join(' > ')}`;
    if (conditions.includes(SOURCE_CONDITION)) problems.push(`${where} keeps the ${SOURCE_CONDITION} condition`);
    const path = posix.normalize(target);
    if (!files.has(path)) problems.push(`${where} -> ${target} is not in the tarball`);
    if (path.endsWith('.js') && !files.has(path.replace(/\.js$/, '.d.ts'))) {
      problems.push(`${where} -> ${target} has no .d.ts next to it`);
    }
  }
  for (const [name, target] of Object.entries(manifest.bin ?? {})) {
    const path = posix.normalize(target);
    if (!files.has(path)) problems.push(`bin ${name} -> ${target} is not in the tarball`);
    else if (!read(path).startsWith('#!/usr/bin/env node')) problems.push(`bin ${name} has no node shebang`);
  }
  const declared = new Set(DEPENDENCY_FIELDS.flatMap((field) => Object.keys(manifest[field] ?? {})));
  for (const file of packed.files) {
    if (/\.test\.|test-helper|testing-fixtures|(^|\/)src\//.test(file)) problems.push(`${file} should not ship`);
    if (file.endsWith('.js') && !files.has(`${file}.map`)) problems.push(`${file} has no source map`);
    if (file.endsWith('.js')) {
      for (const name of importedPackages(read(file))) {
        if (name !== manifest.name && !declared.has(name)) problems.push(`${file} imports ${name}, not declared`);
      }
    }
    if (file.endsWith('.map')) {
      const map = JSON.parse(read(file)) as { sources?: string[]; sourcesContent?: Array<string | null> };
      (map.sources ?? []).forEach((source, index) => {
        const shipped = files.has(posix.join(posix.dirname(file), source));
        if (!shipped && typeof map.sourcesContent?.[index] !== 'string') {
          problems.push(`${file}: source ${source} is neither shipped nor inlined`);
        }
      });
    }
  }
  return problems;
}

/** publint (errors and warnings), Are The Types Wrong (ESM-only profile) and {@link checkContents}. */
export async function checkTarball(packed: PackedPackage): Promise<string[]> {
  const unpackedDir = mkdtempSync(join(tmpdir(), 'agent-canary-check-'));
  try {
    execFileSync('tar', ['-xzf', packed.tarball, '-C', unpackedDir, '--strip-components=1']);
    const problems = checkContents(packed, unpackedDir);
    const tarball = readFileSync(packed.tarball);
    const lint = await publint({ pack: { tarball: tarball.buffer.slice(0) as ArrayBuffer }, level: 'warning' });
    for (const message of lint.messages) {
      problems.push(`publint ${message.type}: ${formatMessage(message, lint.pkg, { color: false }) ?? message.code}`);
    }
    const attw = await run(
      join(ROOT, 'node_modules', '.bin', 'attw'),
      [packed.tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-color', '--no-emoji'],
      { encoding: 'utf8' },
    ).catch((error: { stdout?: string; stderr?: string }) => error);
    if ('code' in attw && attw.code !== 0) problems.push(`attw: ${`${attw.stdout ?? ''}${attw.stderr ?? ''}`.trim()}`);
    return problems;
  } finally {
    rmSync(unpackedDir, { recursive: true, force: true });
  }
}

/** Whether the registry of the npm configuration has this version already. */
export async function isPublished(pkg: WorkspacePackage): Promise<boolean> {
  const view = await run('npm', ['view', `${pkg.name}@${pkg.version}`, 'version', '--json']).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
  );
  return view.stdout.includes(`"${pkg.version}"`);
}

/** Publishes a checked tarball with `npm publish`. */
export async function publishTarball(packed: PackedPackage): Promise<void> {
  await run('npm', ['publish', packed.tarball, '--access', 'public']);
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const checkOnly = args.includes('--check-only');
  const outIndex = args.indexOf('--out');
  const keep = outIndex >= 0;
  const outDir = keep ? args[outIndex + 1] : mkdtempSync(join(tmpdir(), 'agent-canary-pack-'));
  if (!outDir) throw new Error('--out needs a directory');
  mkdirSync(outDir, { recursive: true });
  try {
    await release(outDir, checkOnly);
  } finally {
    if (!keep) rmSync(outDir, { recursive: true, force: true });
  }
}

async function release(outDir: string, checkOnly: boolean): Promise<void> {
  const packages = publicPackages();
  const packed = await inPool(packages, CONCURRENCY, (pkg) => packPackage(pkg, outDir));
  const problems = await inPool(packed, CONCURRENCY, checkTarball);
  packed.forEach((pkg, index) => {
    const found = problems[index] ?? [];
    const summary = `${pkg.name}@${pkg.version}: ${pkg.files.length} files, ${kib(pkg.packedBytes)} packed, ${kib(pkg.unpackedBytes)} unpacked`;
    console.log(found.length === 0 ? `ok   ${summary}` : `FAIL ${summary}`);
    for (const problem of found) console.log(`     - ${problem}`);
  });
  if (problems.some((found) => found.length > 0)) {
    console.error('package checks failed: nothing published');
    process.exitCode = 1;
    return;
  }
  if (checkOnly) return;
  const published = await inPool(packed, CONCURRENCY, isPublished);
  // Upstream packages first: a release interrupted half-way never leaves a package whose dependencies are missing.
  for (const [index, pkg] of packed.entries()) {
    if (published[index]) {
      console.log(`present   ${pkg.name}@${pkg.version}`);
      continue;
    }
    await publishTarball(pkg);
    console.log(`published ${pkg.name}@${pkg.version}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
