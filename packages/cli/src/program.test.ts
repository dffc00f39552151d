import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutController, RolloutStore } from '@agent-canary/controller';
import { InMemoryRoutingAdapter } from '@agent-canary/conventions/testing';
import type { GateEvaluator, GateResult } from '@agent-canary/gate';
import { syntheticRollout } from '@agent-canary/server/testing';
import { describe, expect, it } from 'vitest';
import { controllerStoreOpener } from './controller-store.js';
import { EXIT_CODE } from './exit-codes.js';
import type { CliIo } from './io.js';
import { type RunDependencies, run } from './program.js';
import type { ReportData } from './report.js';
import type { RolloutSummary } from './store.js';
import { memoryStore } from './testing-fixtures/memory-store.js';

interface Captured {
  readonly io: CliIo;
  stdout: string;
  stderr: string;
}

function capture(overrides: Partial<CliIo> = {}): Captured {
  const captured = {
    stdout: '',
    stderr: '',
  } as Captured;
  (captured as { io: CliIo }).io = {
    stdout: (text) => {
      captured.stdout += text;
    },
    stderr: (text) => {
      captured.stderr += text;
    },
    env: {},
    isTTY: false,
    cwd: mkdtempSync(join(tmpdir(), 'agent-canary-cli-')),
    ...overrides,
  };
  return captured;
}

async function invoke(argv: readonly string[], dependencies: RunDependencies = {}, overrides: Partial<CliIo> = {}) {
  const captured = capture(overrides);
  const code = await run(argv, captured.io, dependencies);
  return { code, stdout: captured.stdout, stderr: captured.stderr, cwd: captured.io.cwd };
}

/** Every command path of the program (kept complete by the test that reads the help). */
const COMMANDS = [
  [],
  ['rollout'],
  ['rollout', 'start'],
  ['rollout', 'status'],
  ['rollout', 'pause'],
  ['rollout', 'resume'],
  ['rollout', 'promote'],
  ['rollout', 'rollback'],
  ['rollout', 'abort'],
  ['rollout', 'approve'],
  ['report'],
  ['config'],
  ['config', 'validate'],
  ['release'],
  ['release', 'create'],
  ['release', 'list'],
  ['release', 'show'],
  ['monitor'],
  ['demo'],
  ['simulate'],
  ['serve'],
  ['dashboard'],
] as const;

function commandsInHelp(help: string): string[] {
  const section = help.split('Commands:\n')[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z]+)\b/gm)].map((match) => match[1] ?? '').filter((name) => name !== 'help');
}

describe('--help', () => {
  it.each(COMMANDS.map((path) => [path.join(' ') || '(root)', path]))(
    '%s --help prints usage and exits 0',
    async (_, path) => {
      const result = await invoke([...path, '--help']);
      expect(result.code).toBe(EXIT_CODE.ok);
      expect(result.stdout).toContain(`Usage: agent-canary${path.length ? ` ${path.join(' ')}` : ''}`);
      expect(result.stderr).toBe('');
    },
  );

  it('the list above covers every command the program has', async () => {
    const found: string[] = [];
    for (const path of COMMANDS) {
      const { stdout } = await invoke([...path, '--help']);
      for (const name of commandsInHelp(stdout)) found.push([...path, name].join(' '));
    }
    const listed = COMMANDS.filter((path) => path.length > 0).map((path) => path.join(' '));
    expect(found.sort()).toEqual([...listed].sort());
  });

  it('documents the environment variables and exit codes at the root', async () => {
    const { stdout } = await invoke(['--help']);
    for (const text of ['AGENT_CANARY_CONFIG', 'AGENT_CANARY_STORE', 'AGENT_CANARY_ACTOR', 'Exit codes:']) {
      expect(stdout).toContain(text);
    }
  });
});

