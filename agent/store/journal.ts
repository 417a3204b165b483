// The journal proper: opens the agent's LevelDB store, composes its parts (batch writer, desired store, owner
// index, event outbox) and keeps the intent log; the rest of the agent reads and writes through it only.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import { decode, encode } from '../../shared/codec.js';
import { DataDirLockedError, JournalError, errorMessage } from '../../shared/errors.js';
import type { HostwrightEvent } from '../../shared/events.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { hostStatusSchema, type DesiredRefusal, type HostStatus } from '../../shared/host-status.js';
import type { JournalView } from '../core/diff.js';
import { issueOwnerToken, issueResourceToken, ownerTokenVerifier, resourceTokenVerifier, type OwnerTokenVerifier, type ResourceTokenIdentity, type ResourceTokenVerifier, type TokenIdentity } from '../core/owner-token.js';
import type { InstanceKey, OwnerRecord, ResourceKind, ResourceRecord } from '../core/snapshot.js';
import { BatchWriter, type BatchOperation, type CommitStats } from './batch-writer.js';
import { makeContentsPrivate, prepareDataDir } from './data-dir.js';
import { ImagePulls, type ImagePullRecord } from './image-pulls.js';
import { DesiredStore } from './desired-store.js';
import { EventOutbox, type EventPage, type NumberedEvent } from './event-outbox.js';
import { PREFIX, range, seqKey, seqOf } from './keys.js';
import { OwnerIndex, putOwnerRecord } from './owner-index.js';
import { ResourceIndex, putResourceRecord } from './resource-index.js';
import { loadOwnerSecret } from './owner-secret.js';
import { intentRecordSchema, resultRecordSchema, type AppliedRevision, type IntentRecord, type RejectedRevision, type ResultRecord } from './records.js';
import { sleep } from '../../shared/sleep.js';

/** The value of a pending-intent marker: its key says all there is. */
const EMPTY = new Uint8Array(0);
/** How long opening waits for another process's lock on the journal before giving up. */
const LOCK_WAIT_MS = 5_000;

/**
 * The agent's durable memory in LevelDB: desired documents, the intent journal, ownership
 * records and the event outbox. Every write that guards a mutation is a sync (fsync'd) batch.
 */
export class Journal implements JournalView {
  readonly #db: Level<string, Uint8Array>;
  readonly #writer: BatchWriter;
  readonly #desired: DesiredStore;
  readonly #owners: OwnerIndex;
  readonly #resources: ResourceIndex;
  readonly #events: EventOutbox;
  readonly #imagePulls: ImagePulls;
  readonly #ownerSecret: Uint8Array;
  readonly verifyOwnerToken: OwnerTokenVerifier;
  readonly verifyResourceToken: ResourceTokenVerifier;
  /** The intent log's state: open intents (counted at open, then kept in step) and the last sequence number. */
  #pending: number;
  #intentSeq: number;
  #status: HostStatus | undefined;
  #statusLoaded = false;

  private constructor(parts: { db: Level<string, Uint8Array>; writer: BatchWriter; desired: DesiredStore; owners: OwnerIndex; resources: ResourceIndex; events: EventOutbox; imagePulls: ImagePulls; ownerSecret: Uint8Array; pending: number; intentSeq: number }) {
    this.#db = parts.db;
    this.#writer = parts.writer;
    this.#desired = parts.desired;
    this.#owners = parts.owners;
    this.#resources = parts.resources;
    this.#events = parts.events;
    this.#imagePulls = parts.imagePulls;
    this.#ownerSecret = parts.ownerSecret;
    this.verifyOwnerToken = ownerTokenVerifier(parts.ownerSecret);
    this.verifyResourceToken = resourceTokenVerifier(parts.ownerSecret);
    this.#pending = parts.pending;
    this.#intentSeq = parts.intentSeq;
  }

