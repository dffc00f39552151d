import {
  ATTR_COHORT,
  ATTR_FLAG_KEY,
  ATTR_LANGFUSE_RELEASE,
  ATTR_RELEASE_ID,
  ATTR_ROLLOUT_ID,
  ATTR_SUBJECT,
  BAGGAGE_COHORT,
  BAGGAGE_FLAG_KEY,
  BAGGAGE_RELEASE_ID,
  BAGGAGE_ROLLOUT_ID,
  BAGGAGE_SUBJECT,
  isCohort,
  type ReleaseAssignment,
} from '@agent-canary/conventions';
import {
  type Attributes,
  type Baggage,
  type Context,
  context,
  createContextKey,
  diag,
  propagation,
} from '@opentelemetry/api';

/**
 * What `withRelease` keeps in the context, built once per request: the assignment, its span
 * attributes, and the extra attributes given to `contextWithRelease` beyond the assignment's
 * own (`undefined` when there are none, the common case). Internal.
 */
export interface ReleaseRecord {
  readonly assignment: ReleaseAssignment;
  readonly attributes: Readonly<Attributes>;
  readonly extra: Readonly<Attributes> | undefined;
}

const RELEASE_KEY = createContextKey('agent-canary release assignment');

/**
 * Baggage objects are immutable and shared by every span of a request in a downstream
 * service, so the attributes built from one are cached by identity (`null` = no assignment).
 */
const baggageCache = new WeakMap<Baggage, ReleaseRecord | null>();

/**
 * Returns `context` carrying `assignment`, both under agent-canary's own context key (read by
 * the tagging processor in this process) and as W3C baggage entries (sent to downstream
 * services by the standard propagator). An invalid assignment is reported through `diag`
 * and `context` is returned unchanged: routing telemetry never breaks the request.
 *
 * @example
 * const ctx = contextWithRelease(context.active(), assignment);
 * context.with(ctx, () => agent.run(input));
 */
export function contextWithRelease(
  ctx: Context,
  assignment: ReleaseAssignment,
  extraAttributes?: Readonly<Attributes>,
): Context {
  const record = buildRecord(assignment, extraAttributes);
  if (record === undefined) return ctx;
  // Stale entries of an outer assignment must not survive when this one has no rollout/subject.
  let baggage = (propagation.getBaggage(ctx) ?? propagation.createBaggage()).removeEntries(
    BAGGAGE_ROLLOUT_ID,
    BAGGAGE_SUBJECT,
  );
  for (const [key, value] of Object.entries(baggageEntries(record.assignment)))
    baggage = baggage.setEntry(key, { value });
  return propagation.setBaggage(ctx.setValue(RELEASE_KEY, record), baggage);
}

/**
 * Runs `fn` with `assignment` active: every span started inside (by this code, by a
 * framework's instrumentation, or by a downstream service that receives the baggage) is
 * tagged by `ReleaseTaggingSpanProcessor`.
 *
 * @example
 * const assignment = await resolveRelease(client, 'agent-release', userId);
 * const answer = await withRelease(assignment, () => agent.answer(question));
 */
export function withRelease<T>(assignment: ReleaseAssignment, fn: () => T): T {
  return context.with(contextWithRelease(context.active(), assignment), fn);
}

/**
 * The release assignment active in `ctx`: the one set by `withRelease` in this process,
 * else the one received in W3C baggage from an upstream service, else `undefined`.
 *
 * @param ctx - context to read; @default context.active()
 */
export function getActiveRelease(ctx: Context = context.active()): ReleaseAssignment | undefined {
  return recordOf(ctx)?.assignment;
}

/**
 * Reads a release assignment from W3C baggage entries (`BAGGAGE_*` keys). Returns
 * `undefined` when the release id, the flag key or a valid cohort is missing.
 */
export function releaseFromBaggage(baggage: Baggage | undefined): ReleaseAssignment | undefined {
  if (baggage === undefined) return undefined;
  const release = baggage.getEntry(BAGGAGE_RELEASE_ID)?.value;
  const cohort = baggage.getEntry(BAGGAGE_COHORT)?.value;
  const flagKey = baggage.getEntry(BAGGAGE_FLAG_KEY)?.value;
  if (!release || !flagKey || cohort === undefined) return undefined;
  if (!isCohort(cohort)) {
    diag.debug(`agent-canary: ignoring release baggage with unknown cohort ${JSON.stringify(cohort)}`);
    return undefined;
  }
  const rolloutId = baggage.getEntry(BAGGAGE_ROLLOUT_ID)?.value;
  const subject = baggage.getEntry(BAGGAGE_SUBJECT)?.value;
  return {
    flagKey,
    release,
    cohort,
    ...(rolloutId ? { rolloutId } : {}),
    ...(subject ? { subject } : {}),
  };
}