describe('usage errors exit 2', () => {
  it.each([
    ['an unknown command', ['launch']],
    ['an unknown option', ['rollout', 'status', '--colour']],
    ['a missing required option', ['rollout', 'pause', 'r-1']],
    ['a missing argument', ['rollout', 'abort', '--reason', 'x']],
    ['a bad duration', ['rollout', 'status', 'r-1', '--watch', '--interval', 'soon']],
    ['no command', []],
  ])('%s', async (_, argv) => {
    const result = await invoke(argv);
    expect(result.code).toBe(EXIT_CODE.usage);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toBe('');
  });

  it('a missing definition file name exits 2 and says how to give one', async () => {
    const result = await invoke(['rollout', 'start'], { openStore: async () => memoryStore([]) });
    expect(result.code).toBe(EXIT_CODE.usage);
    expect(result.stderr).toContain('--config <file> or set AGENT_CANARY_CONFIG');
  });
});

describe('config validate', () => {
  it('exits 0 for a valid file and 2 with the field path for an invalid one', async () => {
    const captured = capture();
    writeFileSync(join(captured.io.cwd, 'good.yaml'), 'flagKey: f\ncanaryRelease: v2\nstableRelease: v1\n');
    writeFileSync(
      join(captured.io.cwd, 'bad.yaml'),
      'flagKey: f\ncanaryRelease: v2\nstableRelease: v1\nsteps: [{percent: 5}, {percent: 120}]\n',
    );
    expect(await run(['config', 'validate', 'good.yaml'], captured.io)).toBe(EXIT_CODE.ok);
    expect(captured.stdout).toContain('good.yaml: valid');
    expect(await run(['config', 'validate', 'bad.yaml'], captured.io)).toBe(EXIT_CODE.usage);
    expect(captured.stderr).toContain(
      'bad.yaml: steps[1].percent: expected a number greater than 0 and at most 100, received 120',
    );
  });

  it('reads the file named by AGENT_CANARY_CONFIG', async () => {
    const captured = capture();
    writeFileSync(
      join(captured.io.cwd, 'env.json'),
      JSON.stringify({ flagKey: 'f', canaryRelease: 'a', stableRelease: 'b' }),
    );
    const io = { ...captured.io, env: { AGENT_CANARY_CONFIG: 'env.json' } };
    expect(await run(['config', 'validate', '--json'], io)).toBe(EXIT_CODE.ok);
    expect(JSON.parse(captured.stdout).resolved.rollout.steps).toHaveLength(4);
  });

  it('exits 3 when the file does not exist', async () => {
    const result = await invoke(['config', 'validate', 'missing.yaml']);
    expect(result.code).toBe(EXIT_CODE.runtime);
    expect(result.stderr).toContain('missing.yaml');
  });
});

describe('--json', () => {
  const rolledBack = syntheticRollout();
  const store = () => memoryStore([rolledBack]);

  it.each([
    ['a status', ['rollout', 'status', rolledBack.summary.id, '--json'], EXIT_CODE.rolledBack, true],
    ['a list', ['rollout', 'status', '--json'], EXIT_CODE.ok, true],
    ['an unknown rollout', ['rollout', 'status', 'nope', '--json'], EXIT_CODE.runtime, false],
    ['a usage error', ['rollout', 'status', '--json', '--colour'], EXIT_CODE.usage, false],
    ['a config error', ['config', 'validate', '--json'], EXIT_CODE.usage, false],
  ] as const)('prints exactly one JSON document for %s', async (_, argv, code, ok) => {
    const result = await invoke(argv, { openStore: async () => store() }, { isTTY: true });
    expect(result.code).toBe(code);
    expect(result.stderr).toBe('');
    const document = JSON.parse(result.stdout) as { ok: boolean; error?: { code: string; message: string } };
    expect(document.ok).toBe(ok);
    if (!ok) expect(document.error?.message).toBeTruthy();
  });

  it('lists every field problem of an invalid definition', async () => {
    const captured = capture();
    writeFileSync(
      join(captured.io.cwd, 'bad.yaml'),
      'flagKey: ""\ncanaryRelease: v2\nstableRelease: v1\nrouting: { provider: consul }\n',
    );
    expect(await run(['config', 'validate', 'bad.yaml', '--json'], captured.io)).toBe(EXIT_CODE.usage);
    const document = JSON.parse(captured.stdout) as {
      error: { code: string; issues: { path: string; received: unknown }[] };
    };
    expect(document.error.code).toBe('invalid_config');
    expect(document.error.issues.map((issue) => issue.path)).toEqual(['flagKey', 'routing.provider']);
    expect(document.error.issues[1]?.received).toBe('consul');
  });
});

