/**
 * Subjects (the unit of randomisation: users under sticky routing) and what the processor
 * has seen of each. The gate judges subjects, not calls: every subject-level observation
 * is one per subject (its first turn, first tool call, first adverse event of each kind,
 * ...), and it is counted in the series of the cohort the subject ENTERED the rollout in,
 * whatever cohort serves it later. A subject that entered as control and is moved to the
 * canary when the canary widens keeps counting as control: its label is the one routing
 * drew at entry, independent of its behaviour, which is what makes the gate's label bets
 * valid (docs/concepts.md, "Users, not calls").
 *
 * Scopes: one per rollout; outside rollouts (a stable release watched by the monitor),
 * one per series and subject period, so each period counts each subject once.
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
  /** Rollout of the scope; absent outside rollouts. */
  readonly rolloutId?: string;
  /** Outside rollouts: start of the subject period (ms since the epoch). */
  readonly periodStartMillis?: number;
  readonly capReached: boolean;
  readonly lastSeenMillis: number;
  readonly entries: ReadonlyArray<readonly [string, string, Cohort, number, string | null]>;
}

/** Subject-level events one span caused, for metrics. */
export interface SubjectEvents {
  readonly entered: boolean;
  readonly adverse: readonly AdverseSignal[];
}

const NO_ADVERSE: readonly AdverseSignal[] = Object.freeze([]);

/**
 * Scopes of subjects with a cap per scope. `enter` finds or creates a subject's entry;
 * `observe` counts the span's subject-level observations into the entry series' aggregate.
 */
export class SubjectTracker {
  private readonly scopes = new Map<string, SubjectScope>();

  constructor(
    private readonly maxPerScope: number,
    private readonly periodMillis: number,
  ) {}

  /** Start of the subject period that contains `now` (outside rollouts). */
  periodStart(now: number): number {
    return now - (((now % this.periodMillis) + this.periodMillis) % this.periodMillis);
  }

  /**
   * The subject's entry in its scope, created on first sight with this span's release and
   * cohort; undefined when the scope is full (`capped()` then says so). `isNew` is true
   * for the span that created it.
   */
  enter(
    rolloutId: string,
    release: string,
    cohort: Cohort,
    subject: string,
    now: number,
  ): { entry: SubjectEntry; isNew: boolean } | undefined {
    const key = rolloutId === '' ? periodScopeKey(release, cohort, this.periodStart(now)) : rolloutScopeKey(rolloutId);
    let scope = this.scopes.get(key);
    if (scope === undefined) {
      scope = { entries: new Map(), capReached: false, lastSeenMillis: now };
      this.scopes.set(key, scope);
    }
    scope.lastSeenMillis = now;
    const existing = scope.entries.get(subject);
    if (existing !== undefined) return { entry: existing, isNew: false };
    if (scope.entries.size >= this.maxPerScope) {
      scope.capReached = true;
      return undefined;
    }
    const entry: SubjectEntry = { release, cohort, flags: 0, firstTool: undefined };
    scope.entries.set(subject, entry);
    return { entry, isNew: true };
  }

  /** Forgets scopes idle since before `idleBefore` and subject periods that ended before `periodBefore`. */
  evict(idleBefore: number, periodBefore: number): void {
    for (const [key, scope] of this.scopes) {
      const period = periodOfKey(key);
      if (scope.lastSeenMillis < idleBefore || (period !== undefined && period < periodBefore)) {
        this.scopes.delete(key);
      }
    }
  }

  /** Every scope, entries sorted by subject, so equal contents give equal JSON. */
  snapshot(): SubjectScopeSnapshot[] {
    return [...this.scopes]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, scope]) => {
        const entries = [...scope.entries]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(
            ([subject, entry]) => [subject, entry.release, entry.cohort, entry.flags, entry.firstTool ?? null] as const,
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

  /** Adds scopes from a snapshot: a subject known to both keeps its entry, flags are united. */
  merge(scopes: readonly SubjectScopeSnapshot[]): void {
    for (const snapshot of scopes) {
      for (const [subject, release, cohort, flags, firstTool] of snapshot.entries) {
        const key =
          snapshot.rolloutId !== undefined
            ? rolloutScopeKey(snapshot.rolloutId)
            : periodScopeKey(release, cohort, snapshot.periodStartMillis ?? 0);
        let scope = this.scopes.get(key);
        if (scope === undefined) {
          scope = { entries: new Map(), capReached: false, lastSeenMillis: snapshot.lastSeenMillis };
          this.scopes.set(key, scope);
        }
        scope.capReached ||= snapshot.capReached;
        scope.lastSeenMillis = Math.max(scope.lastSeenMillis, snapshot.lastSeenMillis);
        const existing = scope.entries.get(subject);
        if (existing !== undefined) {
          existing.flags |= flags;
          existing.firstTool ??= firstTool ?? undefined;
          continue;
        }
        if (scope.entries.size >= this.maxPerScope) {
          scope.capReached = true;
          continue;
        }
        scope.entries.set(subject, { release, cohort, flags, firstTool: firstTool ?? undefined });
      }
    }
  }
}

function rolloutScopeKey(rolloutId: string): string {
  return `r\u0000${rolloutId}`;
}

function periodScopeKey(release: string, cohort: string, periodStart: number): string {
  return `p\u0000${periodStart}\u0000${release}\u0000${cohort}`;
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

/**
 * Counts the subject-level observations of one span (facts already normalised) into the
 * aggregate of the subject's entry series. `tool` is the capped tool name of a tool call,
 * `topic` the capped topic of a classified turn.
 */
export function observeSubject(
  entry: SubjectEntry,
  isNew: boolean,
  facts: AgentSpanFacts,
  aggregate: SeriesAggregate,
  tool: string | undefined,
  topic?: string,
): SubjectEvents {
  if (isNew) aggregate.newSubjects++;
  const adverse: AdverseSignal[] = [];
  const signal = (kind: AdverseSignal) => {
    if (first(entry, SIGNAL_BIT[kind])) {
      aggregate.subjectsWith[kind]++;
      adverse.push(kind);
    }
  };
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
      if (facts.isError) signal(ADVERSE_SIGNAL.turnError);
      if (refused) signal(ADVERSE_SIGNAL.refusal);
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
      if (facts.isError) signal(ADVERSE_SIGNAL.toolError);
      break;
    }
    case AGENT_SPAN_KIND.feedback: {
      const kind = facts.feedbackKind;
      if (kind === undefined) break;
      if (first(entry, SUBJECT_BIT.feedback)) aggregate.addSubjectFeedback(kind);
      const adverseKind = FEEDBACK_SIGNAL[kind];
      if (adverseKind !== undefined) signal(adverseKind);
      break;
    }
  }
  return { entered: isNew, adverse: adverse.length === 0 ? NO_ADVERSE : adverse };
}
