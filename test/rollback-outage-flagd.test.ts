/**
 * The flagd file adapter when the flag file's directory cannot be written, for real: the
 * controller runs as its own process under an unprivileged user (the tests run as root,
 * for whom permissions do not bind, so the child drops to `nobody`), the directory is made
 * read-only while the rollout serves a 20% canary, and the canary turns bad. The rollout
 * must show "rolled back — routing pending" (the real CLI, as the same user) with the 20%
 * the file still routes, alert through the real webhook notifier, survive a controller
 * killed and restarted during the outage, and write canary 0 within seconds of the
 * directory becoming writable again, with a resolving notification.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RolloutStore } from '@agent-canary/controller';
import { splitFromFlagdFlag } from '@agent-canary/routing-flagd';
import { afterAll, describe, expect, it } from 'vitest';
import type { ControllerProcessConfig } from './helpers/controller-process.js';
import { startWebhookReceiver, waitFor } from './helpers/outage.js';

const ROOT = join(import.meta.dirname, '..');
const FLAG = 'support-agent.release';
const ROLLOUT = 'r-flagd';
const run = promisify(execFile);
// Root ignores file permissions: the controller and the CLI run as nobody, as a service would.
const asRoot = process.getuid?.() === 0;
const user = asRoot ? { uid: 65534, gid: 65534 } : {};

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function owned(path: string): string {
  mkdirSync(path, { recursive: true });
  if (asRoot) chownSync(path, 65534, 65534);
  return path;
}

/** Starts the controller process; resolves with its first status once it runs. */
async function startController(config: ControllerProcessConfig): Promise<{ child: ChildProcess; ready: unknown }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@agent-canary/source',
      join(import.meta.dirname, 'helpers', 'controller-process.ts'),
      JSON.stringify(config),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' }, ...user },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const line = await waitFor(
    'the controller process to start',
    () => {
      if (child.exitCode !== null) throw new Error(`controller process exited ${child.exitCode}: ${stderr}`);
      return stdout.split('\n').find((entry) => entry.startsWith('{"ready"'));
    },
    60_000,
  );
  return { child, ready: (JSON.parse(line) as { ready: unknown }).ready };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/** `agent-canary rollout status` as the controller's user. */
async function cliStatus(storePath: string, json: boolean): Promise<{ code: number; stdout: string }> {
  const args = [
    '--import',
    'tsx',
    '--conditions=@agent-canary/source',
    join(ROOT, 'packages', 'cli', 'src', 'bin.ts'),
    'rollout',
    'status',
    ROLLOUT,
    '--store',
    storePath,
    ...(json ? ['--json'] : []),
  ];
  try {
    const { stdout } = await run(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '' },
      ...user,
    });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '' };
  }
}