describe('rollout status and manual actions against a store double', () => {
  it('exits 1 for a rolled-back rollout and 0 for a running one', async () => {
    const running = syntheticRollout({ rolloutId: 'running', seed: 3 });
    const runningSummary: RolloutSummary = { ...running.summary, state: 'canary', canaryPercent: 50 };
    const { outcome: _, ...withoutOutcome } = runningSummary;
    const stores = memoryStore([syntheticRollout(), { ...running, summary: withoutOutcome }]);
    const openStore = async () => stores;
    expect((await invoke(['rollout', 'status', 'support-agent-7f3a'], { openStore })).code).toBe(EXIT_CODE.rolledBack);
    const ok = await invoke(['rollout', 'status', 'running'], { openStore });
    expect(ok.code).toBe(EXIT_CODE.ok);
    expect(ok.stdout).toContain('state     canary');
    expect(ok.stdout).toContain('tool_success_rate');
    expect(stores.closed).toBe(2);
  });

  it('exits 1 when the controller refuses an action, 0 when it accepts', async () => {
    const openStore = async () =>
      memoryStore([syntheticRollout()], (_, action) =>
        action === 'promote'
          ? { accepted: false, reason: 'rollout already ended (rolled_back)' }
          : { accepted: true, reason: 'ok' },
      );
    const refused = await invoke(['rollout', 'promote', 'support-agent-7f3a', '--reason', 'ship it'], { openStore });
    expect(refused.code).toBe(EXIT_CODE.rolledBack);
    expect(refused.stdout).toContain('promote refused for rollout support-agent-7f3a: rollout already ended');
    const accepted = await invoke(['rollout', 'pause', 'support-agent-7f3a', '--reason', 'look'], { openStore });
    expect(accepted.code).toBe(EXIT_CODE.ok);
  });

  it('exits 3 when no store implementation is available', async () => {
    const result = await invoke(['rollout', 'status']);
    expect(result.code).toBe(EXIT_CODE.runtime);
    expect(result.stderr).toContain('no rollout store implementation');
  });

  it('--watch polls until the rollout ends, draws progress on a terminal and exits with the outcome', async () => {
    const final = syntheticRollout();
    const { outcome: _, ...base } = final.summary;
    const states: RolloutSummary[] = [
      { ...base, state: 'canary', stepIndex: 0, canaryPercent: 5 },
      { ...base, state: 'canary', stepIndex: 1, canaryPercent: 20 },
      final.summary,
    ];
    let reads = 0;
    const store = memoryStore([final]);
    store.get = async () => states[Math.min(reads++, states.length - 1)];
    const sleeps: number[] = [];
    const result = await invoke(
      ['rollout', 'status', final.summary.id, '--watch', '--interval', '5s'],
      { openStore: async () => store, sleep: async (millis) => void sleeps.push(millis) },
      { isTTY: true, columns: 200 },
    );
    expect(result.code).toBe(EXIT_CODE.rolledBack);
    expect(sleeps).toEqual([5000, 5000]);
    expect(result.stdout).toContain('\r\x1b[2Kcanary · step 1/4 · canary 5% · requests stable');
    expect(result.stdout).toContain('\r\x1b[2Kcanary · step 2/4 · canary 20%');
    expect(result.stdout).toContain('state     rolled_back, step 3/4, canary 0%');
    // Each check says its unit and how many units were behind each arm.
    expect(result.stdout).toMatch(/users {5}canary \d+ · control \d+/);
    expect(result.stdout).toMatch(/ error_rate \[\w+: canary \d+ · control \d+\]/);
  });

  it('--watch stays quiet when stdout is not a terminal', async () => {
    const final = syntheticRollout();
    const { outcome: _, ...base } = final.summary;
    let reads = 0;
    const store = memoryStore([final]);
    store.get = async () => (reads++ < 2 ? { ...base, state: 'canary' } : final.summary);
    const result = await invoke(['rollout', 'status', final.summary.id, '--watch', '--json'], {
      openStore: async () => store,
      sleep: async () => {},
    });
    expect(result.stdout).not.toContain('\r');
    expect(JSON.parse(result.stdout).rollout.outcome).toBe('rolled_back');
  });
});

