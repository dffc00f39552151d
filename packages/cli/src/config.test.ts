import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRolloutConfig } from '@agent-canary/controller';
import { resolveGateConfig } from '@agent-canary/gate';
import { describe, expect, it } from 'vitest';
import { parseDurationMillis } from './config/file-schema.js';
import {
  ConfigFileError,
  loadRolloutDefinition,
  parseRolloutDefinition,
  parseRolloutDefinitionText,
} from './config.js';

const VALID_YAML = `
flagKey: support-agent-release
canaryRelease: support-v2
stableRelease: support-v1
steps:
  - { percent: 5, duration: 15m, minCanaryRequests: 200 }
  - { percent: 20, minDurationMillis: 1800000 }
  - { percent: 100 }
tickInterval: 10s
warmup: { minDuration: 2m, minCanaryRequests: 80 }
gate:
  alphaTotal: 0.02
  minReferenceSamples: 30
  checks:
    errorRate: { limit: 0.02, unit: request }
    latencyP99: { maxMillis: 2500 }
    toolMix: { maxShareDrift: 0.2 }
routing:
  provider: flagd
  options: { flagFile: ./flags.json }
store: { path: ./state.db }
notifications:
  webhook: { url: https://hooks.example.com/canary }
`;

function errorOf(work: () => unknown): ConfigFileError {
  try {
    work();
  } catch (error) {
    if (error instanceof ConfigFileError) return error;
    throw error;
  }
  throw new Error('expected a ConfigFileError');
}

const base = { flagKey: 'f', canaryRelease: 'v2', stableRelease: 'v1' };

