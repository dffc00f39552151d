/**
 * `pnpm bench`: runs every benchmark under packages/<name>/bench/*.bench.ts and bench/*.bench.ts (each exports
 * `run(): Promise<BenchSection>`) and writes their results to docs/benchmarks.md, with
 * the command and the machine. `pnpm bench <filter>` runs only files whose path contains it.
 * Benchmarks compare ratios measured in one run: machines here are shared and noisy.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchSection {
  /** Heading of the section in docs/benchmarks.md. */
  title: string;
  /** Markdown body: a table of results, the target, and how to read it. */
  markdown: string;
}

const ROOT = join(import.meta.dirname, '..');
const DOC = join(ROOT, 'docs', 'benchmarks.md');
const filter = process.argv[2] ?? '';

const benchFiles = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((file) => file.endsWith('.bench.ts'))
        .map((file) => join(dir, file))
    : [];
// A package's own benchmarks, then the cross-package ones in bench/ (as test/ for tests).
const files = [
  ...readdirSync(join(ROOT, 'packages')).flatMap((name) => benchFiles(join(ROOT, 'packages', name, 'bench'))),
  ...benchFiles(join(ROOT, 'bench')),
];

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
for (const file of files.filter((path) => path.includes(filter))) {
  const relative = file.slice(ROOT.length + 1);
  console.log(`running ${relative} ...`);
  const module = (await import(pathToFileURL(file).href)) as { run: () => Promise<BenchSection> };
  const section = await module.run();
  const body = `## ${section.title}\n\n<!-- bench:${relative} -->\nCommand: \`npx -y pnpm@12.4.2 bench ${relative}\`  \nMachine: ${machine}  \nDate: ${new Date().toISOString().slice(0, 10)}\n\n${section.markdown.trim()}\n<!-- /bench:${relative} -->\n`;
  // Read the file just before writing: benchmarks run for minutes, and another run may
  // have rewritten other sections meanwhile.
  const doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const pattern = new RegExp(
    `## [^\\n]*\\n\\n<!-- bench:${relative.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} -->[\\s\\S]*?<!-- /bench:[^>]*-->\\n`,
  );
  const updated = pattern.test(doc) ? doc.replace(pattern, body) : `${doc.trimEnd()}\n\n${body}`;
  writeFileSync(DOC, `${updated.trimEnd()}\n`);
  console.log(section.markdown);
  console.log(`wrote ${relative}'s section of ${DOC}`);
}
