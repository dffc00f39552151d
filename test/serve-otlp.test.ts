/**
 * `agent-canary serve` end to end: another language's agent (the hand-written Python
 * GenAI fixture) is understood through the receiver, and a real server process shuts
 * down gracefully on SIGTERM, persisting the processor snapshot and the controller store.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RolloutStore } from '@agent-canary/controller';
import { BehaviorSpanProcessor, type ProcessorSnapshot, selectSeries } from '@agent-canary/processor';
import { startServer } from '@agent-canary/server';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/fleet.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'otlp', 'python-genai.json');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('agent-canary serve', () => {
  it('understands a Python agent’s GenAI spans sent as OTLP/JSON with gzip', async () => {
    const behavior = new BehaviorSpanProcessor();
    const server = await startServer({ port: 0, spanProcessors: [behavior], env: {} });
    try {
      const response = await fetch(`${server.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(readFileSync(FIXTURE)),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({});
      await waitFor(
        'the spans to be processed',
        () => (server.receiverStats().processedSpans === 4 ? true : undefined),
        5000,
      );
      const canary = selectSeries(behavior.window(), {
        rolloutId: 'support-agent.release-3f2a9c1d',
        release: 'prompt-v2',
        cohort: 'canary',
      });
      expect(canary).toMatchObject({ turns: 1, modelCalls: 1, inputTokens: 412, outputTokens: 96, newSubjects: 1 });
      expect(canary.toolCalls).toEqual({ lookup_order: { ok: 1, error: 0 } });
      // The HTTP client span is accepted but is not an agent span.
      expect(behavior.spanCounts()).toMatchObject({ received: 4, aggregated: 3, unrecognised: 1 });
    } finally {
      await server.shutdown();
    }
  });

  it('shuts down on SIGTERM: drains, writes the processor snapshot, closes the store; a restart resumes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-canary-serve-'));
    dirs.push(dir);
    const config = {
      snapshotPath: join(dir, 'behavior.json'),
      storePath: join(dir, 'controller.db'),
      flagFile: join(dir, 'flags.json'),
      token: 'serve-process-token-0123456789',
    };
    const script = join(import.meta.dirname, 'helpers', 'serve-process.ts');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@agent-canary/source', script, JSON.stringify(config)],
      {
        cwd: join(import.meta.dirname, '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await waitFor(
        'the server to listen',
        () => /"url":"([^"]+)"/.exec(stdout)?.[1],
        60_000,
        () => stderr,
      );
      const body = readFileSync(FIXTURE);
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        expect(response.status).toBe(200);
      }
      const status = await fetch(`${url}/v1/rollouts/serve-r1`, {
        headers: { authorization: `Bearer ${config.token}` },
      });
      expect(await status.json()).toMatchObject({ rolloutId: 'serve-r1', phase: 'canary' });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('"closed":true');
    } finally {
      child.kill('SIGKILL');
    }
    // The last snapshot holds the 5 requests' turns, and a new processor restores it.
    expect(existsSync(config.snapshotPath)).toBe(true);
    const snapshot = JSON.parse(readFileSync(config.snapshotPath, 'utf8')) as ProcessorSnapshot;
    expect(snapshot.spans.received).toBe(20);
    const restored = new BehaviorSpanProcessor({ snapshotPath: config.snapshotPath });
    expect(selectSeries(restored.window(), { release: 'prompt-v2', cohort: 'canary' }).turns).toBe(5);
    await restored.shutdown();
    // The store was closed cleanly and the rollout continues where it was.
    const store = new RolloutStore({ path: config.storePath });
    expect(store.getRollout('serve-r1')?.state.phase).toBe('canary');
    store.close();
  }, 90_000);
});
