import { isStale, withFleet } from '../../fleet/fleet-session.js';
import { modeOf } from '../../options.js';
import { renderHosts } from '../../render/hosts-view.js';
import type { HostsOptions } from './options.js';
import { printableJson } from '../../render/printable.js';
import { compareStrings } from '../../../../shared/compare.js';

/** `hosts`: every registered host, sorted by id; a registration that failed its checks is listed as refused. */
export async function listHosts(options: HostsOptions): Promise<void> {
  const mode = modeOf(options, 'hosts');
  if (mode.kind !== 'fleet') return;
  await withFleet(mode, async (client) => {
    const reports = (await client.hostReports()).sort((a, b) => compareStrings(a.hostId, b.hostId));
    const hosts = reports.flatMap((report) => (report.value ? [{ ...report.value, trust: report.trust.verdict }] : []));
    const refused = reports.flatMap((report) => (report.trust.verdict === 'refused' ? [{ hostId: report.hostId, reason: report.trust.reason }] : []));
    if (options.json) {
      process.stdout.write(`${printableJson({ schema: 'hostwright.hosts/v1', hosts: hosts.map((host) => ({ ...host, stale: isStale(host.heartbeatAt) })), refused }, 2)}\n`);
      return;
    }
    process.stdout.write(`${renderHosts(hosts, refused)}\n`);
  });
}