describe('flagd flag file whose directory is not writable at the rollback', () => {
  it('shows the rollback pending, alerts, survives a restart and lands within seconds once writable', {
    timeout: 180_000,
  }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'agent-canary-flagd-outage-'));
    dirs.push(root);
    chmodSync(root, 0o755);
    const flagDir = owned(join(root, 'flags'));
    const flagFile = join(flagDir, 'flags.json');
    const storePath = join(owned(join(root, 'state')), 'state.db');
    const gateFile = join(root, 'gate.json');
    writeFileSync(gateFile, '{"bad":false}');
    chmodSync(gateFile, 0o644);
    const webhook = await startWebhookReceiver();
    const config: ControllerProcessConfig = {
      storePath,
      flagFile,
      gateFile,
      webhookUrl: webhook.url,
      rollout: {
        id: ROLLOUT,
        flagKey: FLAG,
        canaryRelease: 'prompt-v2',
        stableRelease: 'prompt-v1',
        steps: [{ percent: 20, minDurationMillis: 3_600_000, minCanaryRequests: 10 }, { percent: 100 }],
        tickIntervalMillis: 200,
      },
      routingRetry: { initialDelayMillis: 100, maxDelayMillis: 1_000 },
      routingAlertRepeatMillis: 2_000,
    };
    // Every look at the flag file is kept: the canary must never have been widened.
    const seen: number[] = [];
    const routed = (): number | undefined => {
      if (!existsSync(flagFile)) return undefined;
      const file = JSON.parse(readFileSync(flagFile, 'utf8')) as { flags: Record<string, unknown> };
      const split = file.flags[FLAG] === undefined ? undefined : splitFromFlagdFlag(FLAG, file.flags[FLAG]);
      if (split !== undefined) seen.push(split.canaryBasisPoints);
      return split?.canaryBasisPoints;
    };
    const alerts = () => webhook.received.filter((n) => n.alert === 'routing_pending');

    try {
      const first = await startController(config);
      await waitFor('the 20% split in the flag file', () => (routed() === 2_000 ? true : undefined));

      // Outage: the directory turns read-only for the controller's user; the canary turns bad.
      chmodSync(flagDir, 0o555);
      writeFileSync(gateFile, '{"bad":true}');
      await waitFor('the routing_pending alert', () => alerts()[0]);
      expect(alerts()[0]).toMatchObject({ kind: 'alert', severity: 'error', canaryBasisPoints: 2_000 });
      expect(alerts()[0]?.reason).toContain('still routes canary 20%, control 20%');
      expect(alerts()[0]?.reason).toContain('EACCES');
      const transition = webhook.received.find((n) => n.kind === 'transition' && n.to === 'rolled_back');
      // The webhook says what users get (20% still), the decision beside it.
      expect(transition).toMatchObject({
        canaryBasisPoints: 2_000,
        controlBasisPoints: 2_000,
        pendingSplit: { canaryBasisPoints: 0, controlBasisPoints: 0 },
      });
      expect(routed()).toBe(2_000);

      const plain = await cliStatus(storePath, false);
      expect(plain.code).toBe(1);
      expect(plain.stdout).toContain('rolled_back — routing pending');
      expect(plain.stdout).toMatch(/it still routes canary 20%, control 20% \(read back/);
      const json = await cliStatus(storePath, true);
      const before = (JSON.parse(json.stdout) as { rollout: { routing: { failedAttempts: number } } }).rollout;
      expect(before).toMatchObject({
        state: 'rolled_back',
        canaryPercent: 0,
        routingPending: true,
        routing: { pending: true, routed: { canaryBasisPoints: 2_000, source: 'read_back' } },
      });

      // Killed during the outage and started again: the pending rollback comes first.
      await stop(first.child, 'SIGKILL');
      const second = await startController(config);
      expect(second.ready).toMatchObject({ rolloutId: ROLLOUT, phase: 'rolled_back', routingPending: true });
      expect((second.ready as { routing: { failedAttempts: number } }).routing.failedAttempts).toBeGreaterThan(
        before.routing.failedAttempts,
      );
      // Still failing: the alert repeats, at most every routingAlertRepeatMillis.
      await waitFor('a repeated alert', () => alerts()[1], 15_000);
      expect(routed()).toBe(2_000);

      // The directory is writable again: the next retry writes canary 0.
      const backAt = performance.now();
      chmodSync(flagDir, 0o755);
      await waitFor('canary 0 in the flag file', () => (routed() === 0 ? true : undefined), 15_000, 10);
      const recoveryMillis = performance.now() - backAt;
      expect(recoveryMillis).toBeLessThan(5_000);
      const resolved = await waitFor('the resolving notification', () =>
        webhook.received.find((n) => n.kind === 'alert_cleared' && n.alert === 'routing_pending'),
      );
      expect(resolved).toMatchObject({ severity: 'info', canaryBasisPoints: 0, controlBasisPoints: 0 });
      expect(resolved.routingPendingMillis).toBeGreaterThan(0);
      expect(resolved).not.toHaveProperty('pendingSplit');
      const after = await cliStatus(storePath, true);
      expect(after.code).toBe(1);
      expect((JSON.parse(after.stdout) as { rollout: object }).rollout).not.toHaveProperty('routingPending');

      // With the rollback landed it has nothing left to do (it may have exited already).
      await stop(second.child, 'SIGTERM');
      expect(Math.max(...seen)).toBe(2_000);
      const store = new RolloutStore({ path: storePath });
      try {
        expect(store.transitions(ROLLOUT).map((t) => t.to)).toEqual(['canary@20%', 'rolled_back']);
      } finally {
        store.close();
      }
      // The measured time from writable directory to canary 0 in the file.
      process.stdout.write(`flagd file: canary 0 ${Math.round(recoveryMillis)} ms after the directory was writable\n`);
    } finally {
      chmodSync(flagDir, 0o755);
      await webhook.close();
    }
  });
});
