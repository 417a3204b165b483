// The desired side of the journal, per project: the last accepted document and its signed envelope, refused
// values, and the revision applied or given up on; read at open and kept in memory in step with every write.
import type { Level } from 'level';
import { decode, encode } from '../../shared/codec.js';
import type { HostwrightEvent } from '../../shared/events.js';
import { hostDesiredSchema, type HostDesired } from '../../shared/host-desired.js';
import { desiredRefusalSchema, type DesiredRefusal } from '../../shared/host-status.js';
import { desiredKey } from '../../shared/subjects.js';
import type { BatchWriter } from './batch-writer.js';
import type { EventOutbox } from './event-outbox.js';
import { PREFIX, range } from './keys.js';
import { olderThan } from './retention.js';
import { scanEntries } from './scan.js';
import { appliedRevisionSchema, rejectedRevisionSchema, type AppliedRevision, type RejectedRevision } from './records.js';
import { compareStrings } from '../../shared/compare.js';
import { normalizeImageRef } from '../core/images.js';

/** A project whose records a retention pass deletes: its keys, and the document revision it judged. */
export interface PrunableProject {
  readonly project: string;
  readonly revision: number | undefined;
  readonly keys: readonly string[];
}

/**
 * Owns the `desired:`, `signed:`, `refused:`, `applied:` and `rejected:` ranges, one record per
 * project (or desired key). Retention: a project's records go together, once an empty document of it was
 * applied long enough ago; a refusal no good document cleared goes by its age.
 */
export class DesiredStore {
  readonly #db: Level<string, Uint8Array>;
  readonly #writer: BatchWriter;
  readonly #events: EventOutbox;
  /** By project, in project order. */
  #documents = new Map<string, HostDesired>();
  readonly #applied = new Map<string, AppliedRevision>();
  readonly #rejected = new Map<string, RejectedRevision>();
  /** Since open only: `refused:` records on disk are cleared by a good document but not read back at open. */
  readonly #refusals = new Map<string, DesiredRefusal>();
  /** Projects with a write of their records under way: retention leaves them alone until it lands. */
  readonly #writing = new Map<string, number>();

  private constructor(db: Level<string, Uint8Array>, writer: BatchWriter, events: EventOutbox) {
    this.#db = db;
    this.#writer = writer;
    this.#events = events;
  }

  static async load(db: Level<string, Uint8Array>, writer: BatchWriter, events: EventOutbox): Promise<DesiredStore> {
    const store = new DesiredStore(db, writer, events);
    for await (const [key, value] of db.iterator(range(PREFIX.desired))) {
      const document = decode(hostDesiredSchema, value, `journal ${key}`);
      store.#documents.set(document.project, document);
    }
    for await (const [key, value] of db.iterator(range(PREFIX.applied))) {
      const record = decode(appliedRevisionSchema, value, `journal ${key}`);
      store.#applied.set(record.project, record);
    }
    for await (const [key, value] of db.iterator(range(PREFIX.rejected))) {
      const record = decode(rejectedRevisionSchema, value, `journal ${key}`);
      store.#rejected.set(record.project, record);
    }
    return store;
  }

