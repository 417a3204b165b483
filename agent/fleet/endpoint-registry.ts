import { EventEmitter } from 'node:events';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { checkEndpointRecord, type EndpointRecord, type RemotePlacement } from '../../shared/endpoint-record.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { ENDPOINTS_FEED_PREFIX, endpointsFeedSubject } from '../../shared/subjects.js';
import { ENDPOINT_REFRESH_MS } from './endpoint-publisher.js';

/** A record not refreshed for this long (by the reader's own clock) is dropped: its host went silent. */
export const ENDPOINT_EXPIRY_MS = 2.5 * ENDPOINT_REFRESH_MS;

/** An address another host's instance of a service is reached at. */
export interface RemoteEndpoint {
  readonly hostId: string;
  readonly service: string;
  /** The instance's name without its host's name prefix (`shop-api-2`), and its number. */
  readonly name: string;
  readonly instance: number;
  readonly address: string;
  /** The project network the address is on. */
  readonly network: string;
}

export interface EndpointChange {
  readonly project: string;
  readonly service: string;
}

interface Held {
  readonly record: EndpointRecord;
  readonly receivedAt: number;
}

/**
 * This host's view of the endpoints of the services its projects have on other hosts. It
 * subscribes only to those services' keys (the placements in its signed desired documents),
 * accepts a record only from a host the desired state placed the service on, signed by that host
 * (shared/endpoint-record.ts), and drops one its host has not refreshed for ENDPOINT_EXPIRY_MS.
 * Emits 'change' (EndpointChange) when what resolve() answers for a service may have changed,
 * and 'refused' ({ key, reason }) for a record it did not accept.
 */
export class EndpointView extends EventEmitter<{ change: [EndpointChange]; refused: [{ key: string; reason: string }] }> {
  /** By project, then service: the hosts it is placed on. */
  #placements = new Map<string, Map<string, RemotePlacement>>();
  #subscriptions = new Map<string, Subscription>();
  /** By key `<host>.<project>.<service>`. */
  #records = new Map<string, Held>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    private readonly hostId: string,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.#sweeper = setInterval(() => this.sweep(), 250);
    this.#sweeper.unref();
  }

  /** Follows the placements of these desired documents (all of the host's): subscribes to new remote services, drops gone ones. */
  setDesired(documents: readonly HostDesired[]): void {
    const placements = new Map<string, Map<string, RemotePlacement>>();
    for (const document of documents) {
      if (document.remotes === undefined) continue;
      placements.set(document.project, new Map(Object.entries(document.remotes).map(([service, hosts]) => [service, Object.fromEntries(Object.entries(hosts).map(([hostId, entry]) => [hostId, entry.key]))])));
    }
    this.#placements = placements;
    const wanted = new Set<string>();
    for (const [project, services] of placements) for (const service of services.keys()) wanted.add(`${project}.${service}`);
    for (const [scope, subscription] of this.#subscriptions) {
      if (wanted.has(scope)) continue;
      subscription.unsubscribe();
      this.#subscriptions.delete(scope);
    }
    for (const scope of wanted) {
      if (this.#subscriptions.has(scope)) continue;
      const [project = '', service = ''] = scope.split('.');
      this.#subscriptions.set(scope, this.nc.subscribe(endpointsFeedSubject(project, service), {
        callback: (error, msg) => {
          if (!error) this.receive(msg.subject.slice(ENDPOINTS_FEED_PREFIX.length + 1), msg.data);
        },
      }));
    }
    // A record whose host is no longer placed goes at once.
    for (const [key, held] of this.#records) {
      if (!Object.hasOwn(this.#placements.get(held.record.project)?.get(held.record.service) ?? {}, held.record.hostId)) this.#drop(key, held);
    }
  }

  /** A record as it arrived on its key (exposed for tests that feed it directly). */
  receive(key: string, data: Uint8Array): void {
    const [hostId = '', project = '', service = ''] = key.split('.');
    if (hostId === this.hostId) return;
    const verdict = checkEndpointRecord(key, data, this.#placements.get(project)?.get(service));
    if ('refused' in verdict) {
      this.emit('refused', { key, reason: verdict.refused });
      return;
    }
    const before = this.#records.get(key);
    this.#records.set(key, { record: verdict.accepted, receivedAt: this.now() });
    // The running count matters too: a started dependency on another host lets dependents start.
    if (!before || JSON.stringify(before.record.instances) !== JSON.stringify(verdict.accepted.instances) || before.record.running !== verdict.accepted.running) this.emit('change', { project, service });
  }

  /** Drops records whose host has not refreshed them for ENDPOINT_EXPIRY_MS. */
  sweep(): void {
    const now = this.now();
    for (const [key, held] of this.#records) if (now - held.receivedAt > ENDPOINT_EXPIRY_MS) this.#drop(key, held);
  }

  #drop(key: string, held: Held): void {
    this.#records.delete(key);
    if (held.record.instances.length > 0) this.emit('change', { project: held.record.project, service: held.record.service });
  }

  /**
   * The addresses `name` resolves to in `project` on other hosts, with compose's names: the service
   * name (every instance), `<service>-<n>` and `<project>-<service>-<n>` (one instance). Only
   * addresses on `network` when given. Sorted by host and instance.
   */
  resolve(project: string, name: string, network?: string): RemoteEndpoint[] {
    const found: RemoteEndpoint[] = [];
    for (const { record } of this.#records.values()) {
      if (record.project !== project) continue;
      for (const instance of record.instances) {
        const named = name === record.service || name === `${record.service}-${instance.instance}` || name === `${project}-${record.service}-${instance.instance}` || name === instance.name;
        if (!named) continue;
        for (const [key, address] of Object.entries(instance.addresses)) {
          if (network === undefined || network === key) found.push({ hostId: record.hostId, service: record.service, name: instance.name, instance: instance.instance, address, network: key });
        }
      }
    }
    return found.sort((a, b) => (a.hostId === b.hostId ? a.instance - b.instance : a.hostId < b.hostId ? -1 : 1));
  }

  /** The accepted records of a service on other hosts (instances may be empty: a host that runs none right now). */
  records(project: string, service: string): EndpointRecord[] {
    return [...this.#records.values()].map((held) => held.record).filter((record) => record.project === project && record.service === service);
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const subscription of this.#subscriptions.values()) subscription.unsubscribe();
    this.#subscriptions.clear();
  }
}