  /**
   * Opens (creating) the journal in dataDir; a process that holds it longer than LOCK_WAIT_MS gets
   * DataDirLockedError, a data dir others can write to UnsafeDataDirError. What is in the dir is made
   * 0600 (dirs 0700); files LevelDB creates later get 0666 & ~umask, so the commands that open it set umask 077.
   */
  static async open(dataDir: string): Promise<Journal> {
    await prepareDataDir(dataDir);
    const location = `${dataDir}/journal`;
    // LevelDB would make it 0777 & ~umask.
    await mkdir(location, { recursive: true, mode: 0o700 });
    const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
    // A CLI command reading the journal (status, events) holds its lock for a moment; an agent holds it for good.
    const lockDeadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await db.open();
        break;
      } catch (error) {
        const code = (error as { code?: string; cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
        if (code !== 'LEVEL_LOCKED') throw new JournalError(`cannot open the journal in ${dataDir}: ${errorMessage(error)}`, { cause: error });
        if (Date.now() >= lockDeadline) throw new DataDirLockedError(`data dir ${dataDir} is in use by another Hostwright process (an agent?); stop it or pass another --data-dir`, { cause: error });
        await sleep(100);
      }
    }
    let ownerSecret: Uint8Array;
    try {
      // With the lock held: the files LevelDB just made (a new log, MANIFEST, LOCK) and any older wider ones.
      await makeContentsPrivate(dataDir);
      ownerSecret = await loadOwnerSecret(dataDir);
    } catch (error) {
      await db.close();
      throw error;
    }
    return Journal.#load(db, ownerSecret);
  }

