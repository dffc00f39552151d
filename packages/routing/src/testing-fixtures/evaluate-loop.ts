/**
 * Child process for tests and the rollback-latency bench: evaluates a release flag for a
 * few subjects in a loop through the real OpenFeature SDK and the EmbeddedProvider (file
 * mode), and prints one JSON line per change. Run with
 * `tsx --conditions=@agent-canary/source evaluate-loop.ts <stateFile> <flagKey> <key,key,...>`.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { EmbeddedProvider } from '../provider.js';

const [path, flagKey, keys] = process.argv.slice(2);
if (path === undefined || flagKey === undefined || keys === undefined) {
  process.stderr.write('usage: evaluate-loop <stateFile> <flagKey> <key,key,...>\n');
  process.exit(2);
}
const subjects = keys.split(',');
const wallNow = () => performance.timeOrigin + performance.now();

await OpenFeature.setProviderAndWait(new EmbeddedProvider({ path }));
const client = OpenFeature.getClient();
const last = new Map<string, string>();
let ready = false;

async function loop(): Promise<void> {
  for (const targetingKey of subjects) {
    const details = await client.getStringDetails(flagKey as string, 'default', { targetingKey });
    const seen = `${details.value}|${details.variant}`;
    if (last.get(targetingKey) !== seen) {
      last.set(targetingKey, seen);
      if (ready) {
        process.stdout.write(
          `${JSON.stringify({ type: 'change', key: targetingKey, value: details.value, variant: details.variant, atMillis: wallNow() })}\n`,
        );
      }
    }
  }
  if (!ready) {
    ready = true;
    process.stdout.write(`${JSON.stringify({ type: 'ready', values: Object.fromEntries(last) })}\n`);
  }
  // About one evaluation per millisecond: a busy agent that still leaves the CPU to others.
  setTimeout(() => void loop(), 0);
}

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
void loop();
