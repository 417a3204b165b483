// The event log and its outbox: every event is written to both, and leaves the outbox once the event stream
// has acknowledged it; the outbox is mirrored in memory while small, and its listeners wake the publisher.
import type { Level } from 'level';
import { z } from 'zod';
import { decode, encode } from '../../shared/codec.js';
import { hostwrightEventSchema, type HostwrightEvent } from '../../shared/events.js';
import type { BatchOperation, BatchWriter } from './batch-writer.js';
import { PREFIX, range, seqKey, seqOf } from './keys.js';
import { olderThan, type RetentionRule } from './retention.js';
import { scanEntries, scanKeys } from './scan.js';

/** The one field retention reads of an event. */
const eventTimeSchema = z.object({ timestamp: z.string() });

/** Events the outbox keeps in memory at most; beyond, it is read from LevelDB until it is empty again. */
const OUTBOX_MIRROR_MAX = 1024;
/** How long an acknowledgement waits for another write to ride along with before it is written alone. */
const ACK_WRITE_DELAY_MS = 1_000;

/** An event with its sequence number in the event log. */
export type NumberedEvent = HostwrightEvent & { readonly seq: number };

export interface EventPage {
  readonly events: readonly NumberedEvent[];
  readonly lastSeq: number;
}

/** New events' log and outbox entries, to go into a batch; written() once that batch is on disk. */
export interface StagedEvents {
  readonly operations: readonly BatchOperation[];
  readonly written: () => void;
}

/**
 * Owns the `event:` and `outbox:` ranges. Retention drops old `event:` entries, never one still in a
 * published outbox and never the newest (it numbers the next event at open).
 */
export class EventOutbox {
  readonly #db: Level<string, Uint8Array>;
  readonly #writer: BatchWriter;
  #lastSeq: number;
  /** Events not yet acknowledged by the event stream (counted at open, then kept in step). */
  #depth: number;
  /**
   * The outbox's events in order, while memory holds all of them: from an empty outbox on (at open,
   * or once everything in it was acknowledged) until it grows past OUTBOX_MIRROR_MAX.
   */
  #mirror: NumberedEvent[] | undefined;
  #ackWriteTimer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<() => void>();

  private constructor(db: Level<string, Uint8Array>, writer: BatchWriter, lastSeq: number, depth: number) {
    this.#db = db;
    this.#writer = writer;
    this.#lastSeq = lastSeq;
    this.#depth = depth;
    this.#mirror = depth === 0 ? [] : undefined;
  }

  /** Counts the outbox and finds the last event's sequence number. */
  static async load(db: Level<string, Uint8Array>, writer: BatchWriter): Promise<EventOutbox> {
    let depth = 0;
    for await (const key of db.keys(range(PREFIX.outbox))) if (key) depth += 1;
    let lastSeq = 0;
    for await (const key of db.keys({ ...range(PREFIX.event), reverse: true, limit: 1 })) lastSeq = seqOf(PREFIX.event, key);
    return new EventOutbox(db, writer, lastSeq, depth);
  }

