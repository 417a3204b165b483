// The ownership index of networks and volumes: every resource record of the journal, loaded at open and kept in
// step with the intent and result batches that carry one, looked up by owner token, by resource and by engine id.
import type { Level } from 'level';
import { decode, encode } from '../../shared/codec.js';
import { resourceRecordSchema, type ResourceKind, type ResourceRecord } from '../core/snapshot.js';
import type { BatchOperation } from './batch-writer.js';
import { PREFIX, range } from './keys.js';
import { goneRecords, type LiveSet } from './retention.js';

/** The batch operation that stores a resource record; the index remembers it once that batch is written. */
export function putResourceRecord(record: ResourceRecord): BatchOperation {
  return { type: 'put', key: `${PREFIX.resource}${record.ownerToken}`, value: encode(record) };
}

function resourceKey(kind: ResourceKind, project: string, resource: string): string {
  return `${kind}\u0000${project}\u0000${resource}`;
}

/** Owns the `resource:` range. Retention as in owner-index.ts: a record whose network or volume is gone for good goes. */
export class ResourceIndex {
  readonly #byToken = new Map<string, ResourceRecord>();
  readonly #latest = new Map<string, ResourceRecord>();
  readonly #byId = new Map<string, ResourceRecord>();
  readonly #goneSince = new Map<string, number>();

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

  records(): ResourceRecord[] {
    return [...this.#byToken.values()];
  }

  /** The records among `records` whose network or volume is gone for good (see goneRecords). */
  gone(records: readonly ResourceRecord[], live: { network: LiveSet; volume: LiveSet }, now: number, goneMs: number, keep: (token: string) => boolean): ResourceRecord[] {
    const dropped: ResourceRecord[] = [];
    for (const kind of ['network', 'volume'] as const) {
      // A volume's id is its name, which a later volume may carry: only its token says it is the same one.
      const shape = (record: ResourceRecord) => ({ ownerToken: record.ownerToken, intentSeq: record.intentSeq, removed: record.removed, objectId: record.kind === 'volume' ? undefined : record.resourceId, group: resourceKey(record.kind, record.project, record.resource), latest: this.latestFor(record.kind, record.project, record.resource)?.ownerToken === record.ownerToken });
      const ofKind = records.flatMap((record) => this.#byToken.get(record.ownerToken) ?? []).filter((record) => record.kind === kind);
      dropped.push(...goneRecords(ofKind, shape, live[kind], this.#goneSince, now, goneMs, (view) => keep(view.ownerToken)));
    }
    return dropped;
  }

  forget(records: readonly ResourceRecord[]): void {
    for (const record of records) {
      // By token, as the deletion on disk goes: a record rewritten meanwhile goes with it.
      const current = this.#byToken.get(record.ownerToken);
      if (!current) continue;
      this.#byToken.delete(current.ownerToken);
      const id = `${current.kind}\u0000${current.resourceId}`;
      if (current.resourceId !== undefined && this.#byId.get(id)?.ownerToken === current.ownerToken) this.#byId.delete(id);
      const key = resourceKey(current.kind, current.project, current.resource);
      if (this.#latest.get(key)?.ownerToken === current.ownerToken) this.#latest.delete(key);
      this.#goneSince.delete(record.ownerToken);
    }
  }

  get size(): number {
    return this.#byToken.size;
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
