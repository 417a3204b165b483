import type { FleetClient } from '../fleet-client.js';
import { fleetStatus, withUnregistered, type FleetHostStatus } from '../fleet-status.js';
import { projectWiring, type WiringEdge } from '../wiring.js';

export interface FleetStatusResult {
  /** Every host's status, with the hosts that hold desired state but never registered (NOT REGISTERED). */
  readonly hosts: readonly FleetHostStatus[];
  /** The depends_on wiring of the projects spread over hosts. */
  readonly wiring: readonly WiringEdge[];
}

/** `status` in fleet mode: every host's last report and the wiring across hosts (`only`: one host and the edges touching it). */
export async function readFleetStatus(client: FleetClient, only?: string): Promise<FleetStatusResult> {
  const [hosts, wiring] = await Promise.all([readFleetHosts(client, only), readWiring(client, only)]);
  return { hosts, wiring };
}

/** Every host's status, with the hosts that hold desired state but never registered (NOT REGISTERED). */
export async function readFleetHosts(client: FleetClient, only: string | undefined): Promise<FleetHostStatus[]> {
  const [registrations, reports, desired] = await Promise.all([client.hostReports(), client.statusReports(), client.desiredProjectsByHost()]);
  const listed = new Set([...registrations.map((report) => report.hostId), ...reports.map((report) => report.hostId)]);
  const unregistered = [...desired].filter(([hostId]) => !listed.has(hostId) && (only === undefined || hostId === only)).flatMap(([hostId, projects]) => projects.map((project) => ({ hostId, project })));
  return withUnregistered(fleetStatus(registrations, reports, only), unregistered.length > 0 ? await client.currentDesired(unregistered) : [], only);
}

/**
 * The depends_on wiring of the projects spread over hosts (only their documents are read: a
 * project on one host has no wiring across hosts), limited to the edges touching `only`.
 */
async function readWiring(client: FleetClient, only: string | undefined): Promise<WiringEdge[]> {
  const hostsOf = new Map<string, string[]>();
  for (const [hostId, projects] of await client.desiredProjectsByHost()) for (const project of projects) hostsOf.set(project, [...(hostsOf.get(project) ?? []), hostId]);
  const keys = [...hostsOf].filter(([, hosts]) => hosts.length > 1).flatMap(([project, hosts]) => hosts.map((hostId) => ({ hostId, project })));
  const edges = projectWiring(keys.length > 0 ? await client.currentDesired(keys) : []);
  return only === undefined ? edges : edges.filter((edge) => edge.fromHosts.includes(only) || edge.toHosts.includes(only));
}

/**
 * `status --watch`: the fleet's hosts now, then again on every change of a host's status or
 * heartbeat (KV watches on both buckets), until `signal` aborts. Each read is handed to `onHosts`.
 */
export async function watchFleetStatus(client: FleetClient, options: { readonly only?: string; readonly signal: AbortSignal }, onHosts: (hosts: readonly FleetHostStatus[]) => void): Promise<void> {
  const { signal, only } = options;
  onHosts(await readFleetHosts(client, only));
  if (signal.aborted) return;
  const watchers = await Promise.all([client.connection.status.watch({ include: 'updates' }), client.connection.hosts.watch({ include: 'updates' })]);
  // A signal that came while the watchers were being set up stops them at once.
  if (signal.aborted) watchers.forEach((watcher) => watcher.stop());
  else signal.addEventListener('abort', () => watchers.forEach((watcher) => watcher.stop()), { once: true });
  await Promise.all(watchers.map(async (watcher) => {
    for await (const entry of watcher) {
      if (entry) onHosts(await readFleetHosts(client, only));
    }
  }));
}
