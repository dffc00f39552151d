/**
 * How few canary requests a hard break (errors 1% → 20%) can be caught in when users are
 * the unit: the gate's error test (T-RATE on each user's first failed turn, at the check's
 * alpha) beside label bets that also use a user's later requests. Each user's arm is bet on
 * once, when the user is settled — at its first failed turn or at its m-th request without
 * one, whichever comes first (a rule that reads outcomes only, so under an identical canary
 * the arm is still a fair coin and the bets form a test martingale). The bet is the
 * likelihood ratio of what the user showed, under "the canary multiplies errors by r" (a
 * mixture over r) against the base rate, which these bets are TOLD (the gate is not). Same
 * traffic as the detection benchmark, same 5-second looks.
 */
import { createRng, rateLogEValue } from '@agent-canary/stats';
import {
  checkAlpha,
  HETEROGENEITY_GRID,
  type Heterogeneity,
  Population,
  SCENARIOS,
  TRAFFIC_DEFAULTS,
} from '../src/index.js';
import { emptyOutcome, OutcomeDrawer } from '../src/traffic.js';

const RUNS = 100;
const SEED = 20_261_205;
/** Requests without a failed turn after which a user is settled as clean. */
const SETTLE_AFTER = [3, 10] as const;
/** The alternatives the settled bets mix over: the canary's error multiplier. */
const MULTIPLIERS = [2, 5, 10, 20, 40];
/** The control's error rate, which the settled bets are told. */
const BASE_ERROR_RATE = 0.01;
const LIMIT_REQUESTS = 3000;

const hardBreak = SCENARIOS.find((scenario) => scenario.id === 'hard-break');

/** Canary requests at the look where each test first crossed 1/α (null: not within the limit). */
function simulate(run: number, heterogeneity: Heterogeneity, canaryBasisPoints: number): (number | null)[] {
  if (!hardBreak) throw new Error('no hard-break scenario');
  const alpha = checkAlpha('error_rate');
  const boundary = Math.log(1 / alpha);
  const rng = createRng(SEED).fork(
    `run:${run}:${heterogeneity.concentration}:${heterogeneity.zipfExponent}:${canaryBasisPoints}`,
  );
  const population = new Population(rng.fork('users'), TRAFFIC_DEFAULTS.users, heterogeneity);
  const arrivals = rng.fork('arrivals');
  const picks = rng.fork('picks');
  const drawer = new OutcomeDrawer(rng.fork('canary-control'));
  const outcome = emptyOutcome();
  const requests = new Int32Array(population.size);
  const failed = new Uint8Array(population.size);
  const settled = SETTLE_AFTER.map(() => new Uint8Array(population.size));
  // Per settling rule, per multiplier: the log-wealth of the bets so far.
  const logWealth = SETTLE_AFTER.map(() => MULTIPLIERS.map(() => 0));
  const rho0 = 0.5; // control as large as the canary
  let firstFailures = 0;
  let canaryFirstFailures = 0;
  let canaryRequests = 0;
  let now = 0;
  let nextLook = TRAFFIC_DEFAULTS.evaluationMillis;
  const decided: (number | null)[] = [null, ...SETTLE_AFTER.map(() => null)];

  const bet = (rule: number, canary: boolean, failedAt: number | null, seen: number): void => {
    MULTIPLIERS.forEach((multiplier, index) => {
      const p1 = Math.min(0.99, multiplier * BASE_ERROR_RATE);
      const p0 = BASE_ERROR_RATE;
      const ratio =
        failedAt === null ? ((1 - p1) / (1 - p0)) ** seen : ((1 - p1) / (1 - p0)) ** (failedAt - 1) * (p1 / p0);
      const q = (rho0 * ratio) / (rho0 * ratio + 1 - rho0);
      const wealth = logWealth[rule];
      if (wealth) wealth[index] = (wealth[index] ?? 0) + Math.log(canary ? q / rho0 : (1 - q) / (1 - rho0));
    });
  };
  const look = (): void => {
    if (decided[0] === null) {
      const logE = rateLogEValue([{ rho0, canaryEvents: canaryFirstFailures, totalEvents: firstFailures }]);
      if (logE >= boundary) decided[0] = canaryRequests;
    }
    logWealth.forEach((wealth, rule) => {
      const max = Math.max(...wealth);
      const logE = Math.log(wealth.reduce((sum, value) => sum + Math.exp(value - max), 0) / wealth.length) + max;
      if (decided[rule + 1] === null && logE >= boundary) decided[rule + 1] = canaryRequests;
    });
  };

  while (canaryRequests < LIMIT_REQUESTS && decided.some((value) => value === null)) {
    now += arrivals.exponential(TRAFFIC_DEFAULTS.requestsPerSecond / 1000);
    while (nextLook <= now) {
      look();
      nextLook += TRAFFIC_DEFAULTS.evaluationMillis;
    }
    const user = population.next(picks);
    const bucket = population.bucket[user] ?? 0;
    if (bucket >= 2 * canaryBasisPoints) continue; // stable
    const canary = bucket < canaryBasisPoints;
    drawer.draw(population, user, outcome, canary ? hardBreak.canary : undefined);
    if (canary) canaryRequests += 1;
    const seen = (requests[user] ?? 0) + 1;
    requests[user] = seen;
    if (outcome.error && failed[user] === 0) {
      failed[user] = 1;
      firstFailures += 1;
      if (canary) canaryFirstFailures += 1;
    }
    SETTLE_AFTER.forEach((after, rule) => {
      const done = settled[rule];
      if (!done || done[user] === 1) return;
      if (outcome.error) bet(rule, canary, seen, seen);
      else if (seen >= after) bet(rule, canary, null, seen);
      else return;
      done[user] = 1;
    });
  }
  return decided;
}

