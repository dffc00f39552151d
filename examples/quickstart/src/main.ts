/** Runs the quickstart agent and prints its spans grouped by release and cohort. */
import { formatTable, runQuickstart } from './quickstart.js';

const { spans, summary } = await runQuickstart();
console.log(`${spans.length} spans, every one labelled with its release and cohort:\n`);
console.log(formatTable(summary));
console.log('\nSpans of the first canary request:');
const firstCanary = spans.find((span) => span.attributes['agent_canary.cohort'] === 'canary');
for (const span of spans.filter(
  (candidate) => candidate.spanContext().traceId === firstCanary?.spanContext().traceId,
)) {
  console.log(
    `  ${span.name.padEnd(28)} release=${String(span.attributes['agent_canary.release.id'])} cohort=${String(span.attributes['agent_canary.cohort'])}`,
  );
}
