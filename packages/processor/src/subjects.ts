/**
 * Subjects (the unit of randomisation: users under sticky routing) and what the processor
 * has seen of each. Every subject-level observation is one per subject and scope (its first
 * turn, first tool call, first adverse event of each kind, ...). A span with a subject
 * enters up to two scopes:
 *
 * - **Its rollout** (spans with a rollout id): the subject is counted once for the whole
 *   rollout, in the series of the cohort it ENTERED the rollout in, whatever cohort serves
 *   it later. A subject that entered as control and is moved to the canary when the canary
 *   widens keeps counting as control: its label is the one routing drew at entry,
 *   independent of its behaviour, which is what makes the gate's label bets valid
 *   (docs/concepts.md, "Users, not calls").
 * - **Its release's subject period** (every span, with or without a rollout id): the
 *   subject is counted once per release and subject period (`subjectPeriodMillis`, aligned
 *   to the epoch), in the series OUTSIDE rollouts of the release and of the cohort it was
 *   first seen in during the period. These are the drift monitor's windows: each user of
 *   the release once per window, whichever rollout serves it — the promoted release, whose
 *   split keeps the rollout's id, and the stable release during a rollout included.
 *
 * Request-level aggregates are not affected: each request counts once, in the series of
 * its own rollout id (or outside rollouts when it has none). Each scope holds at most
 * `maxSubjectsPerRollout` subjects; past it, new subjects are not counted and the series
 * says so (`subjectCapReached`).
 */
import { AGENT_SPAN_KIND, type AgentSpanFacts, type Cohort, FEEDBACK_KIND } from '@agent-canary/conventions';
import { ADVERSE_SIGNAL, ADVERSE_SIGNALS, type AdverseSignal, type SeriesAggregate } from './aggregate.js';

/** Bits of {@link SubjectEntry.flags}: what was already counted for the subject. */
export const SUBJECT_BIT = Object.freeze({
  /** Its first turn. */
  turn: 1,
  /** Its first tool call (bits 1..6 are the adverse signals, see {@link signalBit}). */
  tool: 1 << 7,
  /** Its second tool call. */
  secondTool: 1 << 8,
  /** Its first similarity score. */
  similarity: 1 << 9,
  /** Its first toxicity score. */
  toxicity: 1 << 10,
  /** Its first feedback. */
  feedback: 1 << 11,
  /** Its first classified turn (topic). */
  topic: 1 << 12,
  /**
   * Its first span in the scope (counted in `newSubjects`). Kept in memory only: snapshots
   * leave it out, and every entry read from a snapshot has it.
   */
  seen: 1 << 13,
});

const SIGNAL_BIT: Readonly<Record<AdverseSignal, number>> = Object.freeze(
  Object.fromEntries(ADVERSE_SIGNALS.map((signal, index) => [signal, 1 << (index + 1)])) as Record<
    AdverseSignal,
    number
  >,
);

/** Flag bit of an adverse signal's first event. */
export function signalBit(signal: AdverseSignal): number {
  return SIGNAL_BIT[signal];
}

const FEEDBACK_SIGNAL: Readonly<Record<string, AdverseSignal | undefined>> = Object.freeze({
  [FEEDBACK_KIND.thumbsDown]: ADVERSE_SIGNAL.thumbsDown,
  [FEEDBACK_KIND.regenerate]: ADVERSE_SIGNAL.regenerate,
  [FEEDBACK_KIND.humanTakeover]: ADVERSE_SIGNAL.humanTakeover,
});

/** What the processor remembers of one subject within its scope. */
export interface SubjectEntry {
  /** Release of the series the subject entered in. */
  readonly release: string;
  /** Cohort the subject entered in: its subject-level observations are counted there. */
  readonly cohort: Cohort;
  flags: number;
  /** Tool of its first tool call, kept until its second one. */
  firstTool: string | undefined;
}

interface SubjectScope {
  readonly entries: Map<string, SubjectEntry>;
  capReached: boolean;
  lastSeenMillis: number;
}

/**
 * The subjects of one scope as plain JSON. `entries` are `[subject, entry release, entry
 * cohort, flags, first tool or null]` (flags: {@link SUBJECT_BIT}, adverse signal i at bit i+1).
 */
export interface SubjectScopeSnapshot {
  /** Rollout of the scope; absent for a subject period's scope. */
  readonly rolloutId?: string;
  /** A subject period's scope: start of the period (ms since the epoch); its entries share one release. */
  readonly periodStartMillis?: number;
  readonly capReached: boolean;
  readonly lastSeenMillis: number;
  readonly entries: ReadonlyArray<readonly [string, string, Cohort, number, string | null]>;
}

/**
 * Subject-level events one span caused, for metrics, as bits: {@link SUBJECT_BIT}.seen when
 * the subject was new in its scope, {@link signalBit} of each adverse signal counted.
 * A number, so the hot path allocates nothing.
 */
export type SubjectEvents = number;