function median(values: readonly (number | null)[]): string {
  const sorted = values.map((value) => value ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  const middle = sorted[Math.floor(sorted.length / 2)] ?? Number.POSITIVE_INFINITY;
  return Number.isFinite(middle) ? String(middle) : `> ${LIMIT_REQUESTS}`;
}

export async function run(): Promise<{ title: string; markdown: string }> {
  const rows: string[] = [];
  for (const heterogeneity of HETEROGENEITY_GRID) {
    for (const share of [500, 5000]) {
      const results: (number | null)[][] = [];
      for (let index = 0; index < RUNS; index += 1) results.push(simulate(index, heterogeneity, share));
      const column = (test: number) => median(results.map((result) => result[test] ?? null));
      rows.push(
        `| κ=${heterogeneity.concentration}, s=${heterogeneity.zipfExponent} | ${share / 100}% | ${column(0)} | ${SETTLE_AFTER.map((_, rule) => column(rule + 1)).join(' | ')} |`,
      );
    }
  }
  const alpha = Number(checkAlpha('error_rate').toPrecision(3));
  const markdown = `The detection benchmark's hard-break target (rolled back in under 100 canary requests) is met at a 5% canary for
s ≤ 1.1 and missed at 50% and for s = 1.5. This asks whether a test that uses more of each user's requests would meet
it: the same traffic (10,000 users, 20 req/s, control as large as the canary, looks every 5 s), ${RUNS} runs per cell,
seed ${SEED}, at the error check's α = ${alpha}. *First failed turn* is the gate's error test alone (T-RATE on each
user's first failed turn, not told anything). *Settled at the first failure or the m-th clean request* bets on each
user's arm once, at whichever comes first, with the likelihood ratio of what the user showed under "errors × r"
(r ∈ {${MULTIPLIERS.join(', ')}}, mixed) against the base rate of ${BASE_ERROR_RATE * 100}% — which it is told, so it is an
optimistic version of such a test; valid whatever it is told, because the settling rule reads outcomes only. Median canary
requests to rollback:

| users | canary | first failed turn | ${SETTLE_AFTER.map((after) => `settled at the first failure or request ${after}`).join(' | ')} |
|---|---|---:|${SETTLE_AFTER.map(() => '---:').join('|')}|
${rows.join('\n')}

Reading, beside the detection benchmark's gate (61–70 at 5% for s ≤ 1.1; 100–129 at 50%; 149–168 and 244–320 at
s = 1.5): settling users after up to 10 clean requests helps most where heavy users dominate, yet stays at 162–231
canary requests for s = 1.5; at 50% for s ≤ 1.1 it gets to 91–111, under 100 in four of those six cells by 1–9
requests. So with users as the unit, at this α and with 5-second looks, no test of this kind brings a hard break under
100 canary requests when a few heavy users send most of the traffic. At a 5% canary the gate is faster than all of
them; besides its error test it has an error threshold (the users' mean against the 1% limit), which knows the limit.`;
  return { title: 'Hard break: what users as the unit can reach', markdown };
}
