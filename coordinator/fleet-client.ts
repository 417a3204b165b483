import { randomBytes, randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { createInbox } from '@nats-io/transport-node';
import type { KV, KvEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { decode, encode } from '../shared/codec.js';
import { agentTooOld, stampSchema } from '../shared/desired-schema.js';
import { SIGNED_AT_SCHEMA } from '../shared/replay-window.js';
import { AUTHOR_SCHEMA, type AuthorClaims } from '../shared/desired-author.js';
import { HostwrightError, InvalidInputError, errorMessage } from '../shared/errors.js';
import { hostwrightEventSchema, type HostwrightEvent } from '../shared/events.js';
import { hostDesiredSchema, type HostDesired } from '../shared/host-desired.js';
import { hostControlSchema, type HostControl } from '../shared/host-control.js';
import { meshDesiredKey, meshDesiredSchema, type MeshDesired } from '../shared/mesh.js';
import { connectFleet, isUnanswered, retryUnanswered, type FleetConnection, type NatsAccess } from '../shared/nats-connection.js';
import type { StorageLimits } from '../shared/stream-replicas.js';
import { openSignedDocument, signDocument, signatureHolds, verifySignedDocument } from '../shared/signed-document.js';
import { signRequest } from '../shared/signed-request.js';
import { acceptedValues, openReport, type HostKeys, type HostReport } from '../shared/host-report.js';
import { MAX_PLAN_REPLY_PARTS, ReplyAssembler } from '../shared/plan-reply-parts.js';
import { BUCKETS, DESIRED_STREAM, EVENTS_STREAM, desiredFeedConsumer, desiredKey, eventFilter, kvKeySubject, planRpcSubject, pullRpcSubject, retryRpcSubject } from '../shared/subjects.js';
import { runBounded } from '../shared/worker-pool.js';
import { MAX_WIRE_BYTES, hostRegistrationSchema, planReplySchema, pullReplySchema, retryReplySchema, statusReportSchema, type HostRegistration, type PlanReply, type PullReply, type RetryReply, type StatusReport } from '../shared/wire.js';
import type { DesiredSigner } from './signing-key.js';

export interface DesiredEntry {
  readonly document: HostDesired;
  /** The KV revision, for compare-and-set. */
  readonly kvRevision: number;
  /**
   * The key holds a value its agent rejects (not a document, too large, another host's): `document`
   * is then the key's last good one (or a stand-in with a revision no document of the key can exceed).
   * Also set for a document without a signing time whose host's agent reads one (it may refuse it).
   */
  readonly damaged?: boolean;
}

/** One value of a desired key's history: the document when its agent would accept it. */
export interface StoredDesired {
  readonly kvRevision: number;
  /** When the NATS server stored it (ISO 8601). */
  readonly storedAt: string;
  readonly document?: HostDesired;
}

export interface EventQuery {
  readonly hostId?: string;
  readonly project?: string;
  readonly type?: string;
  readonly since?: Date;
  readonly follow: boolean;
  readonly signal?: AbortSignal;
}

/** An event off the stream, or a message on a host's event subject that was refused. */
export type StreamEvent = { readonly event: HostwrightEvent; readonly trust: HostReport<HostwrightEvent>['trust'] } | { readonly refused: { readonly subject: string; readonly seq: number; readonly hostId: string; readonly reason: string } };

/**
 * The coordinator's view of the fleet over NATS: hosts, desired state (CAS), status, events, plan
 * requests. A host's identity is that of the key or subject its report arrived on, and with the
 * fleet's host keys at hand every report must carry that host's signature (shared/host-report.ts).
 */
export class FleetClient {
  /** Hosts whose desired-state feed this client has checked or made. */
  readonly #feedsReady = new Set<string>();
  /** Each host's journal id, from the last registrations read. */
  readonly #journalIds = new Map<string, string>();
  /** Each host's registration, from the last registrations read: what its agent reads. */
  readonly #registrations = new Map<string, HostRegistration>();
  /** Hosts with no registration when this client looked (an agent registers before it can read a write). */
  readonly #unregistered = new Set<string>();

  private constructor(
    readonly connection: FleetConnection,
    private readonly signer: DesiredSigner | undefined,
    /** The host public keys of the fleet's auth manifest; undefined: reports cannot be verified. */
    readonly hostKeys: HostKeys | undefined,
    /** Who this coordinator says it is (NATS user, --as name): recorded, with the signing key, in every desired write. */
    readonly authorClaims: AuthorClaims = {},
  ) {}

  /** Without a signer the client reads, plans and watches, but cannot write desired state. */
  static async connect(servers: string, logger: Logger, access: NatsAccess = {}, signer?: DesiredSigner, hostKeys?: HostKeys, storageLimits?: StorageLimits, authorClaims?: AuthorClaims): Promise<FleetClient> {
    return new FleetClient(await connectFleet({ servers, name: 'hostwright-coordinator', logger, waitOnFirstConnect: false, warnWeakDurability: false, access, ...(storageLimits ? { storageLimits } : {}) }), signer, hostKeys, authorClaims);
  }

  /** Fails early, before anything is written, when a command that writes desired state has no key. */
  requireSigner(command: string): void {
    if (!this.signer) throw new InvalidInputError(`${command} writes desired state, which agents accept only when signed: pass --signing-key FILE (the coordinator-signing.nk seed) or set HOSTWRIGHT_SIGNING_KEY`);
  }

  /**
   * The document a desired value carries if its signature holds: against this client's own key
   * when it has one, otherwise only for integrity (a read-only client has no key to pin).
   */
  openDesired(value: Uint8Array, what: string): HostDesired {
    const bytes = this.signer ? verifySignedDocument(value, this.signer.publicKey) : integrityChecked(value);
    return decode(hostDesiredSchema, bytes, what);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /**
   * What the coordinator said about each host (cordon, labels), by host id, each verified like
   * desired state; a value whose signature or shape fails is listed in `refused` and not used.
   */
  async hostControls(): Promise<{ controls: Map<string, { control: HostControl; kvRevision: number }>; refused: { hostId: string; kvRevision: number; reason: string }[] }> {
    const controls = new Map<string, { control: HostControl; kvRevision: number }>();
    const refused: { hostId: string; kvRevision: number; reason: string }[] = [];
    const keys = await keysWithin(this.connection, 'hostctl');
    for (const [hostId, entry] of await retryUnanswered(() => latestEntries(this.connection.hostctl, keys))) {
      if (!entry || entry.operation !== 'PUT') continue;
      try {
        controls.set(hostId, { control: this.openHostControl(entry.value, hostId), kvRevision: entry.revision });
      } catch (error) {
        refused.push({ hostId, kvRevision: entry.revision, reason: errorMessage(error) });
      }
    }
    return { controls, refused };
  }

  /** A host control value (KV hw_hostctl/<hostId>), verified like desired state; throws saying what is wrong with it. */
  openHostControl(value: Uint8Array, hostId: string): HostControl {
    if (value.byteLength > MAX_WIRE_BYTES) throw new HostwrightError(`larger than ${MAX_WIRE_BYTES} bytes`);
    const bytes = this.signer ? verifySignedDocument(value, this.signer.publicKey) : integrityChecked(value);
    const control = decode(hostControlSchema, bytes, `host control ${hostId}`);
    if (control.hostId !== hostId) throw new HostwrightError(`it names host ${control.hostId}`);
    return control;
  }

  /** Signs and writes a host's control with compare-and-set (0: the key must not exist). */
  async writeHostControl(control: HostControl, expectedRevision: number): Promise<number> {
    this.requireSigner('writing a host\'s cordon or labels');
    const value = signDocument(encode(control), this.signer as DesiredSigner);
    const kv = this.connection.hostctl;
    try {
      return expectedRevision === 0 ? await kv.create(control.hostId, value) : await kv.update(control.hostId, value, expectedRevision);
    } catch (error) {
      if (isUnanswered(error)) throw new HostwrightError(`the cordon and labels of host ${control.hostId} may not have been written: NATS did not answer; run \`hostwright hosts\` to see, and the command again`, { cause: error });
      throw new HostwrightError(`the cordon and labels of host ${control.hostId} changed since they were read (compare-and-set failed: ${errorMessage(error)}); run the command again`, { cause: error });
    }
  }

  /**
   * The mesh documents stored for each host (key `<hostId>._mesh` of the desired bucket), with
   * their KV revisions; a value this coordinator's key did not sign is left out (it is rewritten).
   */
  async meshDocuments(): Promise<Map<string, { document: MeshDesired; kvRevision: number }>> {
    const keys = (await keysWithin(this.connection, 'desired')).filter((key) => key.endsWith('._mesh'));
    const found = new Map<string, { document: MeshDesired; kvRevision: number }>();
    for (const [key, entry] of await latestEntries(this.connection.desired, keys)) {
      if (entry?.operation !== 'PUT') continue;
      try {
        const bytes = this.signer === undefined ? openSignedDocument(entry.value).document : verifySignedDocument(entry.value, this.signer.publicKey);
        const document = decode(meshDesiredSchema, bytes, `mesh document ${key}`);
        if (meshDesiredKey(document.hostId) === key) found.set(document.hostId, { document, kvRevision: entry.revision });
      } catch {
        // A value that does not verify is no mesh this coordinator wrote: the next write replaces it.
      }
    }
    return found;
  }

  /** Signs a host's mesh document and writes it onto the host's desired feed, compare-and-set (0: must not exist). */
  async writeMesh(document: MeshDesired, expectedRevision: number): Promise<number> {
    this.requireSigner('writing the mesh');
    const value = signDocument(encode(document), this.signer as DesiredSigner);
    await retryUnanswered(() => this.#ensureDesiredFeed(document.hostId));
    const key = meshDesiredKey(document.hostId);
    try {
      return expectedRevision === 0 ? await this.connection.desired.create(key, value) : await this.connection.desired.update(key, value, expectedRevision);
    } catch (error) {
      throw new HostwrightError(`the mesh document of host ${document.hostId} changed since it was read, or was not written (${errorMessage(error)}); run \`hostwright mesh apply\` again`, { cause: error });
    }
  }

  /** The registrations a reader may act on: refused ones are left out. */
  async hosts(): Promise<HostRegistration[]> {
    return acceptedValues(await this.hostReports());
  }

  /** The status reports a reader may act on: refused ones are left out. */
  async statuses(): Promise<StatusReport[]> {
    return acceptedValues(await this.statusReports());
  }

  /** Every host's registration, by the key it is stored under; refused ones say why. */
  async hostReports(): Promise<HostReport<HostRegistration>[]> {
    const reports = await readAll(this.connection, 'hosts', (value, hostId) => this.openRegistration(value, hostId));
    for (const report of reports) {
      if (report.value?.journalId) this.#journalIds.set(report.hostId, report.value.journalId);
      if (report.value) this.#registrations.set(report.hostId, report.value);
    }
    return reports;
  }

  async statusReports(): Promise<HostReport<StatusReport>[]> {
    return readAll(this.connection, 'status', (value, hostId) => this.openStatus(value, hostId));
  }

  openRegistration(value: Uint8Array, hostId: string): HostReport<HostRegistration> {
    return openReport(hostRegistrationSchema, value, { hostId, what: `registration key ${hostId}` }, this.hostKeys);
  }

  openStatus(value: Uint8Array, hostId: string): HostReport<StatusReport> {
    return openReport(statusReportSchema, value, { hostId, what: `status key ${hostId}` }, this.hostKeys);
  }

  /**
   * Every host's desired document of one project, by the host its key names. A value the agent
   * rejects must not lock the coordinator out of the key (it used to fail every apply, or file the
   * entry under another host): such an entry is marked damaged, so the next apply rewrites it.
   */
  async desiredOf(project: string): Promise<Map<string, DesiredEntry>> {
    // One ordered consumer over every host's history of the project (not one per host): a
    // thousand hosts cost one scan, not a thousand consumers.
    const histories = await projectHistories(this.connection.desired, `*.${project}`);
    const entries = new Map<string, DesiredEntry>();
    for (const [key, history] of histories) {
      const entry = history[history.length - 1] as KvEntry;
      const hostId = key.slice(0, key.length - project.length - 1);
      if (entry.operation !== 'PUT') continue;
      // The newest good document of the key's history: a replayed older one is damage too, or the
      // next write would reuse a revision the agent already holds (and silently ignores).
      let lastGood: HostDesired | undefined;
      for (const old of history) {
        if (old.operation !== 'PUT' || old.revision >= entry.revision) continue;
        const candidate = this.#acceptableDesired(old.value, hostId, project);
        if (candidate && (!lastGood || candidate.revision > lastGood.revision)) lastGood = candidate;
      }
      const document = this.#acceptableDesired(entry.value, hostId, project);
      if (document && (!lastGood || document.revision > lastGood.revision)) {
        entries.set(hostId, { document, kvRevision: entry.revision });
        continue;
      }
      entries.set(hostId, { document: lastGood ?? { hostId, project, revision: entry.revision, services: {}, allowEmpty: false }, kvRevision: entry.revision, damaged: true });
    }
    await this.#markUnsignedTimes(entries);
    return entries;
  }

  /**
   * Every value the desired bucket keeps of one project (on one host, or on every host), oldest
   * first per host: each with its KV revision and storage time, and the document if its agent
   * would accept it (a damaged or refused value has none). Delete markers are left out.
   */
  async desiredHistory(project: string, hostId?: string): Promise<Map<string, StoredDesired[]>> {
    const histories = await projectHistories(this.connection.desired, `${hostId ?? '*'}.${project}`);
    const byHost = new Map<string, StoredDesired[]>();
    for (const [key, history] of [...histories].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const host = key.slice(0, key.length - project.length - 1);
      byHost.set(
        host,
        history.filter((entry) => entry.operation === 'PUT').map((entry): StoredDesired => {
          const document = this.#acceptableDesired(entry.value, host, project);
          return { kvRevision: entry.revision, storedAt: entry.created.toISOString(), ...(document === undefined ? {} : { document }) };
        }),
      );
    }
    return byHost;
  }

  /**
   * A document signed without a signing time (by a coordinator before schema 3) is refused by an
   * agent of this schema whose journal holds nothing of the key (shared/replay-window.ts): where
   * the host's agent reads the signing time, the next apply writes it again, signed now.
   */
  async #markUnsignedTimes(entries: Map<string, DesiredEntry>): Promise<void> {
    const unsigned = [...entries].filter(([, entry]) => !entry.damaged && entry.document.signedAt === undefined).map(([hostId]) => hostId);
    await runBounded(unsigned, PIPELINED_GETS, async (hostId) => {
      const registration = await this.#registrationOf(hostId);
      const entry = entries.get(hostId);
      if (entry && registration && (registration.desiredSchema ?? 1) >= SIGNED_AT_SCHEMA) entries.set(hostId, { ...entry, damaged: true });
    });
  }

  /**
   * Signs the document, then compare-and-set: writes only if the key is still at expectedRevision
   * (0: must not exist). A write NATS does not answer (a timeout, or no responder while a cluster
   * elects the stream's leader) may or may not have landed: the key is read again,
   * and the write counts as done when the key holds exactly these bytes (ed25519 signatures are
   * deterministic), is sent again when the key has not moved, and fails only when someone else wrote.
   */
  async writeDesired(unstamped: HostDesired, expectedRevision: number): Promise<number> {
    const key = desiredKey(unstamped.hostId, unstamped.project);
    this.requireSigner('writing desired state');
    // Signing time and author are this write's own, never an older document's (rollback --to rewrites one).
    const { signedAt: _previous, author: _author, ...content } = unstamped;
    // The signing time (the agents' replay window, shared/replay-window.ts) for every agent that reads it: an older one refuses the field.
    const registration = await this.#registrationOf(unstamped.hostId);
    const reads = (schema: number): boolean => registration === undefined || (registration.desiredSchema ?? 1) >= schema;
    const signer = this.signer as DesiredSigner;
    const document = stampSchema({ ...content, ...(reads(SIGNED_AT_SCHEMA) ? { signedAt: new Date().toISOString() } : {}), ...(reads(AUTHOR_SCHEMA) ? { author: { ...this.authorClaims, key: signer.publicKey } } : {}) });
    const tooOld = await this.#agentTooOld(document);
    if (tooOld) throw new InvalidInputError(tooOld);
    const value = signDocument(encode(document), signer);
    await retryUnanswered(() => this.#ensureDesiredFeed(document.hostId));
    const kv = this.connection.desired;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return expectedRevision === 0 ? await kv.create(key, value) : await kv.update(key, value, expectedRevision);
      } catch (error) {
        if (!isUnanswered(error)) throw new HostwrightError(`desired state of ${key} changed since it was read (compare-and-set failed: ${errorMessage(error)}); run the command again`, { cause: error });
        if (attempt >= WRITE_ATTEMPTS) throw new HostwrightError(`desired state of ${key} was not written: NATS did not answer ${attempt} attempts; run the command again`, { cause: error });
        const current = await retryUnanswered(() => kv.get(key));
        if (current?.operation === 'PUT' && sameBytes(current.value, value)) return current.revision;
        const unmoved = expectedRevision === 0 ? current === null || current.operation !== 'PUT' : current?.revision === expectedRevision;
        if (!unmoved) throw new HostwrightError(`desired state of ${key} changed since it was read (another write landed while ours timed out); run the command again`, { cause: error });
      }
    }
  }

  /**
   * Asks a host's agent to plan a candidate against its live observation; undefined when it does
   * not answer in time. The reply comes in parts (shared/plan-reply-parts.ts), at most
   * MAX_PLAN_REPLY_PARTS of them, each checked as it arrives.
   */
  async requestPlan(candidate: HostDesired, correlationID: string, timeoutMs: number): Promise<PlanReply | undefined> {
    const { nc } = this.connection;
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, { max: MAX_PLAN_REPLY_PARTS, timeout: timeoutMs });
    const assembler = new ReplyAssembler();
    nc.publish(planRpcSubject(candidate.hostId), encode({ correlationID, candidate: stampSchema(candidate) }), { reply: inbox });
    try {
      for await (const msg of sub) {
        // A stopped agent has no subscription: the server answers at once with "no responders".
        if (msg.headers?.code === 503) return undefined;
        const whole = assembler.add(msg.data);
        if (whole) return decode(planReplySchema, whole, `plan reply of ${candidate.hostId}`);
      }
      return undefined;
    } catch (error) {
      if (isRequestTimeout(error)) return undefined;
      throw error;
    } finally {
      sub.unsubscribe();
    }
  }

  /**
   * Asks a host's agent to lift a project's rejection (and cut its backoff short) and try its
   * revision again; undefined when no agent of that host answers in time.
   */
  async requestRetry(hostId: string, project: string, correlationID: string, timeoutMs: number): Promise<RetryReply | undefined> {
    return this.#requestOne(retryRpcSubject(hostId), await this.#requestBody({ correlationID, project }, hostId), retryReplySchema, `retry reply of ${hostId}`, timeoutMs);
  }

  /**
   * Asks a host's agent to pull what the candidate revision needs and the host lacks, before it is
   * rolled out; resolves when its pulls ended, undefined when no agent answers in time.
   */
  async requestPull(candidate: HostDesired, correlationID: string, timeoutMs: number): Promise<PullReply | undefined> {
    return this.#requestOne(pullRpcSubject(candidate.hostId), await this.#requestBody({ correlationID, candidate }, candidate.hostId), pullReplySchema, `pull reply of ${candidate.hostId}`, timeoutMs);
  }

  /**
   * A retry or pull request as agents that pin the coordinator key act on it: signed, sealed for the
   * host, valid for a minute, with a nonce of its own (shared/signed-request.ts). Without a signing
   * key it goes unsigned, which only agents started with --allow-unsigned accept; so it does to an
   * agent whose registration says it reads no signed request (an older version, which pins no
   * request signature anyway).
   */
  async #requestBody(body: object, hostId: string): Promise<Uint8Array> {
    if (!this.signer) return encode(body);
    const registration = await this.#registrationOf(hostId);
    if (registration !== undefined && registration.signedRequests !== true) return encode(body);
    return signRequest(body, hostId, this.signer, Date.now(), randomBytes(16).toString('hex'));
  }

  /** One request, one reply: undefined when nobody answers in time (or no agent listens). */
  async #requestOne<T>(subject: string, body: Uint8Array, schema: z.ZodType<T>, what: string, timeoutMs: number): Promise<T | undefined> {
    const { nc } = this.connection;
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, { max: 1, timeout: timeoutMs });
    nc.publish(subject, body, { reply: inbox });
    try {
      for await (const msg of sub) {
        // A stopped agent has no subscription: the server answers at once with "no responders".
        if (msg.headers?.code === 503) return undefined;
        if (msg.data.byteLength > MAX_WIRE_BYTES) throw new HostwrightError(`the ${what} is larger than ${MAX_WIRE_BYTES} bytes`);
        return decode(schema, msg.data, what);
      }
      return undefined;
    } catch (error) {
      if (isRequestTimeout(error)) return undefined;
      throw error;
    } finally {
      sub.unsubscribe();
    }
  }

  /**
   * Makes the host's desired-state feed unless it exists: the one consumer its agent reads
   * through (it may create none). When the host's agent registered with a journal the feed was
   * not made for (a new data dir), the feed is made again, so the agent gets every desired
   * document from the start.
   */
  async #ensureDesiredFeed(hostId: string): Promise<void> {
    if (this.#feedsReady.has(hostId)) return;
    const { jsm } = this.connection;
    const name = desiredFeedConsumer(hostId);
    let journalId = this.#journalIds.get(hostId);
    if (journalId === undefined) {
      const entry = await this.connection.hosts.get(hostId);
      journalId = entry?.operation === 'PUT' ? this.openRegistration(entry.value, hostId).value?.journalId : undefined;
    }
    const description = `Hostwright: desired state of host ${hostId}, for journal ${journalId ?? 'unknown'}`;
    const existing = await jsm.consumers.info(DESIRED_STREAM, name).catch((error: unknown) => {
      if (/consumer not found/i.test(errorMessage(error))) return undefined;
      throw error;
    });
    if (existing && journalId !== undefined && existing.config.description !== description) await jsm.consumers.delete(DESIRED_STREAM, name);
    if (!existing || (journalId !== undefined && existing.config.description !== description)) {
      await jsm.consumers.add(DESIRED_STREAM, {
        durable_name: name,
        description,
        filter_subject: kvKeySubject(BUCKETS.desired, `${hostId}.>`),
        deliver_policy: DeliverPolicy.LastPerSubject,
        ack_policy: AckPolicy.Explicit,
        // One document at a time, in order: one the agent could not store comes again before any newer one.
        max_ack_pending: 1,
        ack_wait: 30_000_000_000,
        max_waiting: 16,
        max_expires: 60_000_000_000,
      });
    }
    this.#feedsReady.add(hostId);
  }

  /**
   * Events from the stream, oldest first, each opened as a report of the host its subject names.
   * Without follow the read ends once it has delivered as many messages as matched when it began
   * (or one says nothing is pending), and in any case after READ_SILENCE_MS without a message:
   * an ordered consumer that nats.js recreates after missed heartbeats may never deliver a last
   * message. With follow it goes on until the signal aborts.
   */
  async events(query: EventQuery, onEvent: (event: StreamEvent) => void): Promise<void> {
    const { consumer, info } = await retryUnanswered(async () => {
      const ordered = await this.connection.js.consumers.get(EVENTS_STREAM, {
        filter_subjects: eventFilter(query),
        ...(query.since ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: query.since.toISOString() } : { deliver_policy: DeliverPolicy.All }),
      });
      return { consumer: ordered, info: await ordered.info(true) };
    });
    const matching = info.num_pending;
    if (!query.follow && matching === 0) return;
    const messages = await consumer.consume();
    const stop = () => void messages.close();
    query.signal?.addEventListener('abort', stop, { once: true });
    let silence: NodeJS.Timeout | undefined;
    const quietFor = () => {
      clearTimeout(silence);
      if (!query.follow) silence = setTimeout(stop, READ_SILENCE_MS);
    };
    quietFor();
    const seen = new Set<string>();
    let lastSeq = 0;
    let delivered = 0;
    try {
      for await (const msg of messages as AsyncIterable<JsMsg>) {
        quietFor();
        // A recreated consumer starts after the last sequence it delivered: nothing counts twice.
        if (msg.seq <= lastSeq) continue;
        lastSeq = msg.seq;
        delivered += 1;
        this.#deliverEvent(msg, seen, onEvent);
        if (!query.follow && (delivered >= matching || msg.info.pending === 0)) break;
      }
    } finally {
      clearTimeout(silence);
      query.signal?.removeEventListener('abort', stop);
      await messages.close();
    }
  }

  #deliverEvent(msg: JsMsg, seen: Set<string>, onEvent: (event: StreamEvent) => void): void {
    const [, , hostId = '', project = '', type = ''] = msg.subject.split('.');
    const report = openReport(hostwrightEventSchema, msg.data, { hostId, what: `event subject ${msg.subject}`, check: (event) => (event.project !== project || event.type !== type ? `the payload is a ${event.type} event of project ${event.project}, but it arrived on ${msg.subject}` : undefined) }, this.hostKeys);
    if (!report.value) {
      onEvent({ refused: { subject: msg.subject, seq: msg.seq, hostId, reason: report.trust.verdict === 'refused' ? report.trust.reason : 'refused' } });
      return;
    }
    // The stream de-duplicates by msg id within its window; ids make a late re-send harmless too.
    if (seen.has(report.value.id)) return;
    seen.add(report.value.id);
    onEvent({ event: report.value, trust: report.trust });
  }

  /** Refuses, before any of them is written, documents their hosts' agents cannot read, naming every such host. */
  async checkAgentVersions(documents: readonly HostDesired[]): Promise<void> {
    const reasons = (await Promise.all(documents.map((document) => this.#agentTooOld(stampSchema(document))))).filter((reason): reason is string => reason !== undefined);
    if (reasons.length > 0) throw new InvalidInputError(reasons.join('\n'));
  }

  /** Why the host's registered agent cannot read the document; undefined when it can, or has not registered. */
  async #agentTooOld(document: HostDesired): Promise<string | undefined> {
    const registration = await this.#registrationOf(document.hostId);
    return registration === undefined ? undefined : agentTooOld(document, registration);
  }

  /** The host's registration, undefined when it has none (or a refused one). */
  async #registrationOf(hostId: string): Promise<HostRegistration | undefined> {
    let registration = this.#registrations.get(hostId);
    if (registration === undefined && !this.#unregistered.has(hostId)) {
      const entry = await retryUnanswered(() => this.connection.hosts.get(hostId));
      registration = entry?.operation === 'PUT' ? this.openRegistration(entry.value, hostId).value : undefined;
      // Looked up once per client: a write after apply's up-front check costs no second round trip.
      if (registration === undefined) this.#unregistered.add(hostId);
      else this.#registrations.set(hostId, registration);
    }
    return registration;
  }

  /** Every host that holds (or held) desired state, with those projects, from the bucket's key listing: no value is read. */
  async desiredProjectsByHost(): Promise<Map<string, string[]>> {
    const byHost = new Map<string, string[]>();
    for (const key of await keysWithin(this.connection, 'desired')) {
      // `<hostId>.<project>`: a host id has no dot.
      const dot = key.indexOf('.');
      // The host's mesh document shares its feed, and is no project.
      if (dot <= 0 || key === meshDesiredKey(key.slice(0, dot))) continue;
      const hostId = key.slice(0, dot);
      byHost.set(hostId, [...(byHost.get(hostId) ?? []), key.slice(dot + 1)]);
    }
    return byHost;
  }

  /** The current document of each (host, project) key whose agent would accept it; keys without one are left out. */
  async currentDesired(keys: readonly { readonly hostId: string; readonly project: string }[]): Promise<HostDesired[]> {
    const entries = await retryUnanswered(() => latestEntries(this.connection.desired, keys.map((key) => desiredKey(key.hostId, key.project))));
    return entries.flatMap(([, entry], index) => {
      const key = keys[index];
      if (!entry || entry.operation !== 'PUT' || !key) return [];
      const document = this.#acceptableDesired(entry.value, key.hostId, key.project);
      return document ? [document] : [];
    });
  }

  /** Every host the fleet knows of: registered, reporting status, or holding desired state; sorted. */
  async knownHostIds(): Promise<string[]> {
    const [registered, reporting, desired] = await Promise.all([keysWithin(this.connection, 'hosts'), keysWithin(this.connection, 'status'), this.desiredProjectsByHost()]);
    return [...new Set([...registered, ...reporting, ...desired.keys()])].sort();
  }

  newCorrelationID(): string {
    return randomUUID();
  }

  /** The document if its agent would accept it (the same checks as agent/fleet/desired-watcher.ts). */
  #acceptableDesired(value: Uint8Array, hostId: string, project: string): HostDesired | undefined {
    if (value.byteLength > MAX_WIRE_BYTES) return undefined;
    try {
      const document = this.openDesired(value, 'desired state');
      return document.hostId === hostId && document.project === project ? document : undefined;
    } catch {
      return undefined;
    }
  }
}

