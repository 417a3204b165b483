import type { FleetFile } from '../shared/fleet-spec.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { HostKeys } from '../shared/host-report.js';
import type { DesiredEntry } from './fleet-client.js';
import { cordonedServices, type Cordon } from './cordon.js';
import { desiredContentHash, desiredForHost, placementOf, type HostInfo } from './placement.js';

/** What one host should run of a project, and whether that differs from what it was told before. */
export interface HostTarget {
  readonly hostId: string;
  readonly document: HostDesired;
  /** The KV revision the document replaces (0: new key), for compare-and-set. */
  readonly kvRevision: number;
  readonly changed: boolean;
  /** No agent has registered as this host (written with --allow-unregistered): nobody answers a plan. */
  readonly unregistered?: true;
  /** The host is cordoned: these services a selector placed here are left out (coordinator/cordon.ts). */
  readonly cordon?: { readonly reason?: string | undefined; readonly skipped: readonly string[] };
}

/**
 * Pure: resolves placement into one document per host. Hosts are the registered ones, the ones a
 * placement names, and the ones that already run the project (a host placed nothing any more gets
 * an explicit empty document, never a silent absence). A cordoned host (`cordons`) keeps
 * the services it was told before and gets no new one. Each document of a project spread over
 * hosts names the project's services placed on other hosts (`remotes`, with the keys of `hostKeys`).
 */
export function fleetTargets(fleet: FleetFile, registered: readonly HostInfo[], existing: ReadonlyMap<string, DesiredEntry>, correlationID: string, options: { readonly pruneVolumes?: boolean; readonly registeredIds?: ReadonlySet<string>; readonly cordons?: ReadonlyMap<string, Cordon>; readonly hostKeys?: HostKeys | undefined } = {}): HostTarget[] {
  const hosts = new Map<string, HostInfo>(registered.map((host) => [host.hostId, host]));
  // A registration that failed its checks still says an agent is there (status shows it REFUSED).
  const registeredIds = options.registeredIds ?? new Set(hosts.keys());
  for (const service of Object.values(fleet.services)) {
    if (service.placement && 'hosts' in service.placement) for (const hostId of service.placement.hosts) if (!hosts.has(hostId)) hosts.set(hostId, { hostId, labels: {} });
  }
  for (const hostId of existing.keys()) if (!hosts.has(hostId)) hosts.set(hostId, { hostId, labels: {} });

  const placement = placementOf(fleet);
  const drafts = [...hosts.keys()].sort().map((hostId) => {
    const host = hosts.get(hostId) as HostInfo;
    const hostCordon = options.cordons?.get(hostId);
    const skipped = hostCordon ? cordonedServices(fleet, host, existing.get(hostId)?.document, hostCordon) : [];
    const cordon = hostCordon ? { cordon: { reason: hostCordon.reason, skipped } } : {};
    return { hostId, cordon, draft: desiredForHost(fleet, host, { revision: 1, correlationID, placement, leaveOut: new Set(skipped), ...(options.pruneVolumes === true ? { pruneVolumes: true } : {}) }) };
  });
  const placedOn = servicePlacements(drafts.map(({ draft }) => draft));
  const targets: HostTarget[] = [];
  for (const { hostId, cordon, draft: placed } of drafts) {
    const unregistered = registeredIds.has(hostId) ? {} : { unregistered: true as const };
    const previous = existing.get(hostId);
    const draft = withRemotes(placed, placedOn, options.hostKeys);
    const placedNothing = Object.keys(draft.services).length === 0;
    if (placedNothing && !previous) continue;
    // Moving a project off a host is the fleet file's explicit intent: allow it to empty the project there.
    const document: HostDesired = placedNothing ? { ...draft, allowEmpty: true } : draft;
    // A damaged key (a value its agent rejected) is rewritten even when the fleet file did not change.
    if (previous && !previous.damaged && desiredContentHash(previous.document) === desiredContentHash(document)) {
      targets.push({ hostId, document: { ...previous.document, correlationID }, kvRevision: previous.kvRevision, changed: false, ...unregistered, ...cordon });
    } else {
      targets.push({ hostId, document: { ...document, revision: (previous?.document.revision ?? 0) + 1 }, kvRevision: previous?.kvRevision ?? 0, changed: true, ...unregistered, ...cordon });
    }
  }
  return targets;
}

/** The hosts each service of the project is placed on, from every host's document. Pure. */
export function servicePlacements(documents: readonly HostDesired[]): Map<string, string[]> {
  const placedOn = new Map<string, string[]>();
  for (const document of documents) {
    for (const service of Object.keys(document.services)) placedOn.set(service, [...(placedOn.get(service) ?? []), document.hostId]);
  }
  return placedOn;
}

/**
 * The document with the project's services placed on other hosts (`remotes`): which hosts'
 * endpoint records of each its agent may use, with their keys. A project on one host, or a host
 * placed nothing, gets none, so such documents stay as they were. Pure.
 */
export function withRemotes(document: HostDesired, placedOn: ReadonlyMap<string, readonly string[]>, hostKeys: HostKeys | undefined): HostDesired {
  if (Object.keys(document.services).length === 0) return document;
  const remotes: Record<string, Record<string, { key?: string }>> = {};
  for (const [service, hostIds] of [...placedOn].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const others = hostIds.filter((hostId) => hostId !== document.hostId);
    if (others.length === 0) continue;
    remotes[service] = Object.fromEntries(others.map((hostId) => {
      const key = hostKeys?.keyOf(hostId);
      return [hostId, key === undefined ? {} : { key }];
    }));
  }
  return Object.keys(remotes).length === 0 ? document : { ...document, remotes };
}
