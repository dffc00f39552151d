/**
 * Install size: what each way in costs a user. Every package goes through the release path
 * (`pnpm release`: build, pack, check, publish) to a local Verdaccio; each path's install
 * line then runs with plain npm in an empty directory outside the repository, as in
 * test/registry.test.ts, and we count what landed in node_modules: packages (from
 * package-lock.json), bytes on disk, native modules, and the packed size of our own
 * tarballs in it. Third-party packages come from the npm registry at their latest
 * matching versions, so the numbers move with their releases.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { installLines, readDoc } from '../test/helpers/docs.js';
import { type LocalRegistry, REPO_ROOT, startLocalRegistry } from '../test/helpers/registry.js';

interface InstallPath {
  readonly id: string;
  readonly what: string;
  readonly line: string;
}

const firstInstallLine = (page: string): string => {
  const line = installLines(readDoc(page))[0];
  if (line === undefined) throw new Error(`${page} has no install line`);
  return line;
};

const PATHS: readonly InstallPath[] = [
  {
    id: 'a',
    what: 'tag spans (your own OpenTelemetry SDK)',
    line: firstInstallLine('packages/instrumentation/README.md'),
  },
  {
    id: 'a',
    what: 'tag spans and export (`registerAgentCanary`, the quickstart)',
    line: firstInstallLine('examples/quickstart/README.md'),
  },
  {
    id: 'b',
    what: 'embedded canary in one process (getting started)',
    line: firstInstallLine('docs/getting-started.md'),
  },
  {
    id: 'c',
    what: 'one flag-provider adapter: flagd (controller side)',
    line: 'npm install @agent-canary/routing-flagd',
  },
  {
    id: 'c',
    what: 'one flag-provider adapter: Unleash (app side, with its SDK)',
    line: 'npm install @agent-canary/routing-unleash @openfeature/server-sdk unleash-client',
  },
  { id: 'd', what: 'the CLI and `serve` (operators)', line: 'npm install @agent-canary/cli' },
];

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
  readonly peer?: boolean;
}

function sizeOf(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined || stat.isSymbolicLink()) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

function nativePackages(root: string): string[] {
  const found = new Set<string>();
  const walk = (dir: string, pkg: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, pkg);
      else if (entry.name.endsWith('.node') || entry.name === 'binding.gyp') found.add(pkg);
    }
  };
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const names = entry.name.startsWith('@')
      ? readdirSync(join(root, entry.name)).map((child) => `${entry.name}/${child}`)
      : [entry.name];
    for (const name of names) walk(join(root, name), name);
  }
  return [...found].sort();
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const kib = (bytes: number) => (bytes / 1024).toFixed(0);

async function measure(registry: LocalRegistry, path: InstallPath, index: number, packedBytes: Map<string, number>) {
  const dir = registry.newDir(`size-${index}`);
  await registry.sh(`npm init -y >/dev/null && ${path.line}`, { cwd: dir, timeoutMillis: 10 * 60_000 });
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const installed = Object.keys(lock.packages)
    .filter((key) => key.startsWith('node_modules/'))
    .map((key) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length));
  const ours = installed.filter((name) => name.startsWith('@agent-canary/'));
  return {
    packages: installed.length,
    ours: ours.length,
    oursPackedBytes: ours.reduce((sum, name) => sum + (packedBytes.get(name) ?? 0), 0),
    bytes: sizeOf(join(dir, 'node_modules')),
    native: nativePackages(join(dir, 'node_modules')),
  };
}

export async function run(): Promise<{ title: string; markdown: string }> {
  const registry = await startLocalRegistry();
  try {
    const release = await registry.run('npx', ['-y', 'pnpm@12.4.2', 'release'], {
      cwd: REPO_ROOT,
      env: { npm_config_cache: join(homedir(), '.npm') },
      timeoutMillis: 15 * 60_000,
    });
    // "ok   @agent-canary/cli@0.1.0: 87 files, 126.7 KiB packed, 598.1 KiB unpacked"
    const packedBytes = new Map(
      [...release.stdout.matchAll(/^ok\s+(@agent-canary\/[\w-]+)@\S+: \d+ files, ([\d.]+) KiB packed/gm)].map(
        (match) => [match[1] ?? '', Number(match[2]) * 1024] as const,
      ),
    );
    const rows: string[] = [];
    for (const [index, path] of PATHS.entries()) {
      const result = await measure(registry, path, index, packedBytes);
      rows.push(
        `| (${path.id}) ${path.what} | \`${path.line}\` | ${result.packages} | ${result.ours} (${kib(result.oursPackedBytes)} KiB packed) | ${mib(result.bytes)} MiB | ${result.native.join(', ') || 'none'} |`,
      );
    }
    const tarballs = [...packedBytes.entries()].map(
      ([name, bytes]) => `${name.replace('@agent-canary/', '')} ${kib(bytes)}`,
    );
    return {
      title: 'Install size',
      markdown: `What each way in installs with \`npm install\` on Node 20, from the packed tarballs published to a local
registry through \`pnpm release\` (third-party packages from the npm registry, latest matching versions at the date
above). Packages are the entries of \`package-lock.json\`; size is \`node_modules\` on disk; native modules are the
packages holding a compiled \`.node\` file or a \`binding.gyp\`.

| path | install line | packages | of which @agent-canary | node_modules | native modules |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Packed size of each of our tarballs (KiB): ${tarballs.join(', ')}.

How to read it: (a) has no native module and no @agent-canary package but conventions and instrumentation; most of
"tag spans and export" is \`@opentelemetry/sdk-node\` with its exporters. (b) adds the processor, gate, controller
and embedded routing, and \`better-sqlite3\` (the store: the one native module, a prebuilt binary). (c) an adapter
brings no vendor SDK unless you install it: its SDK is an optional peer. (d) the CLI carries every adapter (no
vendor SDK), the server, the report's chart library and \`@opentelemetry/sdk-node\` for the demo. Before the package
layout of 0.2, (b) meant installing \`@agent-canary/cli\` plus the instrumentation: everything in (d), and
every flag-provider SDK as auto-installed peers (and that line, unpinned, did not resolve).`,
    };
  } finally {
    await registry.stop();
  }
}
