import type { JsonValue } from './evaluator.js';

/** Counts of one pair of arms: `[canary, control]`. */
export type ArmPair<T> = [T, T];

/** Everything additive the tests read, cumulative since the rollout start (JSON). */
export interface Tally {
  /** Cohort sizes at the sample-ratio unit: `[stable, canary, control]`. */
  n: number[];
  /** Adverse events per rate signal. */
  rates: Record<string, ArmPair<number>>;
  /** Latency counts on the frozen reference's slots (null before the freeze). */
  lat: ArmPair<number[]> | null;
  /** Length counts on the frozen reference's slots (null before the freeze). */
  len: ArmPair<number[]> | null;
  /** Tool use by tool name: each subject's first tool call (subject unit) or every call. */
  mix: ArmPair<Record<string, number>>;
  /** Subjects whose second tool call used another tool than their first (subject unit only). */
  switches: ArmPair<number>;
}

/** A distribution frozen from stable traffic at the end of warm-up. */
export interface FrozenReference {
  /** Finite bucket upper edges, ascending; one overflow slot follows the last edge. */
  readonly edges: number[];
  /** Stable counts on the edges (`edges.length + 1` slots). */
  readonly counts: number[];
  readonly samples: number;
}

/** Counters at the start of one epoch of constant ρ0. */
export interface EpochMark {
  readonly rho0: number;
  readonly startMillis: number;
  /** True when the references were frozen before this epoch began (rank counts valid). */
  readonly ranked: boolean;
  readonly start: Tally;
}

/** What the gate persists between evaluations of one rollout (JSON, versioned). */
export interface GateState {
  readonly version: 2;
  readonly rolloutId: string;
  readonly warmupEndedAtMillis: number | null;
  readonly latencyReference: FrozenReference | null;
  readonly lengthReference: FrozenReference | null;
  /**
   * Stable tool use by name at the end of warm-up (at the tool-mix check's unit): decides
   * which rare tools are lumped and anchors each tool's share tolerance.
   */
  readonly toolReference: Record<string, number> | null;
  readonly epochs: EpochMark[];
  /** Split of the first epoch, the only one on which the sample-ratio test runs; null once it changed. */
  readonly sampleRatioSplit: { readonly canaryBasisPoints: number; readonly controlBasisPoints: number } | null;
  /** Unit counts per cohort when routing had settled (`sampleRatio.settleMillis`); the test counts from there. */
  readonly sampleRatioBaseline?: readonly number[] | null;
  /** Checks whose sequential test crossed its boundary (rejections are final), with their reasons. */
  readonly rejected: Record<string, string>;
  /** Reason of a sample-ratio mismatch once detected (final: verdicts stay frozen). */
  readonly sampleRatioMismatch: string | null;
}

/** 2: subject-level tool mix and tool switches (a version 1 state starts afresh). */
export const GATE_STATE_VERSION = 2;

/** A fresh state for a rollout. */
export function initialState(rolloutId: string): GateState {
  return {
    version: GATE_STATE_VERSION,
    rolloutId,
    warmupEndedAtMillis: null,
    latencyReference: null,
    lengthReference: null,
    toolReference: null,
    epochs: [],
    sampleRatioSplit: null,
    rejected: {},
    sampleRatioMismatch: null,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a persisted state; anything unreadable (another version, another rollout)
 * yields undefined and the gate starts afresh.
 */
export function readState(value: JsonValue | undefined, rolloutId: string): GateState | undefined {
  if (!isRecord(value)) return undefined;
  if (value['version'] !== GATE_STATE_VERSION || value['rolloutId'] !== rolloutId) return undefined;
  if (!Array.isArray(value['epochs']) || !isRecord(value['rejected'])) return undefined;
  // The gate wrote this value itself (JSON round trip); deeper checks would duplicate its writer.
  return value as unknown as GateState;
}

/** The state as a JSON value for the controller to persist. */
export function toJson(state: GateState): JsonValue {
  return state as unknown as JsonValue;
}

/** An all-zero tally (the start of the first epoch). */
export function emptyTally(): Tally {
  return { n: [0, 0, 0], rates: {}, lat: null, len: null, mix: [{}, {}], switches: [0, 0] };
}

/** True for a tally with no counts at all (what `emptyTally` returns, also after JSON). */
export function isEmptyTally(tally: Tally): boolean {
  return (
    tally.lat === null &&
    tally.len === null &&
    tally.switches[0] === 0 &&
    tally.switches[1] === 0 &&
    tally.n.every((value) => value === 0) &&
    Object.keys(tally.rates).length === 0 &&
    Object.keys(tally.mix[0]).length === 0 &&
    Object.keys(tally.mix[1]).length === 0
  );
}

function minusArray(a: readonly number[], b: readonly number[] | undefined): number[] {
  return a.map((value, index) => value - (b?.[index] ?? 0));
}

function minusRecord(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key in a) out[key] = (a[key] ?? 0) - (b[key] ?? 0);
  return out;
}

function minusPair(a: ArmPair<number[]> | null, b: ArmPair<number[]> | null): ArmPair<number[]> | null {
  if (!a) return null;
  return [minusArray(a[0], b?.[0]), minusArray(a[1], b?.[1])];
}

/** a − b, counter by counter (missing counters count as 0). */
export function subtract(a: Tally, b: Tally): Tally {
  const rates: Record<string, ArmPair<number>> = {};
  for (const key in a.rates) {
    const x = a.rates[key] ?? [0, 0];
    const y = b.rates[key] ?? [0, 0];
    rates[key] = [x[0] - y[0], x[1] - y[1]];
  }
  return {
    n: minusArray(a.n, b.n),
    rates,
    lat: minusPair(a.lat, b.lat),
    len: minusPair(a.len, b.len),
    mix: [minusRecord(a.mix[0], b.mix[0]), minusRecord(a.mix[1], b.mix[1])],
    switches: [a.switches[0] - b.switches[0], a.switches[1] - b.switches[1]],
  };
}
