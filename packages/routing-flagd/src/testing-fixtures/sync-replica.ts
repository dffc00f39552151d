/**
 * Child process for tests and the rollback-latency bench: one agent app replica. It evaluates
 * a release flag for a few subjects in a loop through the real OpenFeature SDK and the real
 * `@openfeature/flagd-provider` in in-process mode, synced from a flagd sync server, and
 * prints one JSON line per change. Run with
 * `tsx --conditions=@agent-canary/source sync-replica.ts <host> <port> <flagKey> <key,key,...> <retryBackoffMaxMs>`.
 */
import { FlagdProvider } from '@openfeature/flagd-provider';
import { type Logger, OpenFeature } from '@openfeature/server-sdk';

const [host, port, flagKey, keys, retryBackoffMaxMs] = process.argv.slice(2);
if (host === undefined || port === undefined || flagKey === undefined || keys === undefined) {
  process.stderr.write('usage: sync-replica <host> <port> <flagKey> <key,key,...> [retryBackoffMaxMs]\n');
  process.exit(2);
}
const subjects = keys.split(',');
const wallNow = () => performance.timeOrigin + performance.now();
// stdout carries the JSON lines: the provider's and the SDK's logs go to stderr.
const toStderr = (...args: unknown[]) => process.stderr.write(`${args.map(String).join(' ')}\n`);
const logger: Logger = { error: toStderr, warn: toStderr, info: () => {}, debug: () => {} };
OpenFeature.setLogger(logger);

await OpenFeature.setProviderAndWait(
  new FlagdProvider(
    {
      resolverType: 'in-process',
      host,
      port: Number(port),
      ...(retryBackoffMaxMs === undefined ? {} : { retryBackoffMaxMs: Number(retryBackoffMaxMs) }),
    },
    logger,
  ),
);
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
