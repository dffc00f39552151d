import { ConfigError } from '@agent-canary/conventions';
import { describe, expect, it } from 'vitest';
import { SIMULATE_FLAG_DEFAULTS, simulationOptionsFromFlags } from './options.js';
import { resolveSimulationConfig, SIMULATION_DEFAULTS } from './simulate.js';

describe('simulationOptionsFromFlags', () => {
  it('maps string flags to options that resolve', () => {
    const options = simulationOptionsFromFlags({
      seed: '42',
      quick: true,
      runs: '30',
      scenarios: 'aa, error',
      gates: ['ours', 'oracle'],
      horizon: '3000',
      workers: 1,
    });
    const config = resolveSimulationConfig(options);
    expect(config).toMatchObject({
      seed: 42,
      quick: true,
      aaRuns: 30,
      effectRuns: 30,
      stickyRuns: 30,
      scenarios: ['aa', 'error'],
      gates: ['ours', 'oracle'],
      horizonCanaryRequests: 3000,
      workers: 1,
    });
  });

  it('falls back to the defaults (quick sizes with --quick)', () => {
    const config = resolveSimulationConfig(simulationOptionsFromFlags({ quick: true }));
    expect(config.seed).toBe(SIMULATE_FLAG_DEFAULTS.seed);
    expect(config.aaRuns).toBe(SIMULATION_DEFAULTS.quickAaRuns);
    expect(config.effectRuns).toBe(SIMULATION_DEFAULTS.quickEffectRuns);
    expect(resolveSimulationConfig(simulationOptionsFromFlags({})).aaRuns).toBe(SIMULATION_DEFAULTS.aaRuns);
  });

  it('rejects non-integers and unknown gates with the flag name', () => {
    expect(() => simulationOptionsFromFlags({ runs: '1e3' })).toThrow(ConfigError);
    expect(() => simulationOptionsFromFlags({ seed: 'abc' })).toThrow(/seed/);
    expect(() => simulationOptionsFromFlags({ gates: 'ours,magic' })).toThrow(/gates/);
    expect(() => resolveSimulationConfig(simulationOptionsFromFlags({ scenarios: 'aa,nope' }))).toThrow(/scenarios/);
  });
});
