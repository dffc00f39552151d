/**
 * A deterministic stand-in for an LLM behind a customer-service agent: it classifies the
 * request, plans tool calls, takes a (simulated) time to think, and writes the answer from
 * templates in the release's tone. Everything random comes from the seeded stream it is
 * given, so a run is reproducible and an A/A canary behaves exactly like stable.
 */
import type { Rng } from '@agent-canary/stats';

/** What the customer wants. */
export const INTENT = {
  orderStatus: 'order_status',
  shipment: 'shipment',
  refund: 'refund',
  human: 'human',
  outOfScope: 'out_of_scope',
} as const;
export type Intent = (typeof INTENT)[keyof typeof INTENT];

/** Share of each intent in the traffic (sums to 1). */
export const INTENT_MIX: Readonly<Record<Intent, number>> = Object.freeze({
  order_status: 0.4,
  shipment: 0.3,
  refund: 0.19,
  human: 0.1,
  out_of_scope: 0.01,
});

/** The agent's tools. */
export const TOOL = {
  orderLookup: 'order_lookup',
  trackShipment: 'track_shipment',
  refund: 'refund',
  escalateToHuman: 'escalate_to_human',
} as const;
export type ToolName = (typeof TOOL)[keyof typeof TOOL];

/** Tone of a release's answers. */
export const TONE = { formal: 'formal', casual: 'casual' } as const;
export type Tone = (typeof TONE)[keyof typeof TONE];

/** How one release (prompt + model) behaves. Rates are fractions 0..1. */
export interface ReleaseBehavior {
  /** Model name put on model-call spans. */
  readonly model: string;
  readonly tone: Tone;
  /** Probability that a tool call fails (timeouts, upstream errors). */
  readonly toolFailureRate: number;
  /** Share of requests on which the model takes the wrong tool path (`refund` for everything). */
  readonly wrongToolPathRate: number;
  /** Probability that a refund called on the wrong path fails (not eligible). */
  readonly wrongRefundFailureRate: number;
  /** Probability that a model call fails (the turn then fails). */
  readonly modelErrorRate: number;
  /** Multiplies every simulated model latency. */
  readonly latencyFactor: number;
  /** Probability of a thumbs-down on a good answer. */
  readonly thumbsDownRate: number;
}

/** One customer request. */
export interface SupportRequest {
  /** Sequence number in the run (seeds this request's random stream). */
  readonly index: number;
  readonly userId: string;
  readonly intent: Intent;
  readonly orderId: string;
  /** Virtual epoch milliseconds at which the request arrives. */
  readonly arrivalMillis: number;
}

/** Facts the tools return about an order (fixed per request, whichever release serves it). */
export interface OrderFacts {
  readonly status: string;
  readonly eta: string;
  readonly carrier: string;
  readonly amount: string;
}

const STATUSES = ['being packed', 'on its way', 'out for delivery', 'waiting at the depot'] as const;
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const CARRIERS = ['DHL', 'UPS', 'La Poste', 'GLS'] as const;

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)] as T;
}

/** Draws the intent of a request from {@link INTENT_MIX}. */
export function drawIntent(rng: Rng): Intent {
  let u = rng.next();
  for (const [intent, share] of Object.entries(INTENT_MIX) as [Intent, number][]) {
    u -= share;
    if (u < 0) return intent;
  }
  return INTENT.orderStatus;
}

/** The order facts behind a request: what a correct tool call returns. */
export function factsOf(rng: Rng): OrderFacts {
  return {
    status: pick(rng, STATUSES),
    eta: pick(rng, DAYS),
    carrier: pick(rng, CARRIERS),
    amount: `${20 + rng.int(180)}.${10 + rng.int(89)} EUR`,
  };
}

/** The question a customer types for an intent (never captured on spans by default). */
export function questionFor(request: SupportRequest): string {
  switch (request.intent) {
    case INTENT.orderStatus:
      return `Where is my order ${request.orderId}?`;
    case INTENT.shipment:
      return `Can you track the parcel for order ${request.orderId}?`;
    case INTENT.refund:
      return `I want a refund for order ${request.orderId}.`;
    case INTENT.human:
      return 'I would like to talk to a person, please.';
    case INTENT.outOfScope:
      return 'Can you write my homework essay about the French revolution?';
  }
}

/** What happened with the tools, as the answer writer sees it. */
export interface ToolOutcome {
  readonly wrongPath: boolean;
  /** A tool the answer depends on failed. */
  readonly failed: boolean;
  /** The request was handed to a person. */
  readonly escalated: boolean;
}