/** A gate that passes, then fails a sequential test on its third evaluation. */
function failingGate(): GateEvaluator {
  return {
    async evaluate(context) {
      const n = ((context.state as { n?: number } | undefined)?.n ?? 0) + 1;
      const fail = n >= 3;
      const result: GateResult = {
        verdict: fail ? 'fail' : 'pass',
        sequentialFailure: fail,
        thresholdFailure: false,
        sampleRatioMismatch: false,
        requests: { stable: 900 * n, canary: 50 * n, control: 50 * n },
        subjects: { stable: 600 * n, canary: 30 * n, control: 30 * n },
        checks: [
          {
            check: 'tool_success_rate',
            method: 'sequential',
            verdict: fail ? 'fail' : 'pass',
            unit: 'subject',
            measurements: [
              { cohort: 'canary', value: fail ? 0.8 : 0.97, samples: 50 * n },
              { cohort: 'control', value: 0.97, samples: 50 * n },
            ],
            statistic: { eValue: fail ? 812 : 0.7, boundary: 400, alpha: 0.0025 },
            reason: fail ? 'tool_success_rate: canary <b>80%</b> vs control 97%' : 'tool_success_rate: no difference',
          },
        ],
        reason: fail ? 'tool_success_rate crossed its boundary' : 'all checks pass',
        evaluatedAtMillis: context.nowMillis,
      };
      return { result, state: { n } };
    },
  };
}

