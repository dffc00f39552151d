/**
 * Turning command-line flags (strings) into `SimulationOptions`, for the
 * `agent-canary simulate` command.
 */
import { ConfigError } from '@agent-canary/conventions';
import { GATE_IDS, type GateId } from './run.js';
import type { SimulationOptions } from './simulate.js';

/** Flags of `agent-canary simulate`, as a CLI parser hands them over. */
export interface SimulateFlags {
  /** @default 1 */
  readonly seed?: string | number;
  readonly quick?: boolean;
  readonly runs?: string | number;
  readonly aaRuns?: string | number;
  readonly effectRuns?: string | number;
  readonly users?: string | number;
  /** Comma-separated ids or a list. */
  readonly scenarios?: string | readonly string[];
  readonly gates?: string | readonly string[];
  readonly horizon?: string | number;
  readonly workers?: string | number;
}

/** Defaults of {@link SimulateFlags}. */
export const SIMULATE_FLAG_DEFAULTS = Object.freeze({ seed: 1 });

function integer(path: string, value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = typeof value === 'number' ? value : /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed)) throw new ConfigError({ path, expected: 'an integer', received: value });
  return parsed;
}

function list(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = typeof value === 'string' ? value.split(',') : [...value];
  return items.map((item) => item.trim()).filter((item) => item.length > 0);
}

/**
 * Maps CLI flags to {@link SimulationOptions}; `runSimulation` validates ranges and ids.
 *
 * @example
 * const report = await runSimulation(simulationOptionsFromFlags({ quick: true, scenarios: 'aa,error' }));
 * @throws ConfigError when a number flag is not an integer or a gate id is unknown.
 */
export function simulationOptionsFromFlags(flags: SimulateFlags): SimulationOptions {
  const gates = list(flags.gates);
  for (const gate of gates ?? []) {
    if (!(GATE_IDS as readonly string[]).includes(gate)) {
      throw new ConfigError({ path: 'gates', expected: `ids among ${GATE_IDS.join(', ')}`, received: gate });
    }
  }
  // Absent flags stay undefined: `runSimulation` fills in its defaults.
  return {
    seed: integer('seed', flags.seed) ?? SIMULATE_FLAG_DEFAULTS.seed,
    quick: flags.quick ?? false,
    runs: integer('runs', flags.runs),
    aaRuns: integer('aaRuns', flags.aaRuns),
    effectRuns: integer('effectRuns', flags.effectRuns),
    users: integer('users', flags.users),
    horizonCanaryRequests: integer('horizon', flags.horizon),
    workers: integer('workers', flags.workers),
    scenarios: list(flags.scenarios),
    gates: gates as GateId[] | undefined,
  };
}
