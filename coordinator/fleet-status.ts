import type { HostReport } from '../shared/host-report.js';
import type { HostRegistration, StatusReport } from '../shared/wire.js';
import { isStale } from './fleet-session.js';
import { compareStrings } from '../shared/compare.js';
import type { HostDesired } from '../shared/host-desired.js';
import { isGone } from '../shared/host-status.js';
import type { FleetHostStatus } from '../shared/fleet-status-json.js';

/** One host in `status --json` (schema hostwright.fleetstatus/v1, shared/fleet-status-json.ts). */
export type { FleetHostStatus };

/**
 * The hosts of `statuses` plus one NOT REGISTERED entry per host that holds desired state (written
 * with --allow-unregistered) and has neither registered nor reported, sorted by host id.
 */
export function withUnregistered(statuses: readonly FleetHostStatus[], documents: readonly HostDesired[], only?: string): FleetHostStatus[] {
  const listed = new Set(statuses.map((host) => host.hostId));
  const byHost = new Map<string, { project: string; revision: number }[]>();
  for (const document of documents) {
    if (listed.has(document.hostId) || (only !== undefined && document.hostId !== only)) continue;
    byHost.set(document.hostId, [...(byHost.get(document.hostId) ?? []), { project: document.project, revision: document.revision }]);
  }
  const unregistered = [...byHost].map(([hostId, desired]): FleetHostStatus => ({ hostId, labels: {}, heartbeatAt: null, stale: true, reportedAt: null, outboxDepth: null, status: null, trust: 'unverified', refused: [], registered: false, desired: desired.sort((a, b) => compareStrings(a.project, b.project)) }));
  return [...statuses, ...unregistered].sort((a, b) => compareStrings(a.hostId, b.hostId));
}

/** Registrations and status reports by host (the host of the key each was read from). */
export function fleetStatus(hosts: readonly HostReport<HostRegistration>[], reports: readonly HostReport<StatusReport>[], only?: string, now = Date.now()): FleetHostStatus[] {
  const hostById = new Map(hosts.map((h) => [h.hostId, h]));
  const reportById = new Map(reports.map((r) => [r.hostId, r]));
  return [...new Set([...hostById.keys(), ...reportById.keys()])]
    .filter((id) => only === undefined || id === only)
    .sort()
    .map((hostId) => {
      const registration = hostById.get(hostId);
      const report = reportById.get(hostId);
      const host = registration?.value;
      const value = report?.value;
      const refused = [
        ...(registration?.trust.verdict === 'refused' ? [{ report: 'registration' as const, reason: registration.trust.reason }] : []),
        ...(report?.trust.verdict === 'refused' ? [{ report: 'status' as const, reason: report.trust.reason }] : []),
      ];
      const verdicts = [registration?.trust.verdict, report?.trust.verdict].filter((verdict) => verdict !== undefined);
      const trust = refused.length > 0 ? 'refused' : verdicts.every((verdict) => verdict === 'verified') ? 'verified' : 'unverified';
      // A removed project nothing is left of is no row (shared/host-status.ts isGone).
      const status = value ? { ...value.status, projects: value.status.projects.filter((project) => !isGone(project)) } : null;
      return { hostId, labels: host?.labels ?? {}, heartbeatAt: host?.heartbeatAt ?? null, stale: isStale(host, now), reportedAt: value?.reportedAt ?? null, outboxDepth: value?.outboxDepth ?? null, status, trust, refused, registered: registration !== undefined };
    });
}

/** The hosts without their pulls in flight: what `status --watch` compares, so a pull's progress alone prints a line, not the table. */
export function withoutPulls(hosts: readonly FleetHostStatus[]): FleetHostStatus[] {
  return hosts.map((host) => (host.status?.pulls ? { ...host, status: { ...host.status, pulls: undefined } } : host));
}