describe('parseRolloutDefinitionText', () => {
  it('maps a YAML file onto the controller and gate options', () => {
    const definition = parseRolloutDefinitionText(VALID_YAML, '/etc/rollout.yaml');
    expect(definition.rollout).toEqual({
      flagKey: 'support-agent-release',
      canaryRelease: 'support-v2',
      stableRelease: 'support-v1',
      steps: [
        { percent: 5, minDurationMillis: 900_000, minCanaryRequests: 200 },
        { percent: 20, minDurationMillis: 1_800_000 },
        { percent: 100 },
      ],
      tickIntervalMillis: 10_000,
      warmup: { minDurationMillis: 120_000, minCanaryRequests: 80 },
    });
    expect(definition.gate.warmup).toEqual({ minMillis: 120_000, minCanaryRequests: 80, minReferenceSamples: 30 });
    expect(definition.routing).toEqual({ provider: 'flagd', options: { flagFile: './flags.json' } });
    expect(definition.storePath).toBe('./state.db');
    expect(definition.notifications.webhookUrl).toBe('https://hooks.example.com/canary');

    const rollout = resolveRolloutConfig(definition.rollout, {});
    expect(rollout.steps[1]).toEqual({ percent: 20, minDurationMillis: 1_800_000, minCanaryRequests: 100 });
    const gate = resolveGateConfig(definition.gate);
    expect(gate.alphaTotal).toBe(0.02);
    expect(gate.checks.errorRate.limit).toBe(0.02);
    expect(gate.checks.errorRate.unit).toBe('request');
    expect(gate.warmup.minMillis).toBe(120_000);
  });

  it('reads JSON by extension and defaults the routing provider', () => {
    const definition = parseRolloutDefinitionText(JSON.stringify(base), 'rollout.json');
    expect(definition.routing).toEqual({ provider: 'embedded', options: {} });
    expect(definition.rollout).toEqual(base);
  });

  it('names the file, the field, what was expected and the value received', () => {
    const yaml = `${VALID_YAML.replace('{ percent: 20, minDurationMillis: 1800000 }', '{ percent: 120 }')}`;
    const error = errorOf(() => parseRolloutDefinitionText(yaml, 'config.yaml'));
    expect(error.message).toContain(
      'config.yaml: steps[1].percent: expected a number greater than 0 and at most 100, received 120',
    );
    expect(error.issues[0]).toMatchObject({ path: 'steps[1].percent', received: 120 });
  });

  it('reports every problem at once, each with its path', () => {
    const error = errorOf(() =>
      parseRolloutDefinition(
        {
          canaryRelease: 'v2',
          stableRelease: 'v1',
          steps: [{ percent: 5, duration: '15 minutes' }, { percent: 100 }],
          gate: { alphaTotal: 2, checks: { errorRate: { limit: 'low' } } },
          notifications: { webhook: { url: 'ftp://example.com' } },
        },
        'rollout.yaml',
      ),
    );
    const lines = error.message.split('\n');
    expect(lines).toContain('rollout.yaml: flagKey: expected a non-empty flag key, received nothing');
    expect(lines).toContain(
      'rollout.yaml: steps[0].duration: expected a duration like "90s", "15m" or "1h30m", received "15 minutes"',
    );
    expect(lines).toContain(
      'rollout.yaml: gate.alphaTotal: expected a false-alarm level above 0 and at most 0.5, received 2',
    );
    expect(lines).toContain(
      'rollout.yaml: gate.checks.errorRate.limit: expected a rate between 0 and 1, received "low"',
    );
    expect(lines).toContain(
      'rollout.yaml: notifications.webhook.url: expected an http(s) URL, received "ftp://example.com"',
    );
    expect(error.issues).toHaveLength(5);
  });

  it('reads the serve section: limits, durations as text or milliseconds, and says what is wrong', () => {
    const definition = parseRolloutDefinition(
      {
        ...base,
        serve: {
          maxSpansPerRequest: 8192,
          maxDecompressedBytes: 8_388_608,
          bodyTimeout: '15s',
          idleTimeoutMillis: 2000,
          snapshotInterval: '5s',
          allowUnauthenticatedIngest: true,
        },
      },
      'r.yaml',
    );
    expect(definition.serve).toEqual({
      maxSpansPerRequest: 8192,
      maxDecompressedBytes: 8_388_608,
      bodyTimeoutMillis: 15_000,
      idleTimeoutMillis: 2000,
      snapshotIntervalMillis: 5000,
      allowUnauthenticatedIngest: true,
    });
    expect(parseRolloutDefinition(base, 'r.yaml').serve).toEqual({});
    const error = errorOf(() =>
      parseRolloutDefinition(
        {
          ...base,
          serve: {
            maxSpansPerRequest: 0,
            bodyTimeout: '0s',
            idleTimeout: '1s',
            idleTimeoutMillis: 1000,
            ingestToken: 'x',
          },
        },
        'r.yaml',
      ),
    );
    const lines = error.message.split('\n');
    expect(lines).toContain('r.yaml: serve.maxSpansPerRequest: expected a whole number, 1 or more, received 0');
    expect(lines).toContain('r.yaml: serve.bodyTimeout: expected a duration above 0, received 0');
    expect(lines).toContain(
      'r.yaml: serve.idleTimeoutMillis: expected either idleTimeout or idleTimeoutMillis, not both, received 1000',
    );
    // Tokens are secrets: not a field of the file.
    expect(error.issues.find((issue) => issue.path === 'serve.ingestToken')?.expected).toMatch(/^one of the fields/);
  });

  it('lists the known fields when a field name is misspelt', () => {
    const error = errorOf(() =>
      parseRolloutDefinition({ ...base, steps: [{ percnt: 5 }, { percent: 100 }] }, 'r.yaml'),
    );
    const issue = error.issues.find((candidate) => candidate.path === 'steps[0].percnt');
    expect(issue?.expected).toBe('one of the fields percent, duration, minDurationMillis, minCanaryRequests');
    expect(issue?.received).toBe(5);
  });

  it('requires increasing steps that end at 100, and one spelling of a duration', () => {
    const error = errorOf(() =>
      parseRolloutDefinition({
        ...base,
        steps: [{ percent: 20 }, { percent: 10, duration: '1m', minDurationMillis: 60_000 }, { percent: 50 }],
        tickInterval: '5s',
        tickIntervalMillis: 5000,
      }),
    );
    expect(error.message).toContain(
      "steps[1].percent: expected a share greater than the previous step's (20), received 10",
    );
    expect(error.message).toContain(
      'steps[1].minDurationMillis: expected either duration or minDurationMillis, not both, received 60000',
    );
    expect(error.message).toContain('steps[2].percent: expected 100 on the last step (promote), received 50');
    expect(error.message).toContain(
      'tickIntervalMillis: expected either tickInterval or tickIntervalMillis, not both, received 5000',
    );
  });

  it("passes the controller's own cross-field rules through with the file's field names", () => {
    const error = errorOf(() => parseRolloutDefinition({ ...base, stableRelease: 'v2' }, 'r.yaml'));
    expect(error.message).toBe('r.yaml: canaryRelease: expected a release different from stableRelease, received "v2"');
  });

  it("passes the gate's own rules through under gate.", () => {
    const error = errorOf(() =>
      parseRolloutDefinition({ ...base, gate: { checks: { toxicity: { alphaShare: 0.1 } } } }, 'r.yaml'),
    );
    expect(error.message).toBe(
      'r.yaml: gate.checks.toxicity.alphaShare: expected 0 (toxicity is a threshold check only), received 0.1',
    );
  });

  it('reports a YAML syntax error as a problem with the file', () => {
    const error = errorOf(() => parseRolloutDefinitionText('flagKey: [unclosed', 'bad.yaml'));
    expect(error.issues[0]?.path).toBe('(file)');
    expect(error.message).toMatch(/^bad\.yaml: \(file\): expected valid YAML, received "/);
  });

  it('reads a definition from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-canary-config-'));
    const path = join(dir, 'rollout.yml');
    writeFileSync(path, VALID_YAML);
    await expect(loadRolloutDefinition(path)).resolves.toMatchObject({ rollout: { flagKey: 'support-agent-release' } });
  });
});

describe('docs/cli.md', () => {
  it('its example definition file is valid', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../../docs/cli.md'), 'utf8');
    const example = /```yaml\n(# rollout\.yaml[\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const definition = parseRolloutDefinitionText(example ?? '', 'rollout.yaml');
    expect(definition.rollout.steps).toHaveLength(4);
    expect(definition.routing.options).toEqual({ path: '/var/run/agent-canary/routing.json' });
    expect(resolveGateConfig(definition.gate).checks.toolMix.maxShareDrift).toBe(0.01);
  });
});

describe('parseDurationMillis', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
  ])('%s is %d ms', (text, millis) => {
    expect(parseDurationMillis(text)).toBe(millis);
  });

  it.each(['', '15', 'm', '15 minutes', '1h 30m', '-5s'])('rejects %j', (text) => {
    expect(parseDurationMillis(text)).toBeUndefined();
  });
});
