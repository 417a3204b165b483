import type { ReportTrust } from '../../../shared/host-report.js';
import type { HostRegistration } from '../../../shared/wire.js';
import { ago, isStale } from '../fleet/fleet-session.js';
import { printable } from './printable.js';
import { renderTable } from './table.js';

/**
 * `hosts`: one row per registered host, as given (the caller sorts), with how far its registration
 * was verified; refused registrations listed under the table. Labels and versions are the host's own.
 */
export function renderHosts(hosts: readonly (HostRegistration & { readonly trust: ReportTrust['verdict'] })[], refused: readonly { readonly hostId: string; readonly reason: string }[] = [], now = Date.now()): string {
  if (hosts.length === 0 && refused.length === 0) return 'No hosts have registered yet: start an agent with `hostwright agent --host-id ID --nats URL`.';
  const rows = hosts.map((host) => [host.hostId, Object.entries(host.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-', host.agentVersion, `${isStale(host.heartbeatAt, now) ? 'STALE ' : ''}${ago(host.heartbeatAt, now)}`, host.startedAt, host.trust]);
  const lines = [renderTable(['HOST', 'LABELS', 'VERSION', 'SEEN', 'STARTED', 'TRUST'], rows)];
  if (refused.length > 0) lines.push('', ...refused.map((entry) => `${printable(entry.hostId)}: REFUSED its registration: ${printable(entry.reason)}`));
  if (hosts.some((host) => host.trust === 'unverified')) lines.push('', 'Unverified: no fleet-auth.json with the hosts\' keys to check their signatures against (pass --fleet-auth DIR).');
  return lines.join('\n');
}
