// The journal's retention rules, as values: what each record kind keeps (a count and an age), what a pass
// is told about the host (the objects that exist now), and how it deletes (small batches, yielding between).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { BatchOperation, BatchWriter } from './batch-writer.js';

/** A record past either limit goes (unless something needs it): the newest maxCount stay, and none younger than maxAgeMs goes. */
export interface RetentionRule {
  readonly maxCount: number;
  readonly maxAgeMs: number;
}

/** One rule per record kind of the journal (docs/reconciliation.md, "Retention"). */
export interface RetentionPolicy {
  /** `event:` (and, in local mode, `outbox:`); an event still in a published outbox is never dropped. */
  readonly events: RetentionRule;
  /** `intent:` with its `result:`; an open intent and the newest one are never dropped. */
  readonly intents: RetentionRule;
  /** `plan:` */
  readonly plans: RetentionRule;
  /**
   * `owner:` and `resource:` records whose container, network or volume has been gone this long: from the
   * first pass that found it gone to a later one that still does (the clock restarts with the agent).
   */
  readonly goneRecordMs: number;
  /** `refused:` records not cleared by a good document. */
  readonly refusalMs: number;
  /** A project's `desired:`, `signed:`, `applied:`, `rejected:` and `refused:` once an empty document of it was applied this long ago. */
  readonly emptyProjectMs: number;
  /** The outbox of an agent whose events nobody acknowledges (local mode): the newest this many stay. */
  readonly unpublishedOutboxMax: number;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Defaults sized so that a host at a busy churn (thousands of actions a day) keeps a journal of tens of
 * MB that opens in a fraction of a second: a week of history, the newest 50,000 of each kind at most,
 * and ownership records only of what exists (or was gone for less than an hour).
 */
export const DEFAULT_RETENTION: RetentionPolicy = {
  events: { maxCount: 50_000, maxAgeMs: 7 * DAY_MS },
  intents: { maxCount: 50_000, maxAgeMs: 7 * DAY_MS },
  plans: { maxCount: 10_000, maxAgeMs: 7 * DAY_MS },
  goneRecordMs: 3600 * 1000,
  refusalMs: 30 * DAY_MS,
  emptyProjectMs: 7 * DAY_MS,
  unpublishedOutboxMax: 1_000,
};

/** The objects of one kind that exist on the host now: their engine ids, and the owner tokens on their labels. */
export interface LiveSet {
  readonly ids: ReadonlySet<string>;
  readonly ownerTokens: ReadonlySet<string>;
}

/** What exists on the host, listed after the pass took its view of the ownership records (so a record it judges gone is gone). */
export interface LiveObjects {
  readonly containers: LiveSet;
  readonly networks: LiveSet;
  readonly volumes: LiveSet;
}

/** What one pass needs besides the policy. */
export interface PruneOptions {
  readonly policy: RetentionPolicy;
  /** The retention clock (injectable: the soak compresses it). */
  readonly now: Date;
  /** Whether something acknowledges the outbox (the fleet); false in local mode, where it is bounded instead. */
  readonly outboxPublished: boolean;
  /** Lists the host's objects; without it, ownership records are left alone this pass. */
  readonly listLive?: () => Promise<LiveObjects>;
  /** Deletions per batch (default 256): small enough that a cycle's writes never wait long behind one. */
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
}

/** Keys deleted per record kind by one pass. */
export interface PruneReport {
  readonly deleted: Readonly<Record<PrunedKind, number>>;
  /** Whether the pass compacted the key ranges it deleted from. */
  readonly compacted: boolean;
}

export type PrunedKind = 'events' | 'outbox' | 'intents' | 'results' | 'plans' | 'owners' | 'resources' | 'desired' | 'refusals';

export const DEFAULT_PRUNE_BATCH = 256;

/**
 * Deletes keys through the journal's batch writer, batchSize at a time, without fsync (a deletion a
 * crash loses only keeps a record a little longer), yielding to the event loop between batches so a
 * cycle's writes go in between.
 */
export async function deleteInBatches(writer: BatchWriter, keys: readonly string[], batchSize: number, signal?: AbortSignal): Promise<number> {
  let deleted = 0;
  for (let start = 0; start < keys.length; start += batchSize) {
    if (signal?.aborted) break;
    const operations = keys.slice(start, start + batchSize).map((key): BatchOperation => ({ type: 'del', key }));
    await writer.write(operations, false);
    deleted += operations.length;
    await yieldToLoop();
  }
  return deleted;
}

/** Whether a record written at `at` (ISO time) is past maxAgeMs at now; an unreadable time counts as old. */
export function olderThan(at: string | undefined, maxAgeMs: number, now: Date): boolean {
  const time = at === undefined ? Number.NaN : Date.parse(at);
  return !Number.isFinite(time) || now.getTime() - time > maxAgeMs;
}

/** What the gone-record rule needs to know of an ownership record (a container's or a network's/volume's). */
export interface OwnedRecordShape {
  readonly ownerToken: string;
  readonly intentSeq: number;
  readonly removed: boolean;
  /** The engine id once known (a container or network id, a volume's name). */
  readonly objectId: string | undefined;
  /** The instance or resource it stands for: its latest record is the one the diff reads. */
  readonly group: string;
  /** Whether it is its group's latest record (the one the index answers with). */
  readonly latest: boolean;
}

/**
 * Ownership records whose object is gone for good, judged in two passes: a record whose object no
 * listing shows is noted gone (goneSince, by token), and goes once a later pass still finds it gone
 * and goneMs has passed. Never one an open intent names (keep), never one whose object is listed,
 * and a group's latest record only with all the others of its group and only if Hostwright removed
 * its object (otherwise the diff reports it missing).
 */
export function goneRecords<R>(records: readonly R[], shape: (record: R) => OwnedRecordShape, live: LiveSet, goneSince: Map<string, number>, now: number, goneMs: number, keep: (record: OwnedRecordShape) => boolean): R[] {
  const groups = new Map<string, { record: R; shape: OwnedRecordShape; gone: boolean }[]>();
  for (const record of records) {
    const view = shape(record);
    const listed = live.ownerTokens.has(view.ownerToken) || (view.objectId !== undefined && live.ids.has(view.objectId));
    let gone = false;
    if (listed || keep(view)) goneSince.delete(view.ownerToken);
    else {
      const since = goneSince.get(view.ownerToken);
      if (since === undefined) goneSince.set(view.ownerToken, now);
      else gone = now - since >= goneMs;
    }
    const group = groups.get(view.group) ?? [];
    group.push({ record, shape: view, gone });
    groups.set(view.group, group);
  }
  const dropped: R[] = [];
  for (const group of groups.values()) {
    const all = group.every((entry) => entry.gone && (!entry.shape.latest || entry.shape.removed));
    for (const entry of group) if (entry.gone && (!entry.shape.latest || all)) dropped.push(entry.record);
  }
  return dropped;
}
