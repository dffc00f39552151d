/**
 * The oracle the gate is compared with: a Wald SPRT that is told the true effect and reads
 * the same per-user data as the gate's check. Its stream is the scenario's subject-level
 * events (each user's first failed turn, first refusal, or a switch of tool at the second
 * call), counted in the cohort the user entered; under the effect an event is a canary
 * user's with probability θ1, under H0 with ρ0 (the canary's share of canary ∪ control).
 * θ1 is the effect as the stream sees it, measured over all runs of the scenario's cell:
 * (canary events) / (all events) up to the horizon. The SPRT rolls back when
 * k·ln(θ1/ρ0) + (n − k)·ln((1 − θ1)/(1 − ρ0)) ≥ ln(1/α): the fewest events any test of
 * this stream at level α needs on average (Wald–Wolfowitz). Like the gate, it looks at
 * the end of each 5-second tick.
 */

/** Where the oracle decided, in the run's own units. */
export interface OracleDetection {
  readonly canaryRequests: number;
  readonly canaryUsers: number;
}

/** θ1 of a cell: the canary's share of the stream's events over every run. */
export function streamTheta(runs: readonly (readonly number[])[]): number | undefined {
  let canary = 0;
  let total = 0;
  for (const events of runs) {
    for (let i = 1; i < events.length; i += 2) {
      canary += events[i] ?? 0;
      total += 1;
    }
  }
  return total > 0 ? canary / total : undefined;
}

/**
 * The SPRT on one run's events (pairs: the tick they precede, 1 for a canary event),
 * deciding at the first tick whose events put it past its boundary; `ticks` holds the
 * canary requests and users at each tick (pairs). Null when it did not reach its
 * boundary, or when θ1 does not exceed ρ0 (no effect in the direction the check tests).
 */
export function oracleDetection(
  events: readonly number[],
  ticks: readonly number[],
  theta1: number,
  rho0: number,
  alpha: number,
): OracleDetection | null {
  if (!(theta1 > rho0) || theta1 >= 1) return null;
  const up = Math.log(theta1 / rho0);
  const down = Math.log((1 - theta1) / (1 - rho0));
  const boundary = Math.log(1 / alpha);
  let llr = 0;
  for (let i = 0; i + 1 < events.length; i += 2) {
    llr += events[i + 1] === 1 ? up : down;
    const tick = events[i] ?? 0;
    const next = events[i + 2];
    // Decide at the end of the tick, once all its events are in.
    if (llr >= boundary && next !== tick && 2 * tick + 1 < ticks.length) {
      return { canaryRequests: ticks[2 * tick] ?? 0, canaryUsers: ticks[2 * tick + 1] ?? 0 };
    }
  }
  return null;
}
