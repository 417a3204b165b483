import type { EndpointInstance, EndpointRecord } from '../../shared/endpoint-record.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { LABELS } from '../../shared/labels.js';

/** What the records need of a container as the runtime lists it. */
export interface EndpointContainer {
  readonly name: string;
  readonly state: string;
  readonly health: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly addresses?: Readonly<Record<string, string>>;
  readonly ports?: readonly { readonly port: number; readonly protocol: 'tcp' | 'udp' }[];
}

/** A network as the runtime lists it. */
export interface EndpointNetwork {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** What the host publishes of a service: its running instances that are healthy or have no healthcheck. */
function reachable(container: EndpointContainer): boolean {
  return container.state === 'running' && (container.health === 'none' || container.health === 'healthy');
}

/**
 * The endpoint records this host publishes: one per service of each project spread over hosts (a
 * desired document with `remotes`), listing the service's reachable instances here, with their
 * addresses by the project's network keys, and how many of its instances run at all. A service with none gets a record with no instances,
 * which withdraws it. Single-host projects publish nothing. Pure: containers, networks and the
 * time come in.
 */
export function endpointRecords(hostId: string, documents: readonly HostDesired[], containers: readonly EndpointContainer[], networks: readonly EndpointNetwork[], namePrefix: string, now: Date): EndpointRecord[] {
  const refreshedAt = now.toISOString();
  const records: EndpointRecord[] = [];
  for (const document of documents) {
    if (document.remotes === undefined) continue;
    // The engine's network names of this project, by their key in the project (`default`, `back`).
    const networkKeys = new Map(networks.filter((network) => network.labels[LABELS.project] === document.project && network.labels[LABELS.host] === hostId && network.labels[LABELS.network] !== undefined).map((network) => [network.name, network.labels[LABELS.network] as string]));
    for (const service of Object.keys(document.services).sort()) {
      const instances: EndpointInstance[] = containers
        .filter((c) => c.labels[LABELS.host] === hostId && c.labels[LABELS.project] === document.project && c.labels[LABELS.service] === service && reachable(c))
        .map((c) => ({
          name: c.name.startsWith(namePrefix) ? c.name.slice(namePrefix.length) : c.name,
          instance: Number(c.labels[LABELS.instance] ?? 0) || 1,
          addresses: Object.fromEntries(Object.entries(c.addresses ?? {}).flatMap(([name, address]) => {
            const key = networkKeys.get(name);
            return key === undefined ? [] : [[key, address]];
          })),
          ports: (c.ports ?? []).map((port) => ({ port: port.port, protocol: port.protocol })),
        }))
        .sort((a, b) => a.instance - b.instance);
      const running = containers.filter((c) => c.labels[LABELS.host] === hostId && c.labels[LABELS.project] === document.project && c.labels[LABELS.service] === service && c.state === 'running').length;
      records.push({ hostId, project: document.project, service, instances, running, refreshedAt });
    }
  }
  return records;
}