describe('against the real controller store (SQLite)', () => {
  it('starts, pauses, resumes, refuses, reports a rollback and writes the HTML report', async () => {
    const captured = capture();
    const { cwd } = captured.io;
    let now = Date.UTC(2026, 10, 26, 10, 0, 0);
    const clock = () => now;
    const routing = new InMemoryRoutingAdapter(clock);
    const dependencies: RunDependencies = {
      openStore: controllerStoreOpener({ routing: () => routing, clock, env: {} }),
      now: clock,
    };
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      'rolloutId: r-1\nflagKey: support\ncanaryRelease: "v2 <script>"\nstableRelease: v1\nsteps:\n  - { percent: 5, duration: 1m }\n  - { percent: 100 }\n',
    );
    const go = async (argv: string[]) => {
      captured.stdout = '';
      captured.stderr = '';
      return run(argv, captured.io, dependencies);
    };

    expect(
      await go(['rollout', 'start', '--config', 'rollout.yaml', '--store', 'state.db', '--actor', 'alice', '--json']),
    ).toBe(EXIT_CODE.ok);
    expect(JSON.parse(captured.stdout).rollout).toMatchObject({ id: 'r-1', state: 'canary', canaryPercent: 5 });
    expect(routing.history.at(-1)).toMatchObject({ canaryBasisPoints: 500, controlBasisPoints: 500 });

    // Another rollout of the same flag is refused by the controller: exit 1.
    writeFileSync(join(cwd, 'second.yaml'), 'flagKey: support\ncanaryRelease: v3\nstableRelease: v1\n');
    expect(await go(['rollout', 'start', '-c', 'second.yaml', '--store', 'state.db'])).toBe(EXIT_CODE.rolledBack);
    expect(captured.stderr).toContain('still canary');
    expect(await go(['rollout', 'start', '-c', 'rollout.yaml', '--store', 'state.db'])).toBe(EXIT_CODE.rolledBack);
    expect(captured.stderr).toContain('a rollout with id "r-1" is already in the store');

    now += 1000;
    expect(await go(['rollout', 'resume', 'r-1', '--reason', 'not paused', '--store', 'state.db'])).toBe(
      EXIT_CODE.rolledBack,
    );
    expect(captured.stdout).toContain('resume refused');
    expect(await go(['rollout', 'pause', 'r-1', '--reason', 'stand-up', '--actor', 'bob', '--store', 'state.db'])).toBe(
      EXIT_CODE.ok,
    );
    expect(captured.stdout).toContain('is now paused');
    now += 60_000;
    expect(await go(['rollout', 'resume', 'r-1', '--reason', 'done', '--actor', 'bob', '--store', 'state.db'])).toBe(
      EXIT_CODE.ok,
    );

    // The process serving traffic evaluates the gate; here, a controller on the same file.
    const store = new RolloutStore({ path: join(cwd, 'state.db') });
    const controller = new RolloutController({ store, routing, gate: failingGate(), clock, env: {} });
    await controller.restore('r-1');
    for (let tick = 0; tick < 3; tick++) {
      now += 5000;
      await controller.tick();
    }
    store.close();
    expect(routing.history.at(-1)).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0 });

    expect(await go(['rollout', 'status', 'r-1', '--store', 'state.db'])).toBe(EXIT_CODE.rolledBack);
    expect(captured.stdout).toContain('rolled_back');
    expect(await go(['rollout', 'status', '--store', 'state.db'])).toBe(EXIT_CODE.ok);
    expect(captured.stdout).toMatch(/r-1\s+rolled_back\s+1\/2\s+0%\s+v2 <script>\s+fail/);
    expect(await go(['rollout', 'promote', 'r-1', '--reason', 'ship', '--store', 'state.db'])).toBe(
      EXIT_CODE.rolledBack,
    );
    const audit = new RolloutStore({ path: join(cwd, 'state.db') });
    const user = captured.io.env['USER'] ?? 'cli';
    expect(audit.manualActions('r-1').map((a) => `${a.action}:${a.accepted}:${a.actor}`)).toEqual([
      `resume:false:${user}`,
      'pause:true:bob',
      'resume:true:bob',
      `promote:false:${user}`,
    ]);
    audit.close();

    expect(await go(['report', '--rollout', 'r-1', '--out', 'out/report.html', '--store', 'state.db', '--json'])).toBe(
      EXIT_CODE.ok,
    );
    const written = JSON.parse(captured.stdout) as { out: string; decisions: number; evaluations: number };
    expect(written.evaluations).toBe(3);
    expect(existsSync(written.out)).toBe(true);
    const html = readFileSync(written.out, 'utf8');
    // The page draws from the data embedded in it (the browser test checks the drawing).
    const embedded = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
    const data = JSON.parse(embedded ?? '{}') as ReportData;
    expect(data.decisions).toContainEqual(
      expect.objectContaining({ from: 'canary@5%', to: 'paused@5%', actor: 'bob', reason: 'paused by bob: stand-up' }),
    );
    expect(data.decisions.at(-1)?.evidence.map((evidence) => evidence.reason)).toContain(
      'tool_success_rate: canary <b>80%</b> vs control 97%',
    );
    expect(data.rollout.canaryRelease).toBe('v2 <script>');
    expect(html).toContain('<title>Rollout r-1: v2 &lt;script&gt;</title>');
    expect(html).not.toContain('v2 <script>');
    expect(html).not.toContain('<b>80%');

    expect(await go(['report', '--rollout', 'nope', '--store', 'state.db'])).toBe(EXIT_CODE.runtime);
  });

  it('exits 3 and says so when the routing system does not acknowledge the split', async () => {
    const captured = capture();
    writeFileSync(
      join(captured.io.cwd, 'r.yaml'),
      'rolloutId: r-2\nflagKey: f\ncanaryRelease: v2\nstableRelease: v1\n',
    );
    const routing = new InMemoryRoutingAdapter();
    routing.failNextApplies(1);
    const code = await run(['rollout', 'start', '-c', 'r.yaml', '--store', 's.db', '--json'], captured.io, {
      openStore: controllerStoreOpener({ routing: () => routing, env: {} }),
    });
    expect(code).toBe(EXIT_CODE.runtime);
    const document = JSON.parse(captured.stdout) as { ok: boolean; error: { code: string }; rollout: { id: string } };
    expect(document).toMatchObject({ ok: false, error: { code: 'routing_not_acknowledged' }, rollout: { id: 'r-2' } });
  });

  it('shows "rolled back — routing pending" while the flag system is down, and rollback re-asserts it', async () => {
    const captured = capture();
    const { cwd } = captured.io;
    let now = Date.UTC(2026, 10, 26, 10, 0, 0);
    const clock = () => now;
    const routing = new InMemoryRoutingAdapter(clock);
    const dependencies: RunDependencies = {
      openStore: controllerStoreOpener({ routing: () => routing, clock, env: {} }),
      now: clock,
    };
    writeFileSync(
      join(cwd, 'rollout.yaml'),
      'rolloutId: r-1\nflagKey: support\ncanaryRelease: v2\nstableRelease: v1\nsteps:\n  - { percent: 20, duration: 1h }\n  - { percent: 100 }\n',
    );
    const go = async (argv: string[]) => {
      captured.stdout = '';
      captured.stderr = '';
      return run([...argv, '--store', 'state.db'], captured.io, dependencies);
    };
    expect(await go(['rollout', 'start', '-c', 'rollout.yaml'])).toBe(EXIT_CODE.ok);

    // The flag system goes down (reads still answer); the canary turns bad in the serving process.
    routing.setOutage({ code: 'AGENT_CANARY_ROUTING_UNAUTHORIZED', reads: false });
    const store = new RolloutStore({ path: join(cwd, 'state.db') });
    const controller = new RolloutController({ store, routing, gate: failingGate(), clock, env: {} });
    await controller.restore('r-1');
    for (let tick = 0; tick < 3; tick++) {
      now += 5000;
      await controller.tick();
    }
    store.close();
    expect(await routing.read('support')).toMatchObject({ canaryBasisPoints: 2_000, controlBasisPoints: 2_000 });

    now += 5000;
    expect(await go(['rollout', 'status', 'r-1'])).toBe(EXIT_CODE.rolledBack);
    expect(captured.stdout).toContain('rolled_back — routing pending');
    expect(captured.stdout).toContain('it still routes canary 20%, control 20% (read back 5s ago)');
    expect(captured.stdout).toContain('simulated outage of the flag system');
    expect(await go(['rollout', 'status', 'r-1', '--json'])).toBe(EXIT_CODE.rolledBack);
    expect(JSON.parse(captured.stdout).rollout).toMatchObject({
      state: 'rolled_back',
      canaryPercent: 0,
      routingPending: true,
      routing: { pending: true, routed: { canaryBasisPoints: 2_000, source: 'read_back' }, failedAttempts: 1 },
    });
    expect(await go(['rollout', 'status'])).toBe(EXIT_CODE.ok);
    expect(captured.stdout).toMatch(/r-1\s+rolled_back — routing pending\s+1\/2\s+0%/);

    // Abort of an ended rollout is refused, with the way out; rollback writes canary 0 again.
    expect(await go(['rollout', 'abort', 'r-1', '--reason', 'stop it'])).toBe(EXIT_CODE.rolledBack);
    expect(captured.stdout).toContain('`rollout rollback` re-applies the stable split');
    expect(await go(['rollout', 'rollback', 'r-1', '--reason', 'flag still routes 20%', '--json'])).toBe(
      EXIT_CODE.runtime,
    );
    expect(JSON.parse(captured.stdout)).toMatchObject({
      ok: false,
      accepted: true,
      error: { code: 'routing_not_acknowledged' },
      rollout: { routingPending: true },
    });
    routing.setOutage(undefined);
    expect(await go(['rollout', 'rollback', 'r-1', '--reason', 'flag system is back'])).toBe(EXIT_CODE.ok);
    expect(captured.stdout).toContain('rollback: rollout r-1 is now rolled_back (rollback re-asserted by');
    expect(await routing.read('support')).toMatchObject({ canaryBasisPoints: 0, controlBasisPoints: 0 });
    expect(await go(['rollout', 'status', 'r-1', '--json'])).toBe(EXIT_CODE.rolledBack);
    expect(JSON.parse(captured.stdout).rollout).not.toHaveProperty('routingPending');
  });

  it('start and manual actions exit 3 when no routing adapter is available', async () => {
    const captured = capture();
    writeFileSync(join(captured.io.cwd, 'r.yaml'), 'flagKey: f\ncanaryRelease: v2\nstableRelease: v1\n');
    const code = await run(['rollout', 'start', '-c', 'r.yaml', '--store', 's.db'], captured.io, {
      openStore: controllerStoreOpener({ env: {} }),
    });
    expect(code).toBe(EXIT_CODE.runtime);
    expect(captured.stderr).toContain('no routing adapter is available in this build for provider "embedded"');
  });
});