  /**
   * Reads what each part keeps in memory, once. Retention (a later issue) is run from the journal: each
   * part prunes its own key range by the rule noted on it (docs/reconciliation.md, "Where retention will land").
   */
  static async #load(db: Level<string, Uint8Array>, ownerSecret: Uint8Array): Promise<Journal> {
    const writer = new BatchWriter(db);
    const owners = await OwnerIndex.load(db);
    const resources = await ResourceIndex.load(db);
    const events = await EventOutbox.load(db, writer);
    const desired = await DesiredStore.load(db, writer, events);
    const imagePulls = await ImagePulls.load(db, writer);
    let pending = 0;
    for await (const key of db.keys(range(PREFIX.pending))) if (key) pending += 1;
    let intentSeq = 0;
    for await (const key of db.keys({ ...range(PREFIX.intent), reverse: true, limit: 1 })) intentSeq = seqOf(PREFIX.intent, key);
    return new Journal({ db, writer, desired, owners, resources, events, imagePulls, ownerSecret, pending, intentSeq });
  }

  /**
   * Names this journal without revealing its secret: the same for the data dir's whole life, new
   * when the data dir is new (the coordinator then sends this host its desired state from the start).
   */
  get id(): string {
    return createHash('sha256').update('hostwright journal id\0').update(this.#ownerSecret).digest('hex').slice(0, 32);
  }

  /** Writes asked for and the LevelDB batches (group commits) that carried them, since open. */
  get commitStats(): CommitStats {
    return this.#writer.stats;
  }

  async close(): Promise<void> {
    this.#events.close();
    // Acknowledgements not written yet go now; writes already queued are committed (or fail) first.
    await this.#writer.close();
    await this.#db.close();
  }

  // --- desired state (desired-store.ts) ------------------------------------------------------

  /** The stored desired documents, by project; read once at open and kept in step with every write. */
  async desiredDocuments(): Promise<HostDesired[]> {
    return this.#desired.documents();
  }

  /**
   * Stores a desired document with the signed envelope it came in (fleet mode; local mode has
   * none), atomically; a refusal recorded for its key is cleared by it.
   */
  async putDesired(document: HostDesired, signedEnvelope?: Uint8Array): Promise<void> {
    return this.#desired.put(document, signedEnvelope);
  }

  /** The signed envelope the project's stored document arrived in, as received. */
  async signedDesired(project: string): Promise<Uint8Array | undefined> {
    return this.#desired.signed(project);
  }

  /** Desired-state values refused since the last good document of their key, by key. */
  async desiredRefusals(): Promise<DesiredRefusal[]> {
    return this.#desired.refusals();
  }

  /** Records a refusal with its error event, atomically (fsync). */
  async recordRefusal(refusal: DesiredRefusal, event: HostwrightEvent): Promise<void> {
    return this.#desired.recordRefusal(refusal, event);
  }

  /** When each image (normalized reference) was last pulled by this host. */
  imagesLastPulledAt(): Map<string, string> {
    return this.#imagePulls.lastPulledAt();
  }

  async recordImagePull(record: ImagePullRecord): Promise<void> {
    return this.#imagePulls.record(record);
  }

  async appliedRevisions(): Promise<Map<string, number>> {
    return this.#desired.applied();
  }

  async markApplied(record: AppliedRevision): Promise<void> {
    return this.#desired.markApplied(record);
  }

  async rejectedRevisions(): Promise<Map<string, RejectedRevision>> {
    return this.#desired.rejected();
  }

  async setRejected(record: RejectedRevision | { project: string; revision?: undefined }): Promise<void> {
    return this.#desired.setRejected(record);
  }

  // --- ownership (owner-index.ts) ------------------------------------------------------------

  ownerRecord(token: string): OwnerRecord | undefined {
    return this.#owners.byToken(token);
  }

  latestRecordFor(key: InstanceKey): OwnerRecord | undefined {
    return this.#owners.latestFor(key);
  }

  ownerRecordOfContainer(containerId: string): OwnerRecord | undefined {
    return this.#owners.ofContainer(containerId);
  }

  /** A token only this host can issue (HMAC with its owner secret) for the identity a create puts on its labels. */
  newOwnerToken(identity: TokenIdentity): string {
    return issueOwnerToken(this.#ownerSecret, identity, randomUUID().replaceAll('-', ''));
  }

  // --- ownership of networks and volumes (resource-index.ts) ----------------------------------

  resourceRecord(token: string): ResourceRecord | undefined {
    return this.#resources.byToken(token);
  }

  latestResourceRecordFor(kind: ResourceKind, project: string, resource: string): ResourceRecord | undefined {
    return this.#resources.latestFor(kind, project, resource);
  }

  resourceRecordOf(kind: ResourceKind, resourceId: string): ResourceRecord | undefined {
    return this.#resources.ofId(kind, resourceId);
  }

  /** A token only this host can issue for the identity a network's or volume's labels claim. */
  newResourceToken(identity: ResourceTokenIdentity): string {
    return issueResourceToken(this.#ownerSecret, identity, randomUUID().replaceAll('-', ''));
  }

  // --- intents, results and plans (the intent log: `intent:`, `pending:`, `result:`, `plan:`) ---
  // Retention lands here: a resolved intent, its result and old plans may go, never the newest intent (it numbers the next).

  /** Persists (fsync) the intent before its mutation; a create also persists its owner (or resource) record. */
  async recordIntent(intent: Omit<IntentRecord, 'seq'>, owner?: Omit<OwnerRecord, 'intentSeq'>, resource?: Omit<ResourceRecord, 'intentSeq'>): Promise<IntentRecord> {
    const seq = this.#intentSeq + 1;
    const record: IntentRecord = { ...intent, seq };
    const operations: BatchOperation[] = [
      { type: 'put', key: seqKey(PREFIX.intent, seq), value: encode(record) },
      { type: 'put', key: seqKey(PREFIX.pending, seq), value: EMPTY },
    ];
    const ownerRecord = owner ? { ...owner, intentSeq: seq } : undefined;
    if (ownerRecord) operations.push(putOwnerRecord(ownerRecord));
    const resourceRecord = resource ? { ...resource, intentSeq: seq } : undefined;
    if (resourceRecord) operations.push(putResourceRecord(resourceRecord));
    this.#intentSeq = seq;
    await this.#writer.write(operations);
    this.#pending += 1;
    if (ownerRecord) this.#owners.remember(ownerRecord);
    if (resourceRecord) this.#resources.remember(resourceRecord);
    return record;
  }

  /** Persists (fsync) the result with its events and ownership change, atomically, and resolves the intent. */
  async recordResult(result: ResultRecord, events: readonly HostwrightEvent[], owners: readonly OwnerRecord[] = [], resources: readonly ResourceRecord[] = []): Promise<void> {
    const staged = this.#events.stage(events);
    await this.#writer.write([
      { type: 'put', key: seqKey(PREFIX.result, result.seq), value: encode(result) },
      { type: 'del', key: seqKey(PREFIX.pending, result.seq) },
      ...staged.operations,
      ...owners.map(putOwnerRecord),
      ...resources.map(putResourceRecord),
    ]);
    this.#pending = Math.max(0, this.#pending - 1);
    for (const owner of owners) this.#owners.remember(owner);
    for (const resource of resources) this.#resources.remember(resource);
    staged.written();
  }

  /** Persists (fsync) a cycle's plan with its `planned` events before any of its actions runs. */
  async recordPlan(correlationID: string, plan: unknown, events: readonly HostwrightEvent[]): Promise<void> {
    const staged = this.#events.stage(events);
    await this.#writer.write([{ type: 'put', key: `${PREFIX.plan}${correlationID}`, value: encode(plan) }, ...staged.operations]);
    staged.written();
  }

  /** Intents with no recorded result: what a crash interrupted. */
  async unresolvedIntents(): Promise<IntentRecord[]> {
    if (this.#pending === 0) return [];
    const intents: IntentRecord[] = [];
    for await (const key of this.#db.keys(range(PREFIX.pending))) {
      const seq = seqOf(PREFIX.pending, key);
      const value = await this.#db.get(seqKey(PREFIX.intent, seq));
      if (value === undefined) throw new JournalError(`journal is inconsistent: pending intent ${seq} has no intent record`);
      intents.push(decode(intentRecordSchema, value, `journal intent ${seq}`));
    }
    return intents;
  }

  async intentsWithResults(limit = 1000): Promise<{ intent: IntentRecord; result: ResultRecord | undefined }[]> {
    const rows: { intent: IntentRecord; result: ResultRecord | undefined }[] = [];
    for await (const [key, value] of this.#db.iterator({ ...range(PREFIX.intent), reverse: true, limit })) {
      const intent = decode(intentRecordSchema, value, `journal ${key}`);
      const resultBytes = await this.#db.get(seqKey(PREFIX.result, intent.seq));
      rows.push({ intent, result: resultBytes === undefined ? undefined : decode(resultRecordSchema, resultBytes, `journal result ${intent.seq}`) });
    }
    return rows.reverse();
  }

  // --- events (event-outbox.ts) --------------------------------------------------------------

  /** Appends events to the log and the outbox in one sync batch. */
  async appendEvents(events: readonly HostwrightEvent[]): Promise<void> {
    return this.#events.append(events);
  }

  /** Events after a sequence number, oldest first. */
  async readEvents(afterSeq = 0, limit = 10_000): Promise<EventPage> {
    return this.#events.read(afterSeq, limit);
  }

  /** The oldest events not yet acknowledged by the event stream, in order. */
  async outboxEvents(limit = 256): Promise<NumberedEvent[]> {
    return this.#events.pending(limit);
  }

  /** Removes acknowledged events from the outbox; the deletions ride along with the next write (see EventOutbox#acknowledge). */
  async acknowledgeOutbox(seqs: readonly number[]): Promise<void> {
    this.#events.acknowledge(seqs);
  }

  /** Number of events not yet acknowledged by the event stream (counted at open, then kept in step). */
  async outboxDepth(): Promise<number> {
    return this.#events.depth;
  }

  onEvents(listener: () => void): () => void {
    return this.#events.onEvents(listener);
  }

  // --- status (the one `status` key) ---------------------------------------------------------

  /** The last stored status (read once, then kept in step with every write). */
  async getStatus(): Promise<HostStatus | undefined> {
    if (!this.#statusLoaded) {
      const value = await this.#db.get(PREFIX.status);
      this.#status = value === undefined ? undefined : decode(hostStatusSchema, value, 'journal status');
      this.#statusLoaded = true;
    }
    return this.#status;
  }

  async putStatus(status: HostStatus): Promise<void> {
    await this.#writer.write([{ type: 'put', key: PREFIX.status, value: encode(status) }]);
    this.#status = status;
    this.#statusLoaded = true;
  }
}