function integrityChecked(value: Uint8Array): Uint8Array {
  const envelope = openSignedDocument(value);
  if (!signatureHolds(envelope)) throw new HostwrightError('the signature does not match the document bytes');
  return envelope.document;
}

/** A read of events without follow ends after this long without a message. */
const READ_SILENCE_MS = 10_000;

/** Gets in flight at once when reading a whole bucket: one awaited get per key cost a round trip each. */
const PIPELINED_GETS = 64;
/** Attempts of one desired-state write whose answer times out. */
const WRITE_ATTEMPTS = 4;

/** The request's own timeout (nats.js names it in the error's name or message): no agent answered in time. */
function isRequestTimeout(error: unknown): boolean {
  return /timeout/i.test(`${(error as { name?: string }).name ?? ''} ${errorMessage(error)}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Every key's latest entry, in key order, with up to PIPELINED_GETS gets in flight. */
function latestEntries(kv: KV, names: readonly string[]): Promise<[string, KvEntry | null][]> {
  return runBounded(names, PIPELINED_GETS, async (key): Promise<[string, KvEntry | null]> => [key, await kv.get(key)]);
}

async function readAll<T>(connection: FleetConnection, bucket: 'hosts' | 'status', open: (value: Uint8Array, hostId: string) => HostReport<T>): Promise<HostReport<T>[]> {
  const reports: HostReport<T>[] = [];
  for (const [key, entry] of await latestEntries(connection[bucket], await keysWithin(connection, bucket))) {
    if (!entry || entry.operation !== 'PUT') continue;
    reports.push(open(entry.value, key));
  }
  return reports;
}

/** Every host's history of a project: up to DESIRED_HISTORY values per host, so more time than a key listing. */
const HISTORY_SCAN_TIMEOUT_MS = 30_000;

/**
 * The keys of a bucket, from its stream's subject list: one request and no consumer. (A listing
 * consumer on a bucket written every second, as hosts' heartbeats are, could keep delivering and
 * never finish.) Keys whose last value is a delete marker are listed too; readers skip them.
 */
export async function keysWithin(connection: FleetConnection, bucket: 'hosts' | 'status' | 'rollouts' | 'desired' | 'hostctl'): Promise<string[]> {
  const prefix = `$KV.${BUCKETS[bucket]}.`;
  const info = await retryUnanswered(() => connection.jsm.streams.info(`KV_${BUCKETS[bucket]}`, { subjects_filter: `${prefix}>` }));
  return Object.keys(info.state.subjects ?? {})
    .map((subject) => subject.slice(prefix.length))
    .sort();
}

/** Every entry the bucket keeps of the keys matching filter, oldest first per key. */
function projectHistories(kv: KV, filter: string): Promise<Map<string, KvEntry[]>> {
  return retryUnanswered(
    async () => {
      const histories = new Map<string, KvEntry[]>();
      await drainWithin(() => kv.history({ key: filter }), (entry) => {
        const history = histories.get(entry.key);
        if (history) history.push(entry);
        else histories.set(entry.key, [entry]);
      }, HISTORY_SCAN_TIMEOUT_MS);
      for (const history of histories.values()) history.sort((a, b) => a.revision - b.revision);
      return histories;
    },
    { retryable: (error) => isUnanswered(error) || error instanceof KeyListingStalledError },
  );
}

class KeyListingStalledError extends HostwrightError {
  override readonly name = 'KeyListingStalledError';
}


/**
 * Reads a KV listing (keys, history) to its end, opening included. It rides on an ordered consumer
 * that, right after a NATS node died (and rarely on a busy single server), never finishes: it can
 * keep being reset and delivering again. Give up after a fixed time, so the listing can be retried.
 */
async function drainWithin<T>(open: () => Promise<AsyncIterable<T> & { stop(): void }>, onItem: (item: T) => void, limitMs: number): Promise<void> {
  let iterator: (AsyncIterable<T> & { stop(): void }) | undefined;
  let gaveUp = false;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      gaveUp = true;
      iterator?.stop();
      reject(new KeyListingStalledError(`listing keys of a NATS KV bucket took over ${limitMs / 1000} s (a NATS node may have just failed); run the command again`));
    }, limitMs);
  });
  try {
    await Promise.race([
      (async () => {
        iterator = await open();
        // Opened after the time was up: nobody reads it any more.
        if (gaveUp) iterator.stop();
        for await (const item of iterator) onItem(item);
      })(),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
