import type { Attachments } from '../../shared/actions.js';
import { canonicalJson, contentHash } from '../../shared/canonical.js';
import { compareStrings } from '../../shared/compare.js';
import type { ServiceSpec } from '../../shared/fleet-spec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { DEFAULT_NETWORK, namedVolumeOf, serviceNetworkEntries, type NetworkSpec, type VolumeSpec } from '../../shared/project-resources.js';
import { containerName, resourceName, type ResourceKind } from './snapshot.js';

// Pure: which networks and volumes a project's services on this host need, and how each instance is
// plugged into them, with every name resolved to the engine's (the name prefix applies to all of them).

/** A network or volume the desired state needs on this host. */
export interface WantedResource {
  readonly kind: ResourceKind;
  /** Its key in the project (`default`, `data`). */
  readonly resource: string;
  /** The engine's name. */
  readonly name: string;
  /** The operator's: used by name, never created or removed by Hostwright. */
  readonly external: boolean;
  readonly spec: NetworkSpec | VolumeSpec;
  /** What the network or volume is: a change of it means a different one. */
  readonly specHash: string;
}

/** The project's resources this host needs, networks then volumes, each sorted by key. */
export function wantedResources(desired: HostDesired, namePrefix: string): WantedResource[] {
  const networks = new Set<string>();
  const volumes = new Set<string>();
  for (const service of Object.values(desired.services)) {
    if (service.replicas === 0) continue;
    for (const key of networkKeysOf(service)) networks.add(key);
    for (const entry of service.volumes) {
      const volume = namedVolumeOf(entry);
      if (volume !== undefined) volumes.add(volume);
    }
  }
  const wanted: WantedResource[] = [];
  for (const key of [...networks].sort(compareStrings)) {
    const spec: NetworkSpec = (Object.hasOwn(desired.networks ?? {}, key) ? desired.networks?.[key] : undefined) ?? {};
    wanted.push(resourceOf('network', desired.project, key, spec, namePrefix));
  }
  for (const key of [...volumes].sort(compareStrings)) {
    const declared = Object.hasOwn(desired.volumes ?? {}, key) ? desired.volumes?.[key] : undefined;
    // Undeclared (a document made before volumes were declared): the engine volume of that name, as before.
    wanted.push(declared === undefined ? { kind: 'volume', resource: key, name: key, external: true, spec: { external: true }, specHash: '' } : resourceOf('volume', desired.project, key, declared, namePrefix));
  }
  return wanted;
}

function resourceOf(kind: ResourceKind, project: string, key: string, spec: NetworkSpec | VolumeSpec, namePrefix: string): WantedResource {
  if (spec.external) return { kind, resource: key, name: spec.name ?? key, external: true, spec, specHash: '' };
  return { kind, resource: key, name: resourceName(namePrefix, project, key), external: false, spec, specHash: resourceSpecHash(spec) };
}

/** Hash of a network's or volume's definition (its labels included: Docker cannot change them in place either). */
export function resourceSpecHash(spec: NetworkSpec | VolumeSpec): string {
  return contentHash(JSON.parse(canonicalJson(spec)) as unknown);
}

/** The network keys a service joins: none with a network_mode, else its networks, else `default`. */
export function networkKeysOf(service: ServiceSpec): string[] {
  if (service.network_mode !== undefined) return [];
  if (service.networks === undefined) return [DEFAULT_NETWORK];
  return serviceNetworkEntries(service.networks).map(([key]) => key);
}

/**
 * How one instance is plugged in: its network mode, or its networks (sorted by engine name) with
 * the service name and `<service>-<n>` as DNS aliases besides its own, and its named volumes.
 */
export function attachmentsOf(desired: HostDesired, serviceName: string, instance: number, namePrefix: string): Attachments {
  const service = desired.services[serviceName] as ServiceSpec;
  const volumes: Record<string, string> = {};
  for (const entry of service.volumes) {
    const key = namedVolumeOf(entry);
    if (key === undefined) continue;
    const declared = Object.hasOwn(desired.volumes ?? {}, key) ? desired.volumes?.[key] : undefined;
    volumes[key] = declared === undefined ? key : declared.external ? (declared.name ?? key) : resourceName(namePrefix, desired.project, key);
  }
  const mode = service.network_mode;
  if (mode !== undefined) {
    const networkMode = mode.startsWith('service:') ? `container:${containerName(namePrefix, { project: desired.project, service: mode.slice('service:'.length), instance: 1 })}` : mode;
    return { networkMode, networks: [], volumes };
  }
  const entries: [string, { readonly aliases?: readonly string[] | undefined; readonly ipv4_address?: string | undefined }][] = service.networks === undefined ? [[DEFAULT_NETWORK, {}]] : serviceNetworkEntries(service.networks);
  const networks = entries
    .map(([key, attachment]) => {
      const declared = Object.hasOwn(desired.networks ?? {}, key) ? desired.networks?.[key] : undefined;
      const name = declared?.external ? (declared.name ?? key) : resourceName(namePrefix, desired.project, key);
      const aliases = [...new Set([serviceName, `${serviceName}-${instance}`, ...(attachment.aliases ?? [])])].sort(compareStrings);
      return { name, aliases, ...(attachment.ipv4_address === undefined ? {} : { ipv4Address: attachment.ipv4_address }) };
    })
    .sort((a, b) => compareStrings(a.name, b.name));
  return { networks, volumes };
}

/** The engine networks a container with these attachments is on, sorted; undefined when it shares another's stack. */
export function expectedNetworkNames(attach: Attachments): string[] | undefined {
  if (attach.networkMode === undefined) return attach.networks.map((network) => network.name);
  if (attach.networkMode.startsWith('container:')) return undefined;
  return [attach.networkMode];
}
