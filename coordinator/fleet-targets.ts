import type { FleetFile } from '../shared/fleet-spec.js';
import type { HostDesired } from '../shared/host-desired.js';
import type { DesiredEntry } from './fleet-client.js';
import { skippedServices, type Cordon } from './cordon.js';
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
 * the services it was told before and gets no new one; a drained one only what the drain left there.
 */
export function fleetTargets(fleet: FleetFile, registered: readonly HostInfo[], existing: ReadonlyMap<string, DesiredEntry>, correlationID: string, options: { readonly pruneVolumes?: boolean; readonly registeredIds?: ReadonlySet<string>; readonly cordons?: ReadonlyMap<string, Cordon> } = {}): HostTarget[] {
  const hosts = new Map<string, HostInfo>(registered.map((host) => [host.hostId, host]));
  // A registration that failed its checks still says an agent is there (status shows it REFUSED).
  const registeredIds = options.registeredIds ?? new Set(hosts.keys());
  for (const service of Object.values(fleet.services)) {
    if (service.placement && 'hosts' in service.placement) for (const hostId of service.placement.hosts) if (!hosts.has(hostId)) hosts.set(hostId, { hostId, labels: {} });
  }
  for (const hostId of existing.keys()) if (!hosts.has(hostId)) hosts.set(hostId, { hostId, labels: {} });

  const placement = placementOf(fleet);
  const targets: HostTarget[] = [];
  for (const hostId of [...hosts.keys()].sort()) {
    const host = hosts.get(hostId) as HostInfo;
    const unregistered = registeredIds.has(hostId) ? {} : { unregistered: true as const };
    const previous = existing.get(hostId);
    const hostCordon = options.cordons?.get(hostId);
    const skipped = hostCordon ? skippedServices(fleet, host, previous?.document, hostCordon) : [];
    const cordon = hostCordon ? { cordon: { reason: hostCordon.reason, skipped } } : {};
    const draft = withRestarts(desiredForHost(fleet, host, { revision: 1, correlationID, placement, leaveOut: new Set(skipped), ...(options.pruneVolumes === true ? { pruneVolumes: true } : {}) }), previous?.document);
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

/**
 * Pure: the document with the restart generations (`hostwright restart`) its host holds for the
 * services it keeps: a fleet file does not carry them, and a generation must never go down (an
 * instance restarted for generation 2 would not restart for a new 1).
 */
export function withRestarts(document: HostDesired, previous: HostDesired | undefined): HostDesired {
  const kept = Object.entries(previous?.restarts ?? {}).filter(([service]) => Object.hasOwn(document.services, service));
  return kept.length === 0 ? document : { ...document, restarts: Object.fromEntries(kept) };
}
