import { contentHash } from '../shared/canonical.js';
import { maskServices } from '../shared/secret-env.js';
import { validate } from '../shared/codec.js';
import { InvalidInputError } from '../shared/errors.js';
import type { FleetFile, Placement, ServiceSpec } from '../shared/fleet-spec.js';
import { hostDesiredSchema, instanceCount } from '../shared/host-desired.js';
import type { HostDesired } from '../shared/host-desired.js';
import { MAX_INSTANCES_PER_HOST } from '../shared/limits.js';
import { DEFAULT_NETWORK, namedVolumeOf, serviceNetworkEntries, type NetworkSpec, type VolumeSpec } from '../shared/project-resources.js';

export interface HostInfo {
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A fleet file's placement worked out once for all its hosts: service names in order, host lists as sets. */
export interface FleetPlacement {
  readonly fleet: FleetFile;
  readonly names: readonly string[];
  readonly hostSets: ReadonlyMap<string, ReadonlySet<string>>;
}

export function placementOf(fleet: FleetFile): FleetPlacement {
  const hostSets = new Map<string, ReadonlySet<string>>();
  for (const [name, service] of Object.entries(fleet.services)) {
    if (service.placement && 'hosts' in service.placement) hostSets.set(name, new Set(service.placement.hosts));
  }
  // Sorted once: the document's key order, and so its JSON, is independent of the file's order.
  return { fleet, names: Object.keys(fleet.services).sort(), hostSets };
}

/**
 * The services of `fleet` that run on `host`, keyed by name in sorted order, without their
 * `placement` (the host runs the rest of the spec as is).
 */
export function placeServices(fleet: FleetFile, host: HostInfo): Record<string, ServiceSpec> {
  return selectServices(placementOf(fleet), host, false);
}

/**
 * The desired-state document for one host, validated against hostDesiredSchema. Pass `placement`
 * (from placementOf) when making the documents of many hosts from one fleet file.
 */
export function desiredForHost(
  fleet: FleetFile,
  host: HostInfo,
  options: { revision: number; allowEmpty?: boolean; pruneVolumes?: boolean; correlationID?: string; ignorePlacement?: boolean; placement?: FleetPlacement; leaveOut?: ReadonlySet<string> },
): HostDesired {
  const placement = options.placement?.fleet === fleet ? options.placement : placementOf(fleet);
  const services = selectServices(placement, host, options.ignorePlacement ?? false, options.leaveOut);
  const instances = instanceCount(services);
  if (instances > MAX_INSTANCES_PER_HOST) {
    throw new InvalidInputError(`project ${fleet.project} places ${instances} instances on host ${host.hostId}: at most ${MAX_INSTANCES_PER_HOST} instances of a project may run on one host (lower replicas, or spread the services over more hosts with placement)`);
  }
  for (const [name, service] of Object.entries(services)) {
    const target = service.network_mode?.startsWith('service:') ? service.network_mode.slice('service:'.length) : undefined;
    if (target !== undefined && !Object.hasOwn(services, target)) {
      throw new InvalidInputError(`project ${fleet.project}: service ${name} shares the network stack of ${target} (network_mode: service:${target}), but ${target} is not placed on host ${host.hostId}; place both on the same hosts`);
    }
  }
  const { networks, volumes } = resourcesUsedBy(fleet, services);
  const document: HostDesired = {
    hostId: host.hostId,
    project: fleet.project,
    revision: options.revision,
    ...(fleet.drift === undefined ? {} : { drift: fleet.drift }),
    services,
    ...(networks === undefined ? {} : { networks }),
    ...(volumes === undefined ? {} : { volumes }),
    allowEmpty: options.allowEmpty ?? false,
    ...(options.pruneVolumes === true ? { pruneVolumes: true } : {}),
    ...(options.correlationID === undefined ? {} : { correlationID: options.correlationID }),
  };
  return validate(hostDesiredSchema, document, `desired state of project ${fleet.project} for host ${host.hostId}`);
}

/**
 * The document as it will be written over `current` (the host's stored one): its own content
 * under the next revision, or the current revision when the content is already there. What a
 * command shows before writing must be this, the revision the write will give it.
 */
export function asWrittenOver(current: HostDesired | undefined, document: HostDesired): { document: HostDesired; changed: boolean } {
  if (current && desiredContentHash(current) === desiredContentHash(document)) return { document: { ...document, revision: current.revision }, changed: false };
  return { document: { ...document, revision: (current?.revision ?? 0) + 1 }, changed: true };
}

/**
 * Hash of what the host should run: equal content gives an equal hash whatever the revision or
 * correlation id, so an unchanged fleet does not need a new revision.
 */
export function desiredContentHash(document: HostDesired): string {
  // Masked: a saved plan (which holds digests, not secret values) hashes like the document it came from.
  const content: Partial<HostDesired> = maskServices(document);
  delete content.revision;
  delete content.correlationID;
  // Derived from the content when written (shared/desired-schema.ts).
  delete content.schemaVersion;
  delete content.minAgentVersion;
  // Set anew at every signing (shared/replay-window.ts).
  delete content.signedAt;
  // Who wrote it is not what runs: the same content from another operator is no new revision.
  delete content.author;
  return contentHash(content);
}

/** The declared networks and volumes the placed services use (undefined: none), so a host learns only its own. */
function resourcesUsedBy(fleet: FleetFile, services: Readonly<Record<string, ServiceSpec>>): { networks: Record<string, NetworkSpec> | undefined; volumes: Record<string, VolumeSpec> | undefined } {
  const networkKeys = new Set<string>();
  const volumeKeys = new Set<string>();
  for (const service of Object.values(services)) {
    if (service.network_mode === undefined) for (const [key] of service.networks === undefined ? [[DEFAULT_NETWORK]] : serviceNetworkEntries(service.networks)) networkKeys.add(key as string);
    for (const entry of service.volumes) {
      const volume = namedVolumeOf(entry);
      if (volume !== undefined) volumeKeys.add(volume);
    }
  }
  const pick = <T>(declared: Readonly<Record<string, T>> | undefined, keys: ReadonlySet<string>): Record<string, T> | undefined => {
    const picked = Object.fromEntries([...keys].sort().flatMap((key) => (declared !== undefined && Object.hasOwn(declared, key) ? [[key, declared[key] as T]] : [])));
    return Object.keys(picked).length > 0 ? picked : undefined;
  };
  return { networks: pick(fleet.networks, networkKeys), volumes: pick(fleet.volumes, volumeKeys) };
}

function selectServices(placement: FleetPlacement, host: HostInfo, ignorePlacement: boolean, leaveOut?: ReadonlySet<string>): Record<string, ServiceSpec> {
  const placed: Record<string, ServiceSpec> = {};
  for (const name of placement.names) {
    const service = placement.fleet.services[name];
    if (service === undefined || leaveOut?.has(name)) continue;
    const { placement: servicePlacement, ...spec } = service;
    if (ignorePlacement || runsOn(servicePlacement, placement.hostSets.get(name), host)) placed[name] = spec;
  }
  return placed;
}

function runsOn(placement: Placement | undefined, hosts: ReadonlySet<string> | undefined, host: HostInfo): boolean {
  if (placement === undefined) return true;
  if ('hosts' in placement) return hosts?.has(host.hostId) ?? placement.hosts.includes(host.hostId);
  const excluded = placement.exclude !== undefined && ((placement.exclude.hosts ?? []).includes(host.hostId) || Object.entries(placement.exclude.labels ?? {}).some(([label, value]) => Object.hasOwn(host.labels, label) && host.labels[label] === value));
  return !excluded && Object.entries(placement.selector).every(([label, value]) => Object.hasOwn(host.labels, label) && host.labels[label] === value);
}
