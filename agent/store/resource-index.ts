// The ownership index of networks and volumes: every resource record of the journal, loaded at open and kept in
// step with the intent and result batches that carry one, looked up by owner token, by resource and by engine id.
import type { Level } from 'level';
import { decode, encode } from '../../shared/codec.js';
import { resourceRecordSchema, type ResourceKind, type ResourceRecord } from '../core/snapshot.js';
import type { BatchOperation } from './batch-writer.js';
import { PREFIX, range } from './keys.js';

/** The batch operation that stores a resource record; the index remembers it once that batch is written. */
export function putResourceRecord(record: ResourceRecord): BatchOperation {
  return { type: 'put', key: `${PREFIX.resource}${record.ownerToken}`, value: encode(record) };
}

function resourceKey(kind: ResourceKind, project: string, resource: string): string {
  return `${kind}\u0000${project}\u0000${resource}`;
}

/** Owns the `resource:` range. Retention lands here as in owner-index.ts: a removed resource's old records may go, never a resource's latest. */
export class ResourceIndex {
  readonly #byToken = new Map<string, ResourceRecord>();
  readonly #latest = new Map<string, ResourceRecord>();
  readonly #byId = new Map<string, ResourceRecord>();

  static async load(db: Level<string, Uint8Array>): Promise<ResourceIndex> {
    const index = new ResourceIndex();
    for await (const [key, value] of db.iterator(range(PREFIX.resource))) index.remember(decode(resourceRecordSchema, value, `journal ${key}`));
    return index;
  }

  remember(record: ResourceRecord): void {
    this.#byToken.set(record.ownerToken, record);
    if (record.resourceId !== undefined) this.#byId.set(`${record.kind}\u0000${record.resourceId}`, record);
    const key = resourceKey(record.kind, record.project, record.resource);
    const latest = this.#latest.get(key);
    if (!latest || latest.intentSeq <= record.intentSeq) this.#latest.set(key, record);
  }

  byToken(token: string): ResourceRecord | undefined {
    return this.#byToken.get(token);
  }

  latestFor(kind: ResourceKind, project: string, resource: string): ResourceRecord | undefined {
    return this.#latest.get(resourceKey(kind, project, resource));
  }

  ofId(kind: ResourceKind, resourceId: string): ResourceRecord | undefined {
    return this.#byId.get(`${kind}\u0000${resourceId}`);
  }
}
