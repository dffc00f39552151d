/** Test doubles of the shared interfaces (`@agent-canary/conventions/testing`). */
import type { ApplyResult, RoutingAdapter, RoutingSplit } from './routing.js';
import { sameSplit } from './routing.js';

/**
 * An in-memory flag system for tests and single-process demos. `setByHand` simulates an
 * operator editing the flag; `failNextApplies` simulates an unavailable flag system.
 */
export class InMemoryRoutingAdapter implements RoutingAdapter {
  private readonly splits = new Map<string, RoutingSplit>();
  private version = 0;
  private failures = 0;
  /** Every split written, in order (for assertions). */
  readonly history: RoutingSplit[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  async apply(split: RoutingSplit): Promise<ApplyResult> {
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

  async close(): Promise<void> {}
}
