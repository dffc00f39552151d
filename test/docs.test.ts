/**
 * The docs a user reads name what the packages publish: every `@agent-canary/*` import in a
 * code sample names an export of that entry point, every package in an install line is a
 * published one, and install lines are npm's (the ones the registry test runs). Runs on the
 * sources, in milliseconds; `test/registry.test.ts` runs the install lines themselves.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicPackages } from '../scripts/release.js';
import { codeBlocks, installLines, REPO_ROOT, readDoc, shellLines, userDocs } from './helpers/docs.js';

const packages = new Map(publicPackages().map((pkg) => [pkg.name, pkg]));

/** Names a TypeScript module exports (`export { a, b as c } from`, `export const a`, `export class A`, ...). */
function exportedNames(source: string): Set<string> {
  const names = new Set<string>();
  for (const match of source.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}/gm)) {
    for (const item of (match[1] ?? '').split(',')) {
      const name = item
        .replace(/^\s*type\s+/, '')
        .split(/\s+as\s+/)
        .at(-1)
        ?.trim();
      if (name) names.add(name);
    }
  }
  for (const match of source.matchAll(
    /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:const|let|function\*?|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm,
  )) {
    if (match[1]) names.add(match[1]);
  }
  return names;
}

/** The source file behind `@agent-canary/<name>[/subpath]` (its `@agent-canary/source` condition). */
function entrySource(specifier: string): string | undefined {
  const [scope, name, ...rest] = specifier.split('/');
  const pkg = packages.get(`${scope}/${name}`);
  if (pkg === undefined) return undefined;
  const subpath = rest.length === 0 ? '.' : `./${rest.join('/')}`;
  const target = (pkg.manifest.exports as Record<string, Record<string, string>> | undefined)?.[subpath]?.[
    '@agent-canary/source'
  ];
  return target === undefined ? undefined : readFileSync(join(pkg.dir, target), 'utf8');
}

/** `import { a, type B } from '@agent-canary/x'` statements of the TypeScript and JavaScript samples of a page. */
function agentCanaryImports(markdown: string): Array<{ specifier: string; names: string[] }> {
  return codeBlocks(markdown)
    .filter((block) => /^(ts|js|typescript|javascript|mjs)\b/.test(block.info))
    .flatMap((block) => [...block.body.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'(@agent-canary\/[^']+)'/g)])
    .map((match) => ({
      specifier: match[2] ?? '',
      names: (match[1] ?? '')
        .split(',')
        .map((item) =>
          item
            .replace(/^\s*type\s+/, '')
            .split(/\s+as\s+/)[0]
            ?.trim(),
        )
        .filter((name): name is string => name !== undefined && name !== ''),
    }));
}

describe('the docs name what the packages publish', () => {
  const pages = userDocs();

  it('reads the pages a user reads', () => {
    expect(pages).toContain('README.md');
    expect(pages).toContain('docs/getting-started.md');
    expect(pages).toContain('packages/embedded/README.md');
  });

  it('every @agent-canary import in a code sample names an export of that entry point', () => {
    const wrong: string[] = [];
    for (const page of pages) {
      for (const { specifier, names } of agentCanaryImports(readDoc(page))) {
        const source = entrySource(specifier);
        if (source === undefined) {
          wrong.push(`${page}: ${specifier} is not a published entry point`);
          continue;
        }
        const exported = exportedNames(source);
        for (const name of names)
          if (!exported.has(name)) wrong.push(`${page}: ${name} is not exported by ${specifier}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('install lines use npm and name published packages', () => {
    const wrong: string[] = [];
    for (const page of pages) {
      const markdown = readDoc(page);
      for (const line of shellLines(markdown)) {
        if (/^(pnpm add|yarn add)\b/.test(line))
          wrong.push(`${page}: \`${line}\` (the tested install lines are npm's)`);
      }
      for (const line of installLines(markdown)) {
        for (const [name] of line.matchAll(/@agent-canary\/[\w-]+/g)) {
          if (!packages.has(name)) wrong.push(`${page}: ${name} is not a published package`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the getting-started guide has the sample the registry test runs', () => {
    const guide = readDoc('docs/getting-started.md');
    expect(codeBlocks(guide).filter((block) => block.info === 'js first-canary.mjs')).toHaveLength(1);
    expect(installLines(guide)[0]).toMatch(/^npm install @agent-canary\/embedded /);
  });

  it('reads exports as the barrels write them', () => {
    const names = exportedNames(
      "export type { A, B as C } from './a.js';\nexport { d, type E } from './d.js';\nexport class F {}\nexport async function g() {}\nexport const H = 1;",
    );
    expect([...names].sort()).toEqual(['A', 'C', 'E', 'F', 'H', 'd', 'g']);
    expect(exportedNames(readFileSync(join(REPO_ROOT, 'packages', 'embedded', 'src', 'index.ts'), 'utf8'))).toContain(
      'createEmbeddedCanary',
    );
  });
});
