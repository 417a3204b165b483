// The journal proper: opens the agent's LevelDB store, composes its parts (batch writer, desired store, owner
// index, event outbox) and keeps the intent log; the rest of the agent reads and writes through it only.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import { z } from 'zod';
import { projectOfAction } from '../../shared/actions.js';
import { decode, encode } from '../../shared/codec.js';
import { DataDirLockedError, JournalError, errorMessage } from '../../shared/errors.js';
import type { HostwrightEvent } from '../../shared/events.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { hostStatusSchema, type DesiredRefusal, type HostStatus } from '../../shared/host-status.js';
import type { JournalView } from '../core/diff.js';
import { closeWindows, limitEvents, type EventRateLimit, type EventRateState } from '../core/event-rate-limit.js';
import { issueOwnerToken, issueResourceToken, ownerTokenVerifier, resourceTokenVerifier, type OwnerTokenVerifier, type ResourceTokenIdentity, type ResourceTokenVerifier, type TokenIdentity } from '../core/owner-token.js';
import type { InstanceKey, OwnerRecord, ResourceKind, ResourceRecord } from '../core/snapshot.js';
import { BatchWriter, type BatchOperation, type CommitStats } from './batch-writer.js';
import { makeContentsPrivate, prepareDataDir } from './data-dir.js';
import { ImagePulls, type ImagePullRecord } from './image-pulls.js';
import { RequestNonces } from './request-nonces.js';
import { DesiredStore } from './desired-store.js';
import { EventOutbox, type EventPage, type NumberedEvent } from './event-outbox.js';
import { PREFIX, planKey, planSeqOf, range, seqKey, seqOf } from './keys.js';
import { scanEntries, scanKeys } from './scan.js';
import { OwnerIndex, putOwnerRecord } from './owner-index.js';
import { ResourceIndex, putResourceRecord } from './resource-index.js';
import { loadOwnerSecret } from './owner-secret.js';
import { DEFAULT_PRUNE_BATCH, deleteInBatches, olderThan, type PruneOptions, type PruneReport, type PrunedKind, type RetentionRule } from './retention.js';
import { intentRecordSchema, resultRecordSchema, type AppliedRevision, type IntentRecord, type RejectedRevision, type ResultRecord } from './records.js';
import { sleep } from '../../shared/sleep.js';

/** The value of a pending-intent marker: its key says all there is. */
const EMPTY = new Uint8Array(0);
/** How long opening waits for another process's lock on the journal before giving up. */
const LOCK_WAIT_MS = 5_000;
/** Keys of one kind a retention pass deletes at most: a backlog (a first pass over an old journal) takes several passes. */
const PRUNE_MAX_PER_KIND = 50_000;
/** Deletions after which a pass compacts what it deleted from: LevelDB otherwise keeps the tombstones and the old values on disk. */
const COMPACT_AFTER_DELETES = 10_000;
/**
 * LevelDB's memory, bounded: the write buffer (the memtable, and the .log beside it) becomes a
 * table at 1 MiB rather than the default 4 (a retained week fits in tables of about that size; a
 * smaller log also replays faster at open); the block cache holds at most 8 MiB (LevelDB's default,
 * said here so that it is a stated bound).
 */
