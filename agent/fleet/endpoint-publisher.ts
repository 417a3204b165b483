import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { encode } from '../../shared/codec.js';
import type { EndpointRecord } from '../../shared/endpoint-record.js';
import { errorMessage } from '../../shared/errors.js';
import { BUCKETS, endpointKey, kvKeySubject } from '../../shared/subjects.js';
import { endpointRecords } from '../core/endpoint-records.js';
import type { AgentHost } from '../agent-host.js';

/**
 * How often a host re-puts its endpoint records. Readers drop a record not refreshed for
 * ENDPOINT_EXPIRY_MS (three periods), so a host that goes silent leaves them within 5 s.
 */
export const ENDPOINT_REFRESH_MS = 1_500;

/**
 * Publishes this host's endpoint records (agent/core/endpoint-records.ts), signed with its host key,
 * every ENDPOINT_REFRESH_MS and at once after each cycle. A record whose service left the host is
 * published once more with no instances (withdrawn at once for every reader) and then no longer.
 */
export class EndpointPublisher {
  /** Keys published last time: one missing now is withdrawn. */
  #published = new Set<string>();
  #running: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly host: AgentHost,
    private readonly namePrefix: string,
    private readonly seal: (bytes: Uint8Array) => Uint8Array,
    private readonly log: Logger,
  ) {}

  /** Refreshes every ENDPOINT_REFRESH_MS until the signal aborts. */
  start(signal: AbortSignal): void {
    const timer = setInterval(() => this.publishSoon(), ENDPOINT_REFRESH_MS);
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    this.publishSoon();
  }

  /** One publication at a time; those asked for meanwhile become one more. */
  publishSoon(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#publish().catch((error: unknown) => this.log.debug({ error: errorMessage(error) }, 'endpoints not published'));
      } while (this.#again);
    })().finally(() => (this.#running = undefined));
  }

  /** Withdraws every record this host published (an orderly stop), so readers need not wait for the expiry. */
  async withdrawAll(): Promise<void> {
    const now = new Date().toISOString();
    await Promise.all([...this.#published].map((key) => {
      const [hostId = '', project = '', service = ''] = key.split('.');
      return this.#put({ hostId, project, service, instances: [], refreshedAt: now }).catch(() => undefined);
    }));
    this.#published.clear();
  }

  async #publish(): Promise<void> {
    const { hostId, journal, runtime } = this.host;
    const documents = await journal.desiredDocuments();
    if (documents.every((document) => document.remotes === undefined) && this.#published.size === 0) return;
    const [containers, networks] = await Promise.all([runtime.listContainers(), runtime.listNetworks()]);
    const now = new Date();
    const records = endpointRecords(hostId, documents, containers, networks, this.namePrefix, now);
    const keys = new Set(records.map((record) => endpointKey(record.hostId, record.project, record.service)));
    for (const key of this.#published) {
      if (keys.has(key)) continue;
      const [, project = '', service = ''] = key.split('.');
      records.push({ hostId, project, service, instances: [], refreshedAt: now.toISOString() });
    }
    await Promise.all(records.map((record) => this.#put(record)));
    this.#published = keys;
  }

  async #put(record: EndpointRecord): Promise<void> {
    await this.js.publish(kvKeySubject(BUCKETS.endpoints, endpointKey(record.hostId, record.project, record.service)), this.seal(encode(record)));
  }
}