/** Bits of the adverse signals in {@link SubjectEvents}. */
export const ADVERSE_BITS: number = ADVERSE_SIGNALS.reduce((bits, signal) => bits | signalBit(signal), 0);

/**
 * Scopes of subjects with a cap per scope: one per rollout, one per release and subject
 * period. `enterRollout` / `enterPeriod` find or create a subject's entry; `observeSubject`
 * counts the span's subject-level observations into the entry series' aggregate.
 */
export class SubjectTracker {
  private readonly scopes = new Map<string, SubjectScope>();
  /** The scopes of the last span, so the hot path builds no key string (cleared on eviction). */
  private lastRolloutId: string | undefined;
  private lastRolloutScope: SubjectScope | undefined;
  private lastPeriodRelease: string | undefined;
  private lastPeriodStart = Number.NaN;
  private lastPeriodScope: SubjectScope | undefined;

  constructor(
    private readonly maxPerScope: number,
    private readonly periodMillis: number,
  ) {}

  /** Start of the subject period that contains `now`. */
  periodStart(now: number): number {
    return now - (((now % this.periodMillis) + this.periodMillis) % this.periodMillis);
  }

  /**
   * The subject's entry in the rollout's scope, created on first sight with this span's
   * release and cohort; undefined when the scope is full (the caller flags the series).
   */
  enterRollout(
    rolloutId: string,
    release: string,
    cohort: Cohort,
    subject: string,
    now: number,
  ): SubjectEntry | undefined {
    let scope = this.lastRolloutScope;
    if (scope === undefined || this.lastRolloutId !== rolloutId) {
      scope = this.scope(rolloutScopeKey(rolloutId), now);
      this.lastRolloutId = rolloutId;
      this.lastRolloutScope = scope;
    }
    return this.enter(scope, release, cohort, subject, now);
  }

  /**
   * The subject's entry in the scope of the release's subject period that contains `now`,
   * created on first sight with this span's cohort; undefined when the scope is full.
   */
  enterPeriod(release: string, cohort: Cohort, subject: string, now: number): SubjectEntry | undefined {
    const start = this.periodStart(now);
    let scope = this.lastPeriodScope;
    if (scope === undefined || this.lastPeriodStart !== start || this.lastPeriodRelease !== release) {
      scope = this.scope(periodScopeKey(release, start), now);
      this.lastPeriodRelease = release;
      this.lastPeriodStart = start;
      this.lastPeriodScope = scope;
    }
    return this.enter(scope, release, cohort, subject, now);
  }

  private scope(key: string, now: number): SubjectScope {
    let scope = this.scopes.get(key);
    if (scope === undefined) {
      scope = { entries: new Map(), capReached: false, lastSeenMillis: now };
      this.scopes.set(key, scope);
    }
    return scope;
  }

  /** Until {@link observeSubject} counts it, a new entry lacks {@link SUBJECT_BIT}.seen. */
  private enter(
    scope: SubjectScope,
    release: string,
    cohort: Cohort,
    subject: string,
    now: number,
  ): SubjectEntry | undefined {
    scope.lastSeenMillis = now;
    const existing = scope.entries.get(subject);
    if (existing !== undefined) return existing;
    if (scope.entries.size >= this.maxPerScope) {
      scope.capReached = true;
      return undefined;
    }
    const entry: SubjectEntry = { release, cohort, flags: 0, firstTool: undefined };
    scope.entries.set(subject, entry);
    return entry;
  }

  /** Forgets scopes idle since before `idleBefore` and subject periods that ended before `periodBefore`. */
  evict(idleBefore: number, periodBefore: number): void {
    for (const [key, scope] of this.scopes) {
      const period = periodOfKey(key);
      if (scope.lastSeenMillis < idleBefore || (period !== undefined && period < periodBefore)) {
        this.scopes.delete(key);
      }
    }
    this.lastRolloutScope = undefined;
    this.lastPeriodScope = undefined;
  }