export const JOURNAL_LEVEL_OPTIONS = { writeBufferSize: 1024 * 1024, cacheSize: 8 * 1024 * 1024 } as const;
/** The one field retention reads of an intent, and of a plan. */
const intentTimeSchema = z.object({ startedAt: z.string() });
const planTimeSchema = z.object({ plan: z.object({ observedAt: z.string() }) });

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
  #nonces: Promise<RequestNonces> | undefined;
  readonly #ownerSecret: Uint8Array;
  readonly verifyOwnerToken: OwnerTokenVerifier;
  readonly verifyResourceToken: ResourceTokenVerifier;
  /** The intent log's state: open intents (counted at open, then kept in step) and the last sequence number. */
  #pending: number;
  #intentSeq: number;
  #planSeq: number;
  /** The pass under way (passes are single-flight), and deletions not compacted yet. */
  #pruning: Promise<PruneReport> | undefined;
  #uncompacted = new Set<string>();
  #uncompactedCount = 0;
  readonly #closing = new AbortController();
  #status: HostStatus | undefined;
  #statusLoaded = false;
  /** Set by a daemon (agent/core/event-rate-limit.ts): event storms are cut to a few events and a summary. */
  #eventRateLimit: EventRateLimit | undefined;
  #eventRates: EventRateState = new Map();

  private constructor(parts: { db: Level<string, Uint8Array>; writer: BatchWriter; desired: DesiredStore; owners: OwnerIndex; resources: ResourceIndex; events: EventOutbox; imagePulls: ImagePulls; ownerSecret: Uint8Array; pending: number; intentSeq: number; planSeq: number }) {
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
    this.#planSeq = parts.planSeq;
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
    const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view', ...JOURNAL_LEVEL_OPTIONS });
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
   * Reads what each part keeps in memory, once: bounded by retention (Journal#prune), which each part
   * applies to its own key range by the rule noted on it (docs/reconciliation.md, "Retention").
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
    let planSeq = 0;
    for await (const key of db.keys({ ...range(PREFIX.planNumbered), reverse: true, limit: 1 })) planSeq = planSeqOf(key);
    return new Journal({ db, writer, desired, owners, resources, events, imagePulls, ownerSecret, pending, intentSeq, planSeq });
  }

  /**
   * Names this journal without revealing its secret: the same for the data dir's whole life, new
   * when the data dir is new (the coordinator then sends this host its desired state from the start).
   */
  get id(): string {
    return createHash('sha256').update('hostwright journal id\0').update(this.#ownerSecret).digest('hex').slice(0, 32);
  }

  /**
   * LevelDB's own estimate of the memory it holds for this journal: its memtables and its block
   * cache (bounded by JOURNAL_LEVEL_OPTIONS). 0 when the binding cannot tell.
   */
  get levelMemoryBytes(): number {
    const readable = this.#db as unknown as { getProperty?: (property: string) => string };
    if (typeof readable.getProperty !== 'function' || this.#db.status !== 'open') return 0;
    const bytes = Number(readable.getProperty.call(this.#db, 'leveldb.approximate-memory-usage'));
    return Number.isFinite(bytes) ? bytes : 0;
  }

  /** Writes asked for and the LevelDB batches (group commits) that carried them, since open. */
  get commitStats(): CommitStats {
    return this.#writer.stats;
  }

  async close(): Promise<void> {
    this.#events.close();
    // A pass under way stops at its next batch.
    this.#closing.abort();
    await this.#pruning?.catch(() => undefined);
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

  /** Every image pull recorded, one per normalized reference: the ownership proof cleanup needs. */
  imagePullRecords(): ImagePullRecord[] {
    return this.#imagePulls.records();
  }

  async markImagesUnreferenced(marks: readonly { reference: string; unreferencedSince: string | undefined }[]): Promise<void> {
    return this.#imagePulls.markUnreferenced(marks);
  }

  /** After cleanup removed an image (normalized references). */
  async forgetImagePulls(references: readonly string[], imageId: string): Promise<void> {
    return this.#imagePulls.forget(references, imageId);
  }

  async appliedRevisions(): Promise<Map<string, number>> {
    return this.#desired.applied();
  }

  async markApplied(record: Pick<AppliedRevision, 'project' | 'revision' | 'appliedAt'>): Promise<void> {
    return this.#desired.markApplied(record);
  }

  /** Image references (normalized) the desired, applied and previously applied revisions name: cleanup keeps them. */
  referencedImages(): Set<string> {
    return this.#desired.referencedImages();
  }

  async rejectedRevisions(): Promise<Map<string, RejectedRevision>> {
    return this.#desired.rejected();
  }

  async setRejected(record: RejectedRevision | { project: string; revision?: undefined }): Promise<void> {
    return this.#desired.setRejected(record);
  }

  // --- signed requests' nonces (request-nonces.ts) ---------------------------------------------

  /** The nonces of signed requests still valid, read on first use. */
  async requestNonces(): Promise<RequestNonces> {
    this.#nonces ??= RequestNonces.load(this.#db, this.#writer);
    return this.#nonces;
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
    const staged = this.#events.stage(this.#rateLimited(events));
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
    const staged = this.#events.stage(this.#rateLimited(events));
    this.#planSeq += 1;
    await this.#writer.write([{ type: 'put', key: planKey(this.#planSeq, correlationID), value: encode(plan) }, ...staged.operations]);
    staged.written();
  }

  /** Intents with no recorded result: what a crash interrupted. */
  async unresolvedIntents(): Promise<IntentRecord[]> {
    if (this.#pending === 0) return [];
    const intents: IntentRecord[] = [];
    for await (const key of scanKeys(this.#db, range(PREFIX.pending))) {
      const seq = seqOf(PREFIX.pending, key);
      const value = await this.#db.get(seqKey(PREFIX.intent, seq));
      if (value === undefined) throw new JournalError(`journal is inconsistent: pending intent ${seq} has no intent record`);
      intents.push(decode(intentRecordSchema, value, `journal intent ${seq}`));
    }
    return intents;
  }

  async intentsWithResults(limit = 1000): Promise<{ intent: IntentRecord; result: ResultRecord | undefined }[]> {
    const rows: { intent: IntentRecord; result: ResultRecord | undefined }[] = [];
    for await (const [key, value] of scanEntries(this.#db, { ...range(PREFIX.intent), reverse: true, limit })) {
      const intent = decode(intentRecordSchema, value, `journal ${key}`);
      const resultBytes = await this.#db.get(seqKey(PREFIX.result, intent.seq));
      rows.push({ intent, result: resultBytes === undefined ? undefined : decode(resultRecordSchema, resultBytes, `journal result ${intent.seq}`) });
    }
    return rows.reverse();
  }

  // --- events (event-outbox.ts) --------------------------------------------------------------

  /** Appends events to the log and the outbox in one sync batch. */
  async appendEvents(events: readonly HostwrightEvent[]): Promise<void> {
    return this.#events.append(this.#rateLimited(events));
  }

  /** From now on, events of one kind beyond the limit per window are counted and recorded as one summary. */
  limitEventRate(limit: EventRateLimit): void {
    this.#eventRateLimit = limit;
  }

  /** Records the summaries of rate-limit windows that have ended (called after each cycle, so none waits long). */
  async flushEventSummaries(): Promise<void> {
    if (!this.#eventRateLimit) return;
    const closed = closeWindows(this.#eventRates, Date.now(), this.#eventRateLimit);
    this.#eventRates = closed.state;
    await this.#events.append(closed.events);
  }

  #rateLimited(events: readonly HostwrightEvent[]): readonly HostwrightEvent[] {
    if (!this.#eventRateLimit) return events;
    const limited = limitEvents(this.#eventRates, events, Date.now(), this.#eventRateLimit);
    this.#eventRates = limited.state;
    return limited.events;
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

  // --- retention (each rule is its part's; docs/reconciliation.md, "Retention") -----------------

  /**
   * One retention pass over every record kind, in small unsynced batches through the batch writer
   * (a cycle's writes go in between); then, after many deletions, a compaction of the ranges they
   * hit. Never drops an open intent, the records it names, the newest intent or event, an event a
   * published outbox still holds, nor the ownership record of an object that exists. Single-flight.
   */
  async prune(options: PruneOptions): Promise<PruneReport> {
    this.#pruning ??= this.#prune(options).finally(() => (this.#pruning = undefined));
    return this.#pruning;
  }

  async #prune(options: PruneOptions): Promise<PruneReport> {
    const { policy, now } = options;
    const batch = options.batchSize ?? DEFAULT_PRUNE_BATCH;
    const signal = options.signal ? AbortSignal.any([options.signal, this.#closing.signal]) : this.#closing.signal;
    const deleted: Record<PrunedKind, number> = { events: 0, outbox: 0, intents: 0, results: 0, plans: 0, owners: 0, resources: 0, desired: 0, refusals: 0 };
    const remove = async (kind: PrunedKind, prefixes: readonly string[], keys: readonly string[]): Promise<void> => {
      if (keys.length === 0 || signal.aborted) return;
      const count = await deleteInBatches(this.#writer, keys, batch, signal);
      deleted[kind] += count;
      this.#uncompactedCount += count;
      for (const prefix of prefixes) this.#uncompacted.add(prefix);
    };

    // Ownership records first: their view is taken before the host is listed, so a record judged gone is gone.
    if (options.listLive) {
      const owners = this.#owners.records();
      const resources = this.#resources.records();
      const live = await options.listLive();
      const open = await this.unresolvedIntents();
      const openTokens = new Set(open.flatMap((intent) => intent.ownerToken ?? []));
      const openObjects = new Set(open.flatMap((intent) => [intent.containerId, 'containerId' in intent.action ? intent.action.containerId : undefined].filter((id): id is string => typeof id === 'string')));
      const goneOwners = this.#owners.gone(owners, live.containers, now.getTime(), policy.goneRecordMs, (token, containerId) => openTokens.has(token) || (containerId !== undefined && openObjects.has(containerId)));
      await remove('owners', [PREFIX.owner], goneOwners.map((record) => `${PREFIX.owner}${record.ownerToken}`));
      if (!signal.aborted) this.#owners.forget(goneOwners);
      const goneResources = this.#resources.gone(resources, { network: live.networks, volume: live.volumes }, now.getTime(), policy.goneRecordMs, (token) => openTokens.has(token));
      await remove('resources', [PREFIX.resource], goneResources.map((record) => `${PREFIX.resource}${record.ownerToken}`));
      if (!signal.aborted) this.#resources.forget(goneResources);

      // A project's desired records, once an empty document of it is applied and nothing of it is left on the host.
      const inUse = new Set(open.flatMap((intent) => projectOfAction(intent.action) ?? []));
      for (const record of this.#owners.records()) if (live.containers.ownerTokens.has(record.ownerToken) || (record.containerId !== undefined && live.containers.ids.has(record.containerId))) inUse.add(record.project);
      for (const record of this.#resources.records()) if (live.networks.ownerTokens.has(record.ownerToken) || live.volumes.ownerTokens.has(record.ownerToken)) inUse.add(record.project);
      // Selected and queued in one turn: a document stored meanwhile is queued after the deletion (see DesiredStore#whileWriting).
      const projects = signal.aborted ? [] : this.#desired.prunableProjects(now, policy.emptyProjectMs, inUse);
      await remove('desired', [PREFIX.desired, PREFIX.signed, PREFIX.applied, PREFIX.rejected, PREFIX.refused], projects.flatMap((project) => project.keys));
      if (!signal.aborted) this.#desired.forget(projects);
    }
    const refusals = await this.#desired.staleRefusals(now, policy.refusalMs, PRUNE_MAX_PER_KIND);
    await remove('refusals', [PREFIX.refused], refusals);
    if (!signal.aborted) this.#desired.forgetRefusals(refusals);

    // The intent log: an intent and its result go together; open ones stay, and the newest (it numbers the next).
    const intents = await this.#prunableIntents(policy.intents, now);
    await remove('intents', [PREFIX.intent], intents.map((seq) => seqKey(PREFIX.intent, seq)));
    await remove('results', [PREFIX.result], intents.map((seq) => seqKey(PREFIX.result, seq)));
    await remove('plans', [PREFIX.plan], await this.#prunablePlans(policy.plans, now));

    // Local mode's outbox, which nothing acknowledges, keeps its newest entries only; then the event log.
    if (!options.outboxPublished) {
      const unpublished = await this.#events.unpublishedBeyond(policy.unpublishedOutboxMax, PRUNE_MAX_PER_KIND);
      await remove('outbox', [PREFIX.outbox], unpublished);
      if (!signal.aborted) this.#events.dropped(unpublished);
    }
    await remove('events', [PREFIX.event], await this.#events.prunable(policy.events, now, options.outboxPublished, PRUNE_MAX_PER_KIND));

    let compacted = false;
    if (this.#uncompactedCount >= COMPACT_AFTER_DELETES && !signal.aborted) {
      await this.#writer.flushDeferred();
      for (const prefix of this.#uncompacted) await compactRange(this.#db, range(prefix));
      this.#uncompacted.clear();
      this.#uncompactedCount = 0;
      compacted = true;
    }
    return { deleted, compacted };
  }

  /** Numbers of resolved intents past the rule, oldest first; the walk stops at the first the rule keeps. */
  async #prunableIntents(rule: RetentionRule, now: Date): Promise<number[]> {
    const open = new Set<number>();
    for await (const key of scanKeys(this.#db, range(PREFIX.pending))) open.add(seqOf(PREFIX.pending, key));
    const beyondCount = this.#intentSeq - rule.maxCount;
    const seqs: number[] = [];
    for await (const [key, value] of scanEntries(this.#db, { ...range(PREFIX.intent), lt: seqKey(PREFIX.intent, this.#intentSeq), limit: PRUNE_MAX_PER_KIND })) {
      const seq = seqOf(PREFIX.intent, key);
      if (open.has(seq)) continue;
      if (seq > beyondCount && !olderThan(decode(intentTimeSchema, value, `journal ${key}`).startedAt, rule.maxAgeMs, now)) break;
      seqs.push(seq);
    }
    return seqs;
  }

  /** Plan keys past the rule, oldest first; plans of an older agent (keyed by correlation ID alone, in no order) all go. */
  async #prunablePlans(rule: RetentionRule, now: Date): Promise<string[]> {
    const keys: string[] = [];
    const numbered = range(PREFIX.planNumbered);
    for (const legacy of [{ gte: PREFIX.plan, lt: numbered.gte }, { gt: numbered.lt, lt: range(PREFIX.plan).lt }]) {
      for await (const key of scanKeys(this.#db, { ...legacy, limit: PRUNE_MAX_PER_KIND })) keys.push(key);
    }
    const beyondCount = this.#planSeq - rule.maxCount;
    for await (const [key, value] of scanEntries(this.#db, { ...numbered, limit: PRUNE_MAX_PER_KIND })) {
      if (planSeqOf(key) >= this.#planSeq) break;
      if (planSeqOf(key) > beyondCount && !olderThan(decode(planTimeSchema, value, `journal ${key}`).plan.observedAt, rule.maxAgeMs, now)) break;
      keys.push(key);
    }
    return keys;
  }

  /** Records per kind now in memory (the owner and resource indexes), for the figures of a retention pass. */
  get indexSizes(): { owners: number; resources: number } {
    return { owners: this.#owners.size, resources: this.#resources.size };
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

/** On Node.js `level` is classic-level, whose compactRange the universal type does not declare. */
async function compactRange(db: Level<string, Uint8Array>, bounds: { readonly gte: string; readonly lt: string }): Promise<void> {
  const compactable = db as unknown as { compactRange?: (start: string, end: string) => Promise<void> };
  if (typeof compactable.compactRange === 'function') await compactable.compactRange.call(db, bounds.gte, bounds.lt);
}