  documents(): HostDesired[] {
    return [...this.#documents.values()];
  }

  /**
   * Stores a desired document with the signed envelope it came in (fleet mode; local mode has
   * none), atomically; a refusal recorded for its key is cleared by it.
   */
  async put(document: HostDesired, signedEnvelope?: Uint8Array): Promise<void> {
    const validated = hostDesiredSchema.parse(document);
    const signedKey = `${PREFIX.signed}${document.project}`;
    const refusalKey = desiredKey(document.hostId, document.project);
    await this.#whileWriting(document.project, () => this.#writer.write([
      { type: 'put', key: `${PREFIX.desired}${document.project}`, value: encode(validated) },
      signedEnvelope ? { type: 'put', key: signedKey, value: signedEnvelope } : { type: 'del', key: signedKey },
      { type: 'del', key: `${PREFIX.refused}${refusalKey}` },
    ]));
    this.#refusals.delete(refusalKey);
    const documents = new Map(this.#documents).set(validated.project, validated);
    this.#documents = new Map([...documents.entries()].sort(([a], [b]) => compareStrings(a, b)));
  }

  /** The signed envelope the project's stored document arrived in, as received. */
  async signed(project: string): Promise<Uint8Array | undefined> {
    return this.#db.get(`${PREFIX.signed}${project}`);
  }

  /** Desired-state values refused since the last good document of their key, in key order. */
  refusals(): DesiredRefusal[] {
    return [...this.#refusals.values()].sort((a, b) => compareStrings(a.key, b.key));
  }

  /** Records a refusal with its error event, atomically (fsync). */
  async recordRefusal(refusal: DesiredRefusal, event: HostwrightEvent): Promise<void> {
    const record = desiredRefusalSchema.parse(refusal);
    const staged = this.#events.stage([event]);
    await this.#writer.write([{ type: 'put', key: `${PREFIX.refused}${record.key}`, value: encode(record) }, ...staged.operations]);
    this.#refusals.set(record.key, record);
    staged.written();
  }

  applied(): Map<string, number> {
    return new Map([...this.#applied.values()].map((record) => [record.project, record.revision]));
  }

  /** Records the revision applied, with its images and those of the revision applied before it. */
  async markApplied(applied: Pick<AppliedRevision, 'project' | 'revision' | 'appliedAt'>): Promise<void> {
    const before = this.#applied.get(applied.project);
    const document = this.#documents.get(applied.project);
    const images = document?.revision === applied.revision ? imagesOf(document) : before?.revision === applied.revision ? before.images : undefined;
    const previousImages = before === undefined ? undefined : before.revision === applied.revision ? before.previousImages : before.images;
    const record: AppliedRevision = { ...applied, ...(images === undefined ? {} : { images }), ...(previousImages === undefined ? {} : { previousImages }) };
    await this.#whileWriting(record.project, () => this.#writer.write([{ type: 'put', key: `${PREFIX.applied}${record.project}`, value: encode(record) }]));
    this.#applied.set(record.project, record);
  }

  /** Every image reference (normalized) a desired document, an applied revision or the revision applied before it names. */
  referencedImages(): Set<string> {
    const referenced = new Set<string>();
    for (const document of this.#documents.values()) for (const image of imagesOf(document)) referenced.add(image);
    for (const record of this.#applied.values()) for (const image of [...(record.images ?? []), ...(record.previousImages ?? [])]) referenced.add(image);
    return referenced;
  }

  /**
   * Projects whose records may go: an empty document (no service) applied more than emptyProjectMs ago,
   * or applied/rejected records left without a document; never one with objects on the host (inUse).
   */
  prunableProjects(now: Date, emptyProjectMs: number, inUse: ReadonlySet<string>): PrunableProject[] {
    const projects: PrunableProject[] = [];
    for (const project of new Set([...this.#documents.keys(), ...this.#applied.keys(), ...this.#rejected.keys()])) {
      const document = this.#documents.get(project);
      const applied = this.#applied.get(project);
      if (inUse.has(project) || this.#writing.has(project) || applied === undefined || !olderThan(applied.appliedAt, emptyProjectMs, now)) continue;
      if (document !== undefined && (Object.keys(document.services).length > 0 || applied.revision < document.revision)) continue;
      projects.push({ project, revision: document?.revision, keys: [PREFIX.desired, PREFIX.signed, PREFIX.applied, PREFIX.rejected].map((prefix) => `${prefix}${project}`).concat(document ? [`${PREFIX.refused}${desiredKey(document.hostId, project)}`] : []) });
    }
    return projects;
  }

  async #whileWriting(project: string, write: () => Promise<void>): Promise<void> {
    this.#writing.set(project, (this.#writing.get(project) ?? 0) + 1);
    try {
      await write();
    } finally {
      const left = (this.#writing.get(project) ?? 1) - 1;
      if (left > 0) this.#writing.set(project, left);
      else this.#writing.delete(project);
    }
  }

  /** After a project's records were deleted: out of memory too, unless a new document came meanwhile. */
  forget(projects: readonly PrunableProject[]): void {
    for (const { project, revision } of projects) {
      if (this.#documents.get(project)?.revision !== revision) continue;
      this.#documents.delete(project);
      this.#applied.delete(project);
      this.#rejected.delete(project);
      for (const key of this.#refusals.keys()) if (key.endsWith(`.${project}`)) this.#refusals.delete(key);
    }
  }

  /** `refused:` records older than refusalMs (read from disk: they are not all in memory). */
  async staleRefusals(now: Date, refusalMs: number, max: number): Promise<string[]> {
    const keys: string[] = [];
    for await (const [key, value] of scanEntries(this.#db, range(PREFIX.refused))) {
      if (olderThan(decode(desiredRefusalSchema, value, `journal ${key}`).refusedAt, refusalMs, now)) keys.push(key);
      if (keys.length >= max) break;
    }
    return keys;
  }

  /** After stale refusals were deleted. */
  forgetRefusals(keys: readonly string[]): void {
    for (const key of keys) this.#refusals.delete(key.slice(PREFIX.refused.length));
  }

  rejected(): Map<string, RejectedRevision> {
    return new Map(this.#rejected);
  }

  /** Records the revision given up on, or (no revision) clears it. */
  async setRejected(record: RejectedRevision | { project: string; revision?: undefined }): Promise<void> {
    const key = `${PREFIX.rejected}${record.project}`;
    await this.#whileWriting(record.project, () => this.#writer.write([record.revision === undefined ? { type: 'del', key } : { type: 'put', key, value: encode(record) }]));
    if (record.revision === undefined) this.#rejected.delete(record.project);
    else this.#rejected.set(record.project, record);
  }
}

/** The images a document's services name, normalized and sorted. */
function imagesOf(document: HostDesired): string[] {
  return [...new Set(Object.values(document.services).map((service) => normalizeImageRef(service.image)))].sort(compareStrings);
}
