import { ago, isStale, withFleet } from '../fleet/fleet-session.js';
import { modeOf } from '../options.js';
import { renderTable } from '../render/table.js';
import type { HostsOptions } from './hosts.js';

/** `hosts`: every registered host, sorted by id. */
export async function listHosts(options: HostsOptions): Promise<void> {
  const mode = modeOf(options, 'hosts');
  if (mode.kind !== 'fleet') return;
  await withFleet(mode, async (client) => {
    const hosts = (await client.hosts()).sort((a, b) => (a.hostId < b.hostId ? -1 : 1));
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ schema: 'hostwright.hosts/v1', hosts: hosts.map((host) => ({ ...host, stale: isStale(host.heartbeatAt) })) }, null, 2)}\n`);
      return;
    }
    if (hosts.length === 0) {
      process.stdout.write('No hosts have registered yet: start an agent with `hostwright agent --host-id ID --nats URL`.\n');
      return;
    }
    const rows = hosts.map((host) => [host.hostId, Object.entries(host.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-', host.agentVersion, `${isStale(host.heartbeatAt) ? 'STALE ' : ''}${ago(host.heartbeatAt)}`, host.startedAt]);
    process.stdout.write(`${renderTable(['HOST', 'LABELS', 'VERSION', 'SEEN', 'STARTED'], rows)}\n`);
  });
}