/** Tools the correct plan calls for an intent, in order. */
export function correctPlan(intent: Intent): readonly ToolName[] {
  switch (intent) {
    case INTENT.orderStatus:
      return [TOOL.orderLookup];
    case INTENT.shipment:
      return [TOOL.orderLookup, TOOL.trackShipment];
    case INTENT.refund:
      return [TOOL.orderLookup, TOOL.refund];
    case INTENT.human:
      return [TOOL.escalateToHuman];
    case INTENT.outOfScope:
      return [];
  }
}

/**
 * Latency of one model call in ms: log-normal around `medianMillis` (σ = 0.3), scaled by
 * the release's latency factor.
 */
export function modelLatencyMillis(rng: Rng, behavior: ReleaseBehavior, medianMillis: number): number {
  return Math.round(medianMillis * Math.exp(0.3 * rng.normal()) * behavior.latencyFactor);
}

/** Latency of one tool call in ms (uniform 60–240 ms). */
export function toolLatencyMillis(rng: Rng): number {
  return 60 + rng.int(180);
}

const FORMAL_OPENERS = [
  'Thank you for contacting us.',
  'Thanks for reaching out to us.',
  'Thank you for your message.',
];
const FORMAL_CLOSERS = [
  'Is there anything else I can help you with today?',
  'Please let me know if there is anything else I can help you with.',
  'Let me know if I can help you with anything else today.',
];

/**
 * The answer a release writes. Formal answers share their facts sentence and vary only
 * in phrasing (two samples of the stable release score about 0.9 with
 * `lexicalSimilarity`); casual ones are short and chatty.
 */
export function writeAnswer(
  rng: Rng,
  tone: Tone,
  request: SupportRequest,
  facts: OrderFacts,
  outcome: ToolOutcome,
): string {
  const id = request.orderId;
  if (tone === TONE.casual) return casualAnswer(rng, request, facts, outcome);
  const opener = pick(rng, FORMAL_OPENERS);
  const closer = pick(rng, FORMAL_CLOSERS);
  if (outcome.failed) {
    return `${opener} I am sorry, our order system is not responding right now, so I could not check order ${id}. I have passed your request to a colleague who will contact you by email within one working day. ${closer}`;
  }
  if (outcome.wrongPath) {
    return `${opener} I have started a refund of ${facts.amount} for order ${id}; it can take up to ten days to reach your account. ${closer}`;
  }
  switch (request.intent) {
    case INTENT.orderStatus:
      return `${opener} I have checked order ${id} for you: it is currently ${facts.status} and the expected delivery day is ${facts.eta}. You will receive an email with the tracking details as soon as the carrier scans the parcel. ${closer}`;
    case INTENT.shipment:
      return `${opener} Your parcel for order ${id} is travelling with ${facts.carrier}: it is currently ${facts.status} and the expected delivery day is ${facts.eta}. You can follow every step with the tracking link in your confirmation email. ${closer}`;
    case INTENT.refund:
      return `${opener} I have checked order ${id} and started a refund of ${facts.amount} to your original payment method. The money usually reaches your account within five to ten working days, and you will receive a confirmation email. ${closer}`;
    case INTENT.human:
      return `${opener} I have passed your request to a colleague from our customer service team, who will contact you by email within one working day. Your case number is ${id}. ${closer}`;
    case INTENT.outOfScope:
      return "I'm sorry, but I can't help with that request. I can help you with orders, deliveries, refunds and returns, and I can put you in touch with a colleague.";
  }
}

function casualAnswer(rng: Rng, request: SupportRequest, facts: OrderFacts, outcome: ToolOutcome): string {
  const id = request.orderId;
  const hey = pick(rng, ['hey!', 'hi there!', 'yo!']);
  if (outcome.failed) return `${hey} system's down, someone will email u`;
  if (outcome.wrongPath) return `${hey} refund of ${facts.amount} started for ${id} 👍`;
  switch (request.intent) {
    case INTENT.orderStatus:
      return `${hey} ${id} is ${facts.status}, should land ${facts.eta} 📦`;
    case INTENT.shipment:
      return `${hey} ${facts.carrier} has it, ${facts.status}, ETA ${facts.eta} 🚚`;
    case INTENT.refund:
      return `${hey} refunded ${facts.amount}, give it a week or so 💸`;
    case INTENT.human:
      return `${hey} a human will ping u soon`;
    case INTENT.outOfScope:
      return 'haha nope, only orders and refunds here';
  }
}
