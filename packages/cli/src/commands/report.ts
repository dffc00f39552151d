import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { CliFailure, createOutput } from '../output.js';
import { buildReportData, renderReportHtml } from '../report.js';
import { type CommandContext, resolvePath, resolveStorePath, withStore } from './context.js';

/** Options of `report`. */
export interface ReportOptions {
  readonly rollout: string;
  readonly out: string;
  readonly store?: string;
  readonly json: boolean;
}

/** `report`: writes the self-contained HTML report of one rollout. */
export async function reportCommand(context: CommandContext, options: ReportOptions): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const storePath = resolveStorePath(context, options.store);
  const data = await withStore(context, storePath, (store) => buildReportData(store, options.rollout, context.now()));
  if (!data) {
    throw new CliFailure(
      'rollout_not_found',
      `no rollout with id ${JSON.stringify(options.rollout)} in the store`,
      EXIT_CODE.runtime,
    );
  }
  const html = renderReportHtml(data);
  const out = resolvePath(context, options.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, html, 'utf8');
  output.result(
    {
      ok: true,
      rolloutId: data.rollout.id,
      out,
      bytes: Buffer.byteLength(html),
      decisions: data.decisions.length,
      evaluations: data.requests.length,
    },
    `wrote ${out} (${data.decisions.length} decisions, ${data.requests.length} gate evaluations)`,
  );
  return EXIT_CODE.ok;
}