  /** Every scope, entries sorted by subject, so equal contents give equal JSON. */
  snapshot(): SubjectScopeSnapshot[] {
    return [...this.scopes]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, scope]) => {
        const entries = [...scope.entries]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(
            ([subject, entry]) =>
              [subject, entry.release, entry.cohort, entry.flags & ~SUBJECT_BIT.seen, entry.firstTool ?? null] as const,
          );
        const period = periodOfKey(key);
        return {
          ...(period === undefined ? { rolloutId: key.slice(2) } : { periodStartMillis: period }),
          capReached: scope.capReached,
          lastSeenMillis: scope.lastSeenMillis,
          entries,
        };
      });
  }

  /**
   * Adds scopes from a snapshot: a subject known to both keeps its entry, flags are united.
   * Period scopes are keyed by each entry's release and the period, so a snapshot that kept
   * them per release and cohort (before every span counted per period) loads too.
   */
  merge(scopes: readonly SubjectScopeSnapshot[]): void {
    for (const snapshot of scopes) {
      for (const [subject, release, cohort, flags, firstTool] of snapshot.entries) {
        const key =
          snapshot.rolloutId !== undefined
            ? rolloutScopeKey(snapshot.rolloutId)
            : periodScopeKey(release, snapshot.periodStartMillis ?? 0);
        const scope = this.scope(key, snapshot.lastSeenMillis);
        scope.capReached ||= snapshot.capReached;
        scope.lastSeenMillis = Math.max(scope.lastSeenMillis, snapshot.lastSeenMillis);
        const existing = scope.entries.get(subject);
        if (existing !== undefined) {
          existing.flags |= flags | SUBJECT_BIT.seen;
          existing.firstTool ??= firstTool ?? undefined;
          continue;
        }
        if (scope.entries.size >= this.maxPerScope) {
          scope.capReached = true;
          continue;
        }
        scope.entries.set(subject, {
          release,
          cohort,
          flags: flags | SUBJECT_BIT.seen,
          firstTool: firstTool ?? undefined,
        });
      }
    }
  }
}

function rolloutScopeKey(rolloutId: string): string {
  return `r\u0000${rolloutId}`;
}

function periodScopeKey(release: string, periodStart: number): string {
  return `p\u0000${periodStart}\u0000${release}`;
}

function periodOfKey(key: string): number | undefined {
  if (!key.startsWith('p\u0000')) return undefined;
  return Number(key.split('\u0000')[1]);
}

/** Sets `bit`; true when it was not set before. */
function first(entry: SubjectEntry, bit: number): boolean {
  if ((entry.flags & bit) !== 0) return false;
  entry.flags |= bit;
  return true;
}

/** Counts the subject's first event of an adverse signal; its bit in {@link SubjectEvents}, or 0. */
function adverse(entry: SubjectEntry, aggregate: SeriesAggregate, kind: AdverseSignal): SubjectEvents {
  const bit = SIGNAL_BIT[kind];
  if (!first(entry, bit)) return 0;
  aggregate.subjectsWith[kind]++;
  return bit;
}

/**
 * Counts the subject-level observations of one span (facts already normalised) into the
 * aggregate of the subject's entry series. `tool` is the capped tool name of a tool call,
 * `topic` the capped topic of a classified turn.
 */
export function observeSubject(
  entry: SubjectEntry,
  facts: AgentSpanFacts,
  aggregate: SeriesAggregate,
  tool: string | undefined,
  topic?: string,
): SubjectEvents {
  let events = 0;
  if (first(entry, SUBJECT_BIT.seen)) {
    aggregate.newSubjects++;
    events = SUBJECT_BIT.seen;
  }
  switch (facts.kind) {
    case AGENT_SPAN_KIND.turn: {
      const refused = facts.refusal === true;
      if (first(entry, SUBJECT_BIT.turn)) {
        aggregate.subjectTurns++;
        if (facts.isError) aggregate.subjectTurnErrors++;
        if (refused) aggregate.subjectTurnRefusals++;
        aggregate.observe('subjectLatencyMillis', facts.durationMillis);
        if (facts.outputLength !== undefined) aggregate.observe('subjectOutputLength', facts.outputLength);
      }
      if (facts.similarity !== undefined && first(entry, SUBJECT_BIT.similarity)) {
        aggregate.observe('subjectSimilarity', facts.similarity);
      }
      if (facts.toxicity !== undefined && first(entry, SUBJECT_BIT.toxicity)) {
        aggregate.observe('subjectToxicity', facts.toxicity);
      }
      if (topic !== undefined && first(entry, SUBJECT_BIT.topic)) aggregate.addSubjectTopic(topic);
      if (facts.isError) events |= adverse(entry, aggregate, ADVERSE_SIGNAL.turnError);
      if (refused) events |= adverse(entry, aggregate, ADVERSE_SIGNAL.refusal);
      break;
    }
    case AGENT_SPAN_KIND.toolCall: {
      const name = tool ?? 'unknown';
      if (first(entry, SUBJECT_BIT.tool)) {
        aggregate.subjectTool(name, facts.isError);
        entry.firstTool = name;
      } else if (first(entry, SUBJECT_BIT.secondTool)) {
        aggregate.subjectSecondTools++;
        if (name !== entry.firstTool) aggregate.subjectToolSwitches++;
        entry.firstTool = undefined;
      }
      if (facts.isError) events |= adverse(entry, aggregate, ADVERSE_SIGNAL.toolError);
      break;
    }
    case AGENT_SPAN_KIND.feedback: {
      const kind = facts.feedbackKind;
      if (kind === undefined) break;
      if (first(entry, SUBJECT_BIT.feedback)) aggregate.addSubjectFeedback(kind);
      const adverseKind = FEEDBACK_SIGNAL[kind];
      if (adverseKind !== undefined) events |= adverse(entry, aggregate, adverseKind);
      break;
    }
  }
  return events;
}
