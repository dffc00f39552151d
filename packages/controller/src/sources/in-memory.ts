import type { CohortWindows, MetricQuery, MetricReadResult, MetricSource } from './types.js';

/**
 * A metric source answering with windows you set: for tests, replays and demos.
 * `read` returns the last windows given to `set` (whatever the query's time range), or
 * the failure given to `fail`.
 *
 * @example
 * const source = new InMemoryMetricSource();
 * source.set(windows);
 * const gate = createGate(resolveGateConfig(), source);
 */
export class InMemoryMetricSource implements MetricSource {
  readonly name = 'in-memory';
  private answer: MetricReadResult = { ok: false, reason: 'no windows set yet' };
  /** Queries received, most recent last (bounded to the last 100). */
  readonly queries: MetricQuery[] = [];

  /** Answer the next reads with these windows. */
  set(windows: CohortWindows): void {
    this.answer = { ok: true, windows };
  }

  /** Answer the next reads with a failure. */
  fail(reason: string): void {
    this.answer = { ok: false, reason };
  }

  async read(query: MetricQuery): Promise<MetricReadResult> {
    this.queries.push(query);
    if (this.queries.length > 100) this.queries.shift();
    return this.answer;
  }
}
