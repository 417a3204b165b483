import { isStale, withFleet } from '../fleet/fleet-session.js';
import { modeOf } from '../options.js';
import { renderHosts } from '../render/hosts-view.js';
import type { HostsOptions } from './hosts.js';
import { printableJson } from '../render/printable.js';

/** `hosts`: every registered host, sorted by id. */
export async function listHosts(options: HostsOptions): Promise<void> {
  const mode = modeOf(options, 'hosts');
  if (mode.kind !== 'fleet') return;
  await withFleet(mode, async (client) => {
    const hosts = (await client.hosts()).sort((a, b) => (a.hostId < b.hostId ? -1 : 1));
    if (options.json) {
      process.stdout.write(`${printableJson({ schema: 'hostwright.hosts/v1', hosts: hosts.map((host) => ({ ...host, stale: isStale(host.heartbeatAt) })) }, 2)}\n`);
      return;
    }
    process.stdout.write(`${renderHosts(hosts)}\n`);
  });
}
