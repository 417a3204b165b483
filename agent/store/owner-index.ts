// The ownership index: every owner record of the journal, loaded at open and kept in step with every write
// that carries one, looked up by owner token, by instance (its latest record) and by container id.
import type { Level } from 'level';
import { decode, encode } from '../../shared/codec.js';
import { instanceKeyString, ownerRecordSchema, type InstanceKey, type OwnerRecord } from '../core/snapshot.js';
import type { BatchOperation } from './batch-writer.js';
import { PREFIX, range } from './keys.js';
import { goneRecords, type LiveSet } from './retention.js';

/** The batch operation that stores an owner record; the index remembers it once that batch is written. */
export function putOwnerRecord(record: OwnerRecord): BatchOperation {
  return { type: 'put', key: `${PREFIX.owner}${record.ownerToken}`, value: encode(record) };
}

/**
 * Owns the `owner:` range; its records are written in the journal's intent and result batches.
 * Retention (docs/reconciliation.md): a record whose container is gone for good goes, and leaves memory with it.
 */
export class OwnerIndex {
  readonly #byToken = new Map<string, OwnerRecord>();
  readonly #latestByInstance = new Map<string, OwnerRecord>();
  readonly #byContainer = new Map<string, OwnerRecord>();
  /** Records whose container a retention pass found gone, by token: when it first did (the retention clock). */
  readonly #goneSince = new Map<string, number>();

  static async load(db: Level<string, Uint8Array>): Promise<OwnerIndex> {
    const index = new OwnerIndex();
    for await (const [key, value] of db.iterator(range(PREFIX.owner))) index.remember(decode(ownerRecordSchema, value, `journal ${key}`));
    return index;
  }

  /** Adds (or replaces, by token) a record; an instance's latest record is the one of its latest intent. */
  remember(record: OwnerRecord): void {
    this.#byToken.set(record.ownerToken, record);
    if (record.containerId !== undefined) this.#byContainer.set(record.containerId, record);
    const key = instanceKeyString(record);
    const latest = this.#latestByInstance.get(key);
    if (!latest || latest.intentSeq <= record.intentSeq) this.#latestByInstance.set(key, record);
  }

  /** Every record, for a retention pass to take its view before it lists the host's containers. */
  records(): OwnerRecord[] {
    return [...this.#byToken.values()];
  }

  /** The records among `records` whose container is gone for good (see goneRecords); keep protects the ones open intents name. */
  gone(records: readonly OwnerRecord[], live: LiveSet, now: number, goneMs: number, keep: (token: string, containerId: string | undefined) => boolean): OwnerRecord[] {
    const shape = (record: OwnerRecord) => ({ ownerToken: record.ownerToken, intentSeq: record.intentSeq, removed: record.removed, objectId: record.containerId, group: instanceKeyString(record), latest: this.latestFor(record)?.ownerToken === record.ownerToken });
    return goneRecords(this.#current(records), shape, live, this.#goneSince, now, goneMs, (view) => keep(view.ownerToken, view.objectId));
  }

  /** Takes records out of memory once their deletion is written; an instance whose latest went has none left (see goneRecords). */
  forget(records: readonly OwnerRecord[]): void {
    for (const record of records) {
      // By token, as the deletion on disk goes: a record rewritten meanwhile goes with it.
      const current = this.#byToken.get(record.ownerToken);
      if (!current) continue;
      this.#byToken.delete(current.ownerToken);
      if (current.containerId !== undefined && this.#byContainer.get(current.containerId)?.ownerToken === current.ownerToken) this.#byContainer.delete(current.containerId);
      const key = instanceKeyString(current);
      if (this.#latestByInstance.get(key)?.ownerToken === current.ownerToken) this.#latestByInstance.delete(key);
      this.#goneSince.delete(record.ownerToken);
    }
  }

  get size(): number {
    return this.#byToken.size;
  }

  /** The records as they are now (one may have been rewritten since the view was taken); dropped ones left out. */
  #current(records: readonly OwnerRecord[]): OwnerRecord[] {
    return records.flatMap((record) => this.#byToken.get(record.ownerToken) ?? []);
  }

  byToken(token: string): OwnerRecord | undefined {
    return this.#byToken.get(token);
  }

  latestFor(key: InstanceKey): OwnerRecord | undefined {
    return this.#latestByInstance.get(instanceKeyString(key));
  }

  ofContainer(containerId: string): OwnerRecord | undefined {
    return this.#byContainer.get(containerId);
  }
}