/**
 * The release record active in `ctx`, or `undefined`. Internal: the tagging processor's
 * whole job is this lookup plus writing the record's attributes on the span.
 */
export function releaseRecordOf(ctx: Context): ReleaseRecord | undefined {
  return recordOf(ctx);
}

/**
 * Span attributes of an assignment (ours plus `langfuse.release`), or `undefined` when the
 * assignment is invalid. Frozen so one object can be shared by every span of a request.
 */
export function releaseAttributes(assignment: ReleaseAssignment): Readonly<Attributes> | undefined {
  return buildRecord(assignment)?.attributes;
}

function recordOf(ctx: Context): ReleaseRecord | undefined {
  const own = ctx.getValue(RELEASE_KEY) as ReleaseRecord | undefined;
  if (own !== undefined) return own;
  const baggage = propagation.getBaggage(ctx);
  if (baggage === undefined) return undefined;
  const cached = baggageCache.get(baggage);
  if (cached !== undefined) return cached ?? undefined;
  const assignment = releaseFromBaggage(baggage);
  const record = assignment === undefined ? undefined : buildRecord(assignment);
  baggageCache.set(baggage, record ?? null);
  return record;
}

/** Keys of the attributes built from the assignment itself (see `buildRecord`). */
const ASSIGNMENT_KEYS: ReadonlySet<string> = new Set([
  ATTR_RELEASE_ID,
  ATTR_COHORT,
  ATTR_FLAG_KEY,
  ATTR_LANGFUSE_RELEASE,
  ATTR_ROLLOUT_ID,
  ATTR_SUBJECT,
]);

function buildRecord(assignment: ReleaseAssignment, extraAttributes?: Readonly<Attributes>): ReleaseRecord | undefined {
  const problem = invalidReason(assignment);
  if (problem !== undefined) {
    diag.warn(`agent-canary: ignoring release assignment: ${problem}`);
    return undefined;
  }
  const normalised: ReleaseAssignment = Object.freeze({
    flagKey: assignment.flagKey,
    release: assignment.release,
    cohort: assignment.cohort,
    ...(assignment.rolloutId ? { rolloutId: assignment.rolloutId } : {}),
    ...(assignment.subject ? { subject: assignment.subject } : {}),
  });
  const attributes: Attributes = {
    ...extraAttributes,
    [ATTR_RELEASE_ID]: normalised.release,
    [ATTR_COHORT]: normalised.cohort,
    [ATTR_FLAG_KEY]: normalised.flagKey,
    // Langfuse splits traces by this attribute in its UI.
    [ATTR_LANGFUSE_RELEASE]: normalised.release,
  };
  if (normalised.rolloutId !== undefined) attributes[ATTR_ROLLOUT_ID] = normalised.rolloutId;
  if (normalised.subject !== undefined) attributes[ATTR_SUBJECT] = normalised.subject;
  // The assignment's own keys win over extra attributes of the same name.
  const extra = Object.entries(extraAttributes ?? {}).filter(([key]) => !ASSIGNMENT_KEYS.has(key));
  return {
    assignment: normalised,
    attributes: Object.freeze(attributes),
    extra: extra.length === 0 ? undefined : Object.freeze(Object.fromEntries(extra)),
  };
}

function baggageEntries(assignment: ReleaseAssignment): Record<string, string> {
  const entries: Record<string, string> = {
    [BAGGAGE_RELEASE_ID]: assignment.release,
    [BAGGAGE_COHORT]: assignment.cohort,
    [BAGGAGE_FLAG_KEY]: assignment.flagKey,
  };
  if (assignment.rolloutId !== undefined) entries[BAGGAGE_ROLLOUT_ID] = assignment.rolloutId;
  if (assignment.subject !== undefined) entries[BAGGAGE_SUBJECT] = assignment.subject;
  return entries;
}

function invalidReason(assignment: unknown): string | undefined {
  if (typeof assignment !== 'object' || assignment === null) return 'not an object';
  const candidate = assignment as Record<string, unknown>;
  if (typeof candidate['release'] !== 'string' || candidate['release'] === '')
    return 'release is not a non-empty string';
  if (typeof candidate['flagKey'] !== 'string' || candidate['flagKey'] === '')
    return 'flagKey is not a non-empty string';
  if (!isCohort(candidate['cohort']))
    return `cohort ${JSON.stringify(candidate['cohort'])} is not stable|canary|control`;
  for (const optional of ['rolloutId', 'subject']) {
    const value = candidate[optional];
    if (value !== undefined && typeof value !== 'string') return `${optional} is not a string`;
  }
  return undefined;
}
