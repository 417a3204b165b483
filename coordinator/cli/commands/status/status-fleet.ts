import type { FleetClient } from '../../../fleet-client.js';
import { fleetStatus, renderFleetStatus, withUnregistered, withoutPulls, type FleetHostStatus } from '../../fleet/fleet-status.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { PullProgressLines } from '../../render/pull-view.js';
import { withFleet } from '../../fleet/fleet-session.js';
import type { FleetTarget } from '../../options.js';
import type { StatusOptions } from './options.js';
import { printable, printableJson } from '../../render/printable.js';
import { projectWiring, wiringLines, type WiringEdge } from '../../../wiring.js';

/** `status` in fleet mode: every host's last report, once or on every change. */
export async function statusOfFleet(target: FleetTarget, options: StatusOptions): Promise<void> {
  await withFleet(target, async (client) => {
    if (options.host !== undefined) requireKnownHost('--host', options.host, await client.knownHostIds());
    await (options.watch ? watchFleet(client, options) : printFleet(client, options));
  });
}

/** Every host's status, with the hosts that hold desired state but never registered (NOT REGISTERED). */
async function readFleet(client: FleetClient, only: string | undefined): Promise<FleetHostStatus[]> {
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

async function printFleet(client: FleetClient, options: StatusOptions): Promise<void> {
  const [hosts, wiring] = await Promise.all([readFleet(client, options.host), readWiring(client, options.host)]);
  const across = wiring.filter((edge) => edge.reach !== 'same-host');
  const wiringText = across.length > 0 ? `\n\nWiring (depends_on across hosts):\n${wiringLines(across, printable).map((line) => `  ${line}`).join('\n')}` : '';
  process.stdout.write(options.json ? `${printableJson({ schema: 'hostwright.fleetstatus/v1', hosts, wiring }, 2)}\n` : `${renderFleetStatus(hosts)}${wiringText}\n`);
}

/** Re-reads and prints whenever a host's status or heartbeat changes, until interrupted. */
async function watchFleet(client: FleetClient, options: StatusOptions): Promise<void> {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  let last = '';
  const say = (line: string) => process.stdout.write(options.json ? `${printableJson({ progress: line })}\n` : `${line}\n`);
  const pulls = new PullProgressLines(say);
  const print = async () => {
    const reported = await readFleet(client, options.host);
    // A pull's progress alone prints a line (throttled), not the whole table again.
    for (const host of reported) pulls.show(host.hostId, host.status?.pulls);
    const hosts = withoutPulls(reported);
    const text = options.json ? printableJson({ schema: 'hostwright.fleetstatus/v1', at: new Date().toISOString(), hosts }) : renderFleetStatus(hosts);
    const comparable = options.json ? JSON.stringify(hosts.map((h) => ({ ...h, heartbeatAt: null, reportedAt: null, status: h.status ? { ...h.status, observedAt: '' } : null }))) : text.replace(/\d+[smhd] ago/g, '');
    if (comparable === last) return;
    last = comparable;
    process.stdout.write(options.json ? `${text}\n` : `\n${new Date().toISOString()}\n${text}\n`);
  };
  await print();
  if (abort.signal.aborted) return;
  const watchers = await Promise.all([client.connection.status.watch({ include: 'updates' }), client.connection.hosts.watch({ include: 'updates' })]);
  // A signal that came while the watchers were being set up stops them at once.
  if (abort.signal.aborted) watchers.forEach((watcher) => watcher.stop());
  else abort.signal.addEventListener('abort', () => watchers.forEach((watcher) => watcher.stop()), { once: true });
  await Promise.all(watchers.map(async (watcher) => {
    for await (const entry of watcher) {
      if (entry) await print();
    }
  }));
}