  /** Stops the acknowledgement timer; what it would have written goes with BatchWriter#close. */
  close(): void {
    clearTimeout(this.#ackWriteTimer);
    this.#ackWriteTimer = undefined;
  }

  /**
   * Numbers new events and gives their log and outbox entries, for a batch that may carry other
   * records too (a result, a plan, a refusal). A batch that fails leaves their numbers unused.
   */
  stage(events: readonly HostwrightEvent[]): StagedEvents {
    const operations: BatchOperation[] = [];
    const numbered: NumberedEvent[] = [];
    for (const event of events) {
      this.#lastSeq += 1;
      const checked = hostwrightEventSchema.parse(event);
      // The outbox entry carries the event too, so that it can be read back with one iterator.
      const value = encode(checked);
      operations.push({ type: 'put', key: seqKey(PREFIX.event, this.#lastSeq), value }, { type: 'put', key: seqKey(PREFIX.outbox, this.#lastSeq), value });
      numbered.push({ ...checked, seq: this.#lastSeq });
    }
    return { operations, written: () => this.#written(numbered) };
  }

  /** Appends events to the log and the outbox in one sync batch. */
  async append(events: readonly HostwrightEvent[]): Promise<void> {
    if (events.length === 0) return;
    const staged = this.stage(events);
    await this.#writer.write(staged.operations);
    staged.written();
  }

  /** Events after a sequence number, oldest first. */
  async read(afterSeq = 0, limit = 10_000): Promise<EventPage> {
    const events: NumberedEvent[] = [];
    for await (const [key, value] of scanEntries(this.#db, { gt: seqKey(PREFIX.event, afterSeq), lt: range(PREFIX.event).lt, limit })) {
      events.push({ ...decode(hostwrightEventSchema, value, `journal ${key}`), seq: seqOf(PREFIX.event, key) });
    }
    return { events, lastSeq: events.at(-1)?.seq ?? afterSeq };
  }

  /**
   * The oldest events not yet acknowledged by the event stream, in order. Served from memory while
   * the outbox is mirrored there (see #mirror); read from LevelDB otherwise.
   */
  async pending(limit = 256): Promise<NumberedEvent[]> {
    if (this.#mirror !== undefined) return this.#mirror.slice(0, limit);
    const events: NumberedEvent[] = [];
    for await (const [key, entry] of scanEntries(this.#db, range(PREFIX.outbox))) {
      // Acknowledged, its deletion not written yet.
      if (this.#writer.isDeferred(key)) continue;
      const seq = seqOf(PREFIX.outbox, key);
      // An empty entry was written by an older agent: its event is only in the log.
      const value = entry.length > 0 ? entry : await this.#db.get(seqKey(PREFIX.event, seq));
      if (value !== undefined) events.push({ ...decode(hostwrightEventSchema, value, `journal event ${seq}`), seq });
      if (events.length >= limit) break;
    }
    return events;
  }

  /**
   * Removes acknowledged events from the outbox (the event log keeps them). The deletions are not
   * fsync'd and do not get a write of their own: they ride along with the journal's next write, or
   * are written within ACK_WRITE_DELAY_MS when none comes. One lost in a crash only makes the agent
   * publish those events again, and the stream drops them as duplicates (the event id is the
   * message id). This saves a LevelDB write per publish round on top of the fsync it once cost.
   */
  acknowledge(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    this.#writer.defer(seqs.map((seq): BatchOperation => ({ type: 'del', key: seqKey(PREFIX.outbox, seq) })));
    this.#depth = Math.max(0, this.#depth - seqs.length);
    if (this.#mirror !== undefined) {
      const acknowledged = new Set(seqs);
      this.#mirror = this.#mirror.filter((event) => !acknowledged.has(event.seq));
    }
    // Everything in the outbox is acknowledged: from here on, memory holds all of it.
    else if (this.#depth === 0) this.#mirror = [];
    this.#ackWriteTimer ??= setTimeout(() => {
      this.#ackWriteTimer = undefined;
      void this.#writer.flushDeferred();
    }, ACK_WRITE_DELAY_MS).unref();
  }

  /**
   * `event:` keys past the rule, oldest first, at most `max`: it stops at the newest event, at the
   * oldest one still in the outbox when something publishes it (published), and at the first one the rule keeps.
   */
  async prunable(rule: RetentionRule, now: Date, published: boolean, max: number): Promise<string[]> {
    let floor = this.#lastSeq;
    if (published) for await (const key of scanKeys(this.#db, { ...range(PREFIX.outbox), limit: 1 })) floor = Math.min(floor, seqOf(PREFIX.outbox, key));
    const beyondCount = this.#lastSeq - rule.maxCount;
    const keys: string[] = [];
    for await (const [key, value] of scanEntries(this.#db, { ...range(PREFIX.event), lt: seqKey(PREFIX.event, floor), limit: max })) {
      if (seqOf(PREFIX.event, key) > beyondCount && !olderThan(decode(eventTimeSchema, value, `journal ${key}`).timestamp, rule.maxAgeMs, now)) break;
      keys.push(key);
    }
    return keys;
  }

  /** Outbox entries beyond the newest `keep`: local mode's, which nothing acknowledges. */
  async unpublishedBeyond(keep: number, max: number): Promise<string[]> {
    const keys: string[] = [];
    if (this.#lastSeq - keep < 1) return keys;
    for await (const key of scanKeys(this.#db, { gte: PREFIX.outbox, lte: seqKey(PREFIX.outbox, this.#lastSeq - keep), limit: max })) keys.push(key);
    return keys;
  }

  /** After outbox entries were deleted unpublished: they leave the count and the mirror. */
  dropped(keys: readonly string[]): void {
    if (keys.length === 0) return;
    this.#depth = Math.max(0, this.#depth - keys.length);
    if (this.#mirror !== undefined) {
      const dropped = new Set(keys.map((key) => seqOf(PREFIX.outbox, key)));
      this.#mirror = this.#mirror.filter((event) => !dropped.has(event.seq));
    } else if (this.#depth === 0) this.#mirror = [];
  }

  get depth(): number {
    return this.#depth;
  }

  /** Calls the listener after every write that carried events; returns the unsubscribe. */
  onEvents(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** After a write with events: counts them into the outbox (every event written is in it) and wakes the publisher. */
  #written(events: readonly NumberedEvent[]): void {
    if (events.length === 0) return;
    this.#depth += events.length;
    if (this.#mirror !== undefined) {
      this.#mirror.push(...events);
      // An outbox that grows while NATS is away is read from LevelDB instead of held in memory.
      if (this.#mirror.length > OUTBOX_MIRROR_MAX) this.#mirror = undefined;
    }
    for (const listener of this.#listeners) listener();
  }
}
