import { randomUUID } from 'node:crypto';
import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import { decode, encode } from '../shared/codec.js';
import { HostwrightError, errorMessage } from '../shared/errors.js';
import { hostwrightEventSchema, type HostwrightEvent } from '../shared/events.js';
import { hostDesiredSchema, type HostDesired } from '../shared/host-desired.js';
import { connectFleet, type FleetConnection } from '../shared/nats-connection.js';
import { EVENTS_STREAM, desiredKey, eventFilter, planRpcSubject } from '../shared/subjects.js';
import { MAX_WIRE_BYTES, hostRegistrationSchema, planReplySchema, statusReportSchema, type HostRegistration, type PlanReply, type StatusReport } from '../shared/wire.js';

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
  private constructor(readonly connection: FleetConnection) {}

  static async connect(servers: string, logger: Logger): Promise<FleetClient> {
    return new FleetClient(await connectFleet({ servers, name: 'hostwright-coordinator', logger, waitOnFirstConnect: false, warnWeakDurability: false }));
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  async hosts(): Promise<HostRegistration[]> {
    return readAll(this.connection.hosts, (value, key) => decode(hostRegistrationSchema, value, `host ${key}`));
  }

  async statuses(): Promise<StatusReport[]> {
    return readAll(this.connection.status, (value, key) => decode(statusReportSchema, value, `status of ${key}`));
  }

  /**
   * Every host's desired document of one project, by the host its key names. A value the agent
   * rejects must not lock the coordinator out of the key (it used to fail every apply, or file the
   * entry under another host): such an entry is marked damaged, so the next apply rewrites it.
   */
  async desiredOf(project: string): Promise<Map<string, DesiredEntry>> {
    const entries = new Map<string, DesiredEntry>();
    const keys = await this.connection.desired.keys(`*.${project}`);
    for (const [key, entry] of await latestEntries(this.connection.desired, keys)) {
      const hostId = key.slice(0, key.length - project.length - 1);
      if (!entry || entry.operation !== 'PUT') continue;
      const document = acceptableDesired(entry.value, hostId, project);
      if (document) {
        entries.set(hostId, { document, kvRevision: entry.revision });
        continue;
      }
      let lastGood: HostDesired | undefined;
      for await (const old of await this.connection.desired.history({ key })) {
        if (old.operation === 'PUT' && old.revision < entry.revision) lastGood = acceptableDesired(old.value, hostId, project) ?? lastGood;
      }
      // Without a good one in the history: a document's revision grows by one per write of its key,
      // the KV revision by at least one, so the key's KV revision is never below the agent's.
      entries.set(hostId, { document: lastGood ?? { hostId, project, revision: entry.revision, services: {}, allowEmpty: false }, kvRevision: entry.revision, damaged: true });
    }
    return entries;
  }

  /** Compare-and-set: writes only if the key is still at expectedRevision (0: must not exist). */
  async writeDesired(document: HostDesired, expectedRevision: number): Promise<number> {
    const key = desiredKey(document.hostId, document.project);
    try {
      return expectedRevision === 0 ? await this.connection.desired.create(key, encode(document)) : await this.connection.desired.update(key, encode(document), expectedRevision);
    } catch (error) {
      throw new HostwrightError(`desired state of ${key} changed since it was read (compare-and-set failed: ${errorMessage(error)}); run the command again`, { cause: error });
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
    const consumer = await this.connection.js.consumers.get(EVENTS_STREAM, {
      filter_subjects: eventFilter(query),
      ...(query.since ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: query.since.toISOString() } : { deliver_policy: DeliverPolicy.All }),
    });
    const info = await consumer.info(true);
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
}

/** The document if its agent would accept it (the same checks as agent/fleet/desired-watcher.ts). */
function acceptableDesired(value: Uint8Array, hostId: string, project: string): HostDesired | undefined {
  if (value.byteLength > MAX_WIRE_BYTES) return undefined;
  try {
    const document = decode(hostDesiredSchema, value, 'desired state');
    return document.hostId === hostId && document.project === project ? document : undefined;
  } catch {
    return undefined;
  }
}

/** Gets in flight at once when reading a whole bucket: one awaited get per key cost a round trip each. */
const PIPELINED_GETS = 64;

/** Every key's latest entry, in key order, with up to PIPELINED_GETS gets in flight. */
async function latestEntries(kv: KV, keys: AsyncIterable<string>): Promise<[string, KvEntry | null][]> {
  const names: string[] = [];
  for await (const key of keys) names.push(key);
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

async function readAll<T>(kv: KV, parse: (value: Uint8Array, key: string) => T): Promise<T[]> {
  const values: T[] = [];
  for (const [key, entry] of await latestEntries(kv, await kv.keys())) {
    if (!entry || entry.operation !== 'PUT') continue;
    try {
      values.push(parse(entry.value, key));
    } catch {
      // A value that fails validation is left out rather than breaking the listing.
    }
  }
  return values;
}
