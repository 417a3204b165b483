// The ownership index: every owner record of the journal, loaded at open and kept in step with every write
// that carries one, looked up by owner token, by instance (its latest record) and by container id.
import type { Level } from 'level';
import { decode, encode } from '../../shared/codec.js';
import { instanceKeyString, ownerRecordSchema, type InstanceKey, type OwnerRecord } from '../core/snapshot.js';
import type { BatchOperation } from './batch-writer.js';
import { PREFIX, range } from './keys.js';

/** The batch operation that stores an owner record; the index remembers it once that batch is written. */
export function putOwnerRecord(record: OwnerRecord): BatchOperation {
  return { type: 'put', key: `${PREFIX.owner}${record.ownerToken}`, value: encode(record) };
}

/**
 * Owns the `owner:` range; its records are written in the journal's intent and result batches.
 * Retention lands here (docs/reconciliation.md): drop a record whose container is gone, never an instance's latest.
 */
export class OwnerIndex {
  readonly #byToken = new Map<string, OwnerRecord>();
  readonly #latestByInstance = new Map<string, OwnerRecord>();
  readonly #byContainer = new Map<string, OwnerRecord>();

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
