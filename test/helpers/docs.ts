/**
 * Reading the documentation as a user does: the Markdown pages a user reads, their fenced
 * code blocks, and the install lines in them. The registry test runs these lines and
 * samples exactly as written; the docs test checks the imports in them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** README.md, docs/ (recursively), and the README of every package and example, relative to the root. */
export function userDocs(root = REPO_ROOT): string[] {
  const inDir = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? inDir(join(dir, entry.name))
        : entry.name.endsWith('.md')
          ? [relative(root, join(dir, entry.name))]
          : [],
    );
  const readmes = (folder: string) =>
    readdirSync(join(root, folder))
      .map((name) => join(folder, name, 'README.md'))
      .filter((path) => existsSync(join(root, path)));
  return ['README.md', ...inDir(join(root, 'docs')), ...readmes('packages'), ...readmes('examples')];
}

/** One fenced code block: its info string (` ```js first-canary.mjs` gives `js first-canary.mjs`) and body. */
export interface CodeBlock {
  readonly info: string;
  readonly body: string;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  return [...markdown.matchAll(/^```([^\n]*)\n([\s\S]*?)^```\s*$/gm)].map((match) => ({
    info: (match[1] ?? '').trim(),
    body: match[2] ?? '',
  }));
}

/** The body of the one block with this info string; throws naming the page when there is none. */
export function codeBlock(markdown: string, info: string, page = 'the page'): string {
  const found = codeBlocks(markdown).filter((block) => block.info === info);
  if (found.length !== 1) throw new Error(`${page} has ${found.length} code blocks \`\`\`${info}, expected one`);
  return found[0]?.body ?? '';
}

/** Shell lines of the `sh` blocks, continuation lines joined, trailing comments dropped. */
export function shellLines(markdown: string): string[] {
  return codeBlocks(markdown)
    .filter((block) => block.info === 'sh' || block.info === 'bash')
    .flatMap((block) => block.body.replace(/\\\n\s*/g, '').split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The `npm install ...` lines of a page, in order. */
export function installLines(markdown: string): string[] {
  return shellLines(markdown).filter((line) => /^npm (install|i)\s/.test(line));
}

/** A page of the repository. */
export function readDoc(path: string, root = REPO_ROOT): string {
  return readFileSync(join(root, path), 'utf8');
}
