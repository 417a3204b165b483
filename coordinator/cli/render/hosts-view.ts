import type { ReportTrust } from '../../../shared/host-report.js';
import type { HostControl } from '../../../shared/host-control.js';
import type { HostRegistration } from '../../../shared/wire.js';
import { ago, isStale } from '../../fleet-session.js';
import { printable } from './printable.js';
import { renderTable } from './table.js';

/** A registered host as `hosts` lists it: its registration, trust, and what the coordinator set. */
export type ListedHost = HostRegistration & {
  readonly trust: ReportTrust['verdict'];
  readonly coordinatorLabels?: Readonly<Record<string, string>>;
  readonly cordon?: HostControl['cordon'] | null;
  readonly drain?: HostControl['drain'] | null;
};

/**
 * `hosts`: one row per registered host, as given (the caller sorts), with how far its registration
 * was verified; refused registrations listed under the table. Labels are those placement reads: a
 * `*` marks one the coordinator set (`hosts label`), which wins over the agent's own on the same key.
 */
export function renderHosts(hosts: readonly ListedHost[], refused: readonly { readonly hostId: string; readonly reason: string }[] = [], now = Date.now(), refusedControls: readonly { readonly hostId: string; readonly reason: string }[] = []): string {
  if (hosts.length === 0 && refused.length === 0 && refusedControls.length === 0) return 'No hosts have registered yet: start an agent with `hostwright agent --host-id ID --nats URL`.';
  const labelsOf = (host: ListedHost): string => {
    const set = host.coordinatorLabels ?? {};
    const merged = { ...host.labels, ...set };
    return Object.entries(merged).map(([k, v]) => `${k}=${v}${Object.hasOwn(set, k) ? '*' : ''}`).join(',') || '-';
  };
  const rows = hosts.map((host) => [host.hostId, labelsOf(host), host.drain ? host.drain.state.toUpperCase() : host.cordon ? 'CORDONED' : 'schedulable', host.agentVersion, `${isStale(host, now) ? 'STALE ' : ''}${ago(host.heartbeatAt, now)}`, host.startedAt, host.trust]);
  const lines = [renderTable(['HOST', 'LABELS', 'PLACEMENT', 'VERSION', 'SEEN', 'STARTED', 'TRUST'], rows)];
  if (hosts.some((host) => Object.keys(host.coordinatorLabels ?? {}).length > 0)) lines.push('', '* set by the coordinator (`hosts label`); it wins over the agent\'s label of the same key.');
  const cordoned = hosts.filter((host) => host.cordon);
  if (cordoned.length > 0) lines.push('', ...cordoned.map((host) => `${printable(host.hostId)}: CORDONED since ${printable(host.cordon?.at ?? '')}${host.cordon?.reason ? `: ${printable(host.cordon.reason)}` : ''}`));
  const drains = hosts.filter((host) => host.drain);
  if (drains.length > 0) lines.push('', ...drains.map((host) => drainLine(host.hostId, host.drain as NonNullable<HostControl['drain']>)));
  if (refused.length > 0) lines.push('', ...refused.map((entry) => `${printable(entry.hostId)}: REFUSED its registration: ${printable(entry.reason)}`));
  if (refusedControls.length > 0) lines.push('', ...refusedControls.map((entry) => `${printable(entry.hostId)}: REFUSED its cordon and labels (hw_hostctl), which placement therefore will not use: ${printable(entry.reason)}; set them again with \`hostwright hosts label\` or \`hosts cordon\``));
  if (hosts.some((host) => host.trust === 'unverified')) lines.push('', 'Unverified: no fleet-auth.json with the hosts\' keys to check their signatures against (pass --fleet-auth DIR).');
  return lines.join('\n');
}

/** A drain as `hosts` shows it: since when, and what it moves and leaves. */
function drainLine(hostId: string, drain: NonNullable<HostControl['drain']>): string {
  const when = drain.state === 'drained' ? `DRAINED at ${printable(drain.drainedAt ?? '')}` : `DRAINING since ${printable(drain.startedAt)}${drain.until ? ` (deadline ${printable(drain.until)})` : ''}`;
  const left = drain.left.length > 0 ? `; ${drain.force ? 'stopped' : 'left there'}: ${drain.left.map((entry) => `${printable(entry.project)}/${printable(entry.service)}`).join(', ')}` : '';
  return `${printable(hostId)}: ${when}: ${drain.moves.length} service(s) moved${left}`;
}
