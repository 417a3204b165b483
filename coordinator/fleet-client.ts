import { randomUUID } from 'node:crypto';
import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import { decode, encode } from '../shared/codec.js';
import { HostwrightError, InvalidInputError, errorMessage } from '../shared/errors.js';
import { hostwrightEventSchema, type HostwrightEvent } from '../shared/events.js';
import { hostDesiredSchema, type HostDesired } from '../shared/host-desired.js';
import { connectFleet, isUnanswered, retryUnanswered, type FleetConnection, type NatsAccess } from '../shared/nats-connection.js';
import { openSignedDocument, signDocument, signatureHolds, verifySignedDocument } from '../shared/signed-document.js';
import { BUCKETS, EVENTS_STREAM, desiredKey, eventFilter, planRpcSubject } from '../shared/subjects.js';
import { MAX_WIRE_BYTES, hostRegistrationSchema, planReplySchema, statusReportSchema, type HostRegistration, type PlanReply, type StatusReport } from '../shared/wire.js';
import type { DesiredSigner } from './signing-key.js';

export interface DesiredEntry {
  readonly document: HostDesired;
  /** The KV revision, for compare-and-set. */
  readonly kvRevision: number;
  /**
   * The key holds a value its agent rejects (not a document, too large, another host's): `document`
   * is then the key's last good one (or a stand-in with a revision no document of the key can exceed).
   */
  readonly damaged?: boolean;
}

export interface EventQuery {
  readonly hostId?: string;
  readonly project?: string;
  readonly type?: string;
  readonly since?: Date;
  readonly follow: boolean;
  readonly signal?: AbortSignal;
}

/** The coordinator's view of the fleet over NATS: hosts, desired state (CAS), status, events, plan requests. */
export class FleetClient {
  private constructor(
    readonly connection: FleetConnection,
    private readonly signer: DesiredSigner | undefined,
  ) {}

  /** Without a signer the client reads, plans and watches, but cannot write desired state. */
  static async connect(servers: string, logger: Logger, access: NatsAccess = {}, signer?: DesiredSigner): Promise<FleetClient> {
    return new FleetClient(await connectFleet({ servers, name: 'hostwright-coordinator', logger, waitOnFirstConnect: false, warnWeakDurability: false, access }), signer);
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

  async hosts(): Promise<HostRegistration[]> {
    return readAll(this.connection, 'hosts', (value, key) => decode(hostRegistrationSchema, value, `host ${key}`));
  }

  async statuses(): Promise<StatusReport[]> {
    return readAll(this.connection, 'status', (value, key) => decode(statusReportSchema, value, `status of ${key}`));
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
    return entries;
  }

  /**
   * Signs the document, then compare-and-set: writes only if the key is still at expectedRevision
   * (0: must not exist). A write NATS does not answer (a timeout, or no responder while a cluster
   * elects the stream's leader) may or may not have landed: the key is read again,
   * and the write counts as done when the key holds exactly these bytes (ed25519 signatures are
   * deterministic), is sent again when the key has not moved, and fails only when someone else wrote.
   */
  async writeDesired(document: HostDesired, expectedRevision: number): Promise<number> {
    const key = desiredKey(document.hostId, document.project);
    this.requireSigner('writing desired state');
    const value = signDocument(encode(document), this.signer as DesiredSigner);
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

  /** Asks a host's agent to plan a candidate against its live observation; undefined when it does not answer in time. */
  async requestPlan(candidate: HostDesired, correlationID: string, timeoutMs: number): Promise<PlanReply | undefined> {
    try {
      const reply = await this.connection.nc.request(planRpcSubject(candidate.hostId), encode({ correlationID, candidate }), { timeout: timeoutMs });
      return decode(planReplySchema, reply.data, `plan reply of ${candidate.hostId}`);
    } catch (error) {
      // A stopped agent has no subscription: the server answers at once with "no responders: <subject>"
      // (with a space), which is as much "no answer" as a timeout; it used to fail the whole command.
      const code = (error as { code?: string; name?: string }).name ?? '';
      if (/timeout|no ?responders|503/i.test(`${code} ${errorMessage(error)}`)) return undefined;
      throw error;
    }
  }

  /** Events from the stream, oldest first; with follow, keeps delivering until the signal aborts. */
  async events(query: EventQuery, onEvent: (event: HostwrightEvent) => void): Promise<void> {
    const { consumer, info } = await retryUnanswered(async () => {
      const ordered = await this.connection.js.consumers.get(EVENTS_STREAM, {
        filter_subjects: eventFilter(query),
        ...(query.since ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: query.since.toISOString() } : { deliver_policy: DeliverPolicy.All }),
      });
      return { consumer: ordered, info: await ordered.info(true) };
    });
    let remaining = info.num_pending;
    if (!query.follow && remaining === 0) return;
    const messages = await consumer.consume();
    query.signal?.addEventListener('abort', () => void messages.close(), { once: true });
    const seen = new Set<string>();
    for await (const msg of messages as AsyncIterable<JsMsg>) {
      remaining = msg.info.pending;
      try {
        const event = decode(hostwrightEventSchema, msg.data, 'event');
        // The stream de-duplicates by msg id within its window; ids make a late re-send harmless too.
        if (!seen.has(event.id)) {
          seen.add(event.id);
          onEvent(event);
        }
      } catch {
        // A malformed message on the stream is skipped, not fatal to the reader.
      }
      if (!query.follow && remaining === 0) break;
    }
    await messages.close();
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

/** Gets in flight at once when reading a whole bucket: one awaited get per key cost a round trip each. */
const PIPELINED_GETS = 64;
/** Attempts of one desired-state write whose answer times out. */
const WRITE_ATTEMPTS = 4;

/** Every key's latest entry, in key order, with up to PIPELINED_GETS gets in flight. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

async function latestEntries(kv: KV, names: readonly string[]): Promise<[string, KvEntry | null][]> {
  const entries: [string, KvEntry | null][] = names.map((key) => [key, null]);
  let next = 0;
  const lanes = Array.from({ length: Math.min(PIPELINED_GETS, names.length) }, async () => {
    while (next < names.length) {
      const index = next;
      next += 1;
      entries[index] = [names[index] as string, await kv.get(names[index] as string)];
    }
  });
  await Promise.all(lanes);
  return entries;
}

async function readAll<T>(connection: FleetConnection, bucket: 'hosts' | 'status', parse: (value: Uint8Array, key: string) => T): Promise<T[]> {
  const values: T[] = [];
  for (const [key, entry] of await latestEntries(connection[bucket], await keysWithin(connection, bucket))) {
    if (!entry || entry.operation !== 'PUT') continue;
    try {
      values.push(parse(entry.value, key));
    } catch {
      // A value that fails validation is left out rather than breaking the listing.
    }
  }
  return values;
}

/** Every host's history of a project: up to 16 values per host, so more time than a key listing. */
const HISTORY_SCAN_TIMEOUT_MS = 30_000;

/**
 * The keys of a bucket, from its stream's subject list: one request and no consumer. (A listing
 * consumer on a bucket written every second, as hosts' heartbeats are, could keep delivering and
 * never finish.) Keys whose last value is a delete marker are listed too; readers skip them.
 */
export async function keysWithin(connection: FleetConnection, bucket: 'hosts' | 'status' | 'rollouts'): Promise<string[]> {
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
