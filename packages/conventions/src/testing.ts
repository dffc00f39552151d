/** Test doubles of the shared interfaces (`@agent-canary/conventions/testing`). */
import type { ApplyResult, RoutingAdapter, RoutingSplit } from './routing.js';
import { sameSplit } from './routing.js';
import { ROUTING_ERROR_CODE, RoutingError, type RoutingErrorCode } from './routing-errors.js';

/** An outage of {@link InMemoryRoutingAdapter}: what fails until {@link InMemoryRoutingAdapter.setOutage} ends it. */
export interface InMemoryOutage {
  /** Code of the `RoutingError` that `apply` throws. @default 'AGENT_CANARY_ROUTING_UNAVAILABLE' */
  readonly code?: RoutingErrorCode;
  /** Whether `read` fails too (a flag system that is down) or still answers (a read-only one). @default true */
  readonly reads?: boolean;
}

/**
 * An in-memory flag system for tests and single-process demos. `setByHand` simulates an
 * operator editing the flag; `failNextApplies` simulates a few failed writes and
 * `setOutage` a flag system that stays down until told otherwise.
 */
export class InMemoryRoutingAdapter implements RoutingAdapter {
  private readonly splits = new Map<string, RoutingSplit>();
  private version = 0;
  private failures = 0;
  private outage: InMemoryOutage | undefined;
  /** Every split written, in order (for assertions). */
  readonly history: RoutingSplit[] = [];
  /** Calls of `apply`, failed ones included. */
  applyCalls = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async apply(split: RoutingSplit): Promise<ApplyResult> {
    this.applyCalls++;
    if (this.outage !== undefined) {
      throw new RoutingError({
        code: this.outage.code ?? ROUTING_ERROR_CODE.unavailable,
        provider: 'in-memory',
        flagKey: split.flagKey,
        message: 'simulated outage of the flag system',
      });
    }
    if (this.failures > 0) {
      this.failures--;
      return { acknowledged: false, attempts: 1, reason: 'simulated outage' };
    }
    const current = this.splits.get(split.flagKey);
    if (!sameSplit(current, split) || current?.rolloutId !== split.rolloutId) {
      this.version++;
      this.splits.set(split.flagKey, { ...split, version: this.version });
      this.history.push({ ...split, version: this.version });
    }
    return { acknowledged: true, acknowledgedAtMillis: this.now(), attempts: 1, version: this.version };
  }

  async read(flagKey: string): Promise<RoutingSplit | undefined> {
    if (this.outage !== undefined && this.outage.reads !== false) {
      throw new RoutingError({
        code: ROUTING_ERROR_CODE.unavailable,
        provider: 'in-memory',
        flagKey,
        message: 'simulated outage of the flag system',
      });
    }
    return this.splits.get(flagKey);
  }

  /** Simulates a person changing the flag outside the controller. */
  setByHand(split: RoutingSplit): void {
    this.version++;
    this.splits.set(split.flagKey, { ...split, version: this.version });
  }

  /** Makes the next `count` applies fail (not acknowledged). */
  failNextApplies(count: number): void {
    this.failures = count;
  }

  /** Starts an outage (every `apply` throws until it ends), or ends it with `undefined`. */
  setOutage(outage: InMemoryOutage | undefined): void {
    this.outage = outage;
  }

  async close(): Promise<void> {}
}
