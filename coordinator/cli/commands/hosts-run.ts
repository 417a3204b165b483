import { ago, isStale, withFleet } from '../fleet/fleet-session.js';
import { modeOf } from '../options.js';
import { renderTable } from '../render/table.js';
import type { HostsOptions } from './hosts.js';

/** `hosts`: every registered host, sorted by id; a registration that failed its checks is listed as refused. */
export async function listHosts(options: HostsOptions): Promise<void> {
  const mode = modeOf(options, 'hosts');
  if (mode.kind !== 'fleet') return;
  await withFleet(mode, async (client) => {
    const reports = (await client.hostReports()).sort((a, b) => (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0));
    const hosts = reports.flatMap((report) => (report.value ? [{ ...report.value, trust: report.trust.verdict }] : []));
    const refused = reports.flatMap((report) => (report.trust.verdict === 'refused' ? [{ hostId: report.hostId, reason: report.trust.reason }] : []));
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ schema: 'hostwright.hosts/v1', hosts: hosts.map((host) => ({ ...host, stale: isStale(host.heartbeatAt) })), refused }, null, 2)}\n`);
      return;
    }
    if (reports.length === 0) {
      process.stdout.write('No hosts have registered yet: start an agent with `hostwright agent --host-id ID --nats URL`.\n');
      return;
    }
    const rows = hosts.map((host) => [host.hostId, Object.entries(host.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-', host.agentVersion, `${isStale(host.heartbeatAt) ? 'STALE ' : ''}${ago(host.heartbeatAt)}`, host.startedAt, host.trust]);
    const lines = [renderTable(['HOST', 'LABELS', 'VERSION', 'SEEN', 'STARTED', 'TRUST'], rows)];
    if (refused.length > 0) lines.push('', ...refused.map((entry) => `${entry.hostId}: REFUSED its registration: ${entry.reason}`));
    if (hosts.some((host) => host.trust === 'unverified')) lines.push('', 'Unverified: no fleet-auth.json with the hosts\' keys to check their signatures against (pass --fleet-auth DIR).');
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
