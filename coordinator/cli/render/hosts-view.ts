import type { HostRegistration } from '../../../shared/wire.js';
import { ago, isStale } from '../fleet/fleet-session.js';
import { renderTable } from './table.js';

/** `hosts`: one row per registered host, as given (the caller sorts); labels and versions are the host's own. */
export function renderHosts(hosts: readonly HostRegistration[], now = Date.now()): string {
  if (hosts.length === 0) return 'No hosts have registered yet: start an agent with `hostwright agent --host-id ID --nats URL`.';
  const rows = hosts.map((host) => [host.hostId, Object.entries(host.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-', host.agentVersion, `${isStale(host.heartbeatAt, now) ? 'STALE ' : ''}${ago(host.heartbeatAt, now)}`, host.startedAt]);
  return renderTable(['HOST', 'LABELS', 'VERSION', 'SEEN', 'STARTED'], rows);
}
