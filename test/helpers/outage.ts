/**
 * Pieces of the flag-system outage tests: a gate that turns bad on demand, timers fired by
 * the test (no sleeps), a notifier that keeps what it was sent, a webhook receiver, and a
 * routing adapter wrapper that records every split the controller asked for.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Notification, Notifier, Scheduler } from '@agent-canary/controller';
import type { ApplyResult, RoutingAdapter, RoutingSplit } from '@agent-canary/conventions';
import type { GateContext, GateEvaluation, GateEvaluator } from '@agent-canary/gate';
import { gateResult } from '@agent-canary/gate/testing';

/** Passes until `bad` is set, then fails with a sequential failure (an immediate rollback). */
export class SwitchGate implements GateEvaluator {
  bad = false;
  evaluations = 0;

  async evaluate(context: GateContext): Promise<GateEvaluation> {
    this.evaluations++;
    const canary = Math.round((context.canaryBasisPoints / 10_000) * 1_000 * this.evaluations);
    const result = gateResult({
      verdict: this.bad ? 'fail' : 'pass',
      sequentialFailure: this.bad,
      requests: { canary, control: canary, stable: 5 * canary },
      reason: this.bad ? 'error rate: canary crossed its e-value boundary' : 'all checks pass',
      evaluatedAtMillis: context.nowMillis,
    });
    return { result, state: null };
  }
}

/** Timers that run when the test says so. */
export class ManualScheduler implements Scheduler {
  private readonly timers = new Map<number, { callback: () => void; delayMillis: number }>();
  private nextId = 1;
  /** Delays of every timer ever scheduled, in order. */
  readonly delays: number[] = [];

  setTimeout(callback: () => void, delayMillis: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { callback, delayMillis });
    this.delays.push(delayMillis);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Runs every timer scheduled now, then waits until the work they started has finished. */
  async fire(idle: () => Promise<void>): Promise<void> {
    const due = [...this.timers.values()];
    this.timers.clear();
    for (const timer of due) timer.callback();
    // The timers' work is queued on the controller; what they schedule next comes after it.
    for (let round = 0; round < 3; round++) {
      await idle();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/** Keeps every notification. */
export class RecordingNotifier implements Notifier {
  readonly name = 'recording';
  readonly sent: Notification[] = [];

  async notify(notification: Notification) {
    this.sent.push(notification);
    return { delivered: true, attempts: 1 };
  }

  /** `routing_pending` alerts and their clearing, as [kind, severity]. */
  routingAlerts(): [string, string][] {
    return this.sent.filter((n) => n.alert === 'routing_pending').map((n) => [n.kind, n.severity]);
  }
}

/** A local HTTP server receiving `webhookNotifier` posts. */
export async function startWebhookReceiver(): Promise<{
  readonly url: string;
  readonly received: Notification[];
  close(): Promise<void>;
}> {
  const received: Notification[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Notifiers keep connections alive; they would hold close() open.
        server.closeAllConnections();
      }),
  };
}

/** Wraps an adapter and records every split the controller asked it to write. */
export function recordingAdapter(inner: RoutingAdapter): RoutingAdapter & { readonly requested: RoutingSplit[] } {
  const requested: RoutingSplit[] = [];
  return {
    requested,
    apply(split: RoutingSplit): Promise<ApplyResult> {
      requested.push(split);
      return inner.apply(split);
    },
    read: (flagKey) => inner.read(flagKey),
    close: () => inner.close(),
  };
}

/** Polls `probe` (real time: a real service or process is involved) until it returns a value. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMillis = 30_000,
  intervalMillis = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMillis;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMillis));
  }
}
