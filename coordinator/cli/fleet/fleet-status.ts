import type { HostReport } from '../../../shared/host-report.js';
import type { HostRegistration, StatusReport } from '../../../shared/wire.js';
import { printable } from '../render/printable.js';
import { pullProgressLine } from '../render/pull-view.js';
import { renderTable } from '../render/table.js';
import { ago, isStale } from './fleet-session.js';
import { compareStrings } from '../../../shared/compare.js';
import type { HostDesired } from '../../../shared/host-desired.js';
import { conditionSummary, lastOutputLines, type InstanceCondition } from '../../../shared/instance-condition.js';
import { isGone } from '../../../shared/host-status.js';

/** One host in `status --json` (schema hostwright.fleetstatus/v1). */
export interface FleetHostStatus {
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly heartbeatAt: string | null;
  /** No heartbeat for a while: the agent is down or cut off from NATS; its status may be old. */
  readonly stale: boolean;
  readonly reportedAt: string | null;
  readonly outboxDepth: number | null;
  readonly status: StatusReport['status'] | null;
  /** `verified`: every report the host has is signed by its key; `refused`: one failed its checks and is left out. */
  readonly trust: 'verified' | 'unverified' | 'refused';
  readonly refused: readonly { readonly report: 'registration' | 'status'; readonly reason: string }[];
  /** false: no agent has registered as this host (NOT REGISTERED); it may hold desired state written with --allow-unregistered. */
  readonly registered?: boolean;
  /** The desired revisions a host that is NOT REGISTERED holds, by project; absent for a registered host. */
  readonly desired?: readonly { readonly project: string; readonly revision: number }[];
}

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
      return { hostId, labels: host?.labels ?? {}, heartbeatAt: host?.heartbeatAt ?? null, stale: isStale(host?.heartbeatAt, now), reportedAt: value?.reportedAt ?? null, outboxDepth: value?.outboxDepth ?? null, status, trust, refused, registered: registration !== undefined };
    });
}

/** The hosts without their pulls in flight: what `status --watch` compares, so a pull's progress alone prints a line, not the table. */
export function withoutPulls(hosts: readonly FleetHostStatus[]): FleetHostStatus[] {
  return hosts.map((host) => (host.status?.pulls ? { ...host, status: { ...host.status, pulls: undefined } } : host));
}

/** The fleet as one table (cells shown printable by renderTable) and the hosts' refusals under it. */
export function renderFleetStatus(hosts: readonly FleetHostStatus[], now = Date.now()): string {
  if (hosts.length === 0) return 'No hosts have registered yet: start an agent with `hostwright agent --host-id ID --nats URL`.';
  const rows: string[][] = [];
  for (const host of hosts) {
    const seen = `${host.stale ? 'STALE ' : ''}${ago(host.heartbeatAt ?? undefined, now)}`;
    const projects = host.status?.projects ?? [];
    if (host.registered === false && host.status === null) {
      for (const desired of host.desired ?? []) rows.push([host.hostId, 'NOT REGISTERED', desired.project, `r${desired.revision}`, '-', 'no', '-', '-', '-', '-']);
      if ((host.desired ?? []).length === 0) rows.push([host.hostId, 'NOT REGISTERED', '-', '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    if (projects.length === 0) rows.push([host.hostId, seen, '-', '-', '-', '-', '-', '-', '-', '-']);
    for (const project of projects) {
      const running = project.instances.filter((i) => i.state === 'running').length;
      const healthy = project.instances.filter((i) => i.health === 'healthy').length;
      const unhealthy = project.instances.filter((i) => i.health === 'unhealthy').length;
      const drift = project.instances.flatMap((i) => i.drift.map((kind) => `${i.name}:${kind}`));
      // A crash loop or failed one-shot is what matters most about an instance's health: it leads the cell.
      const conditions = project.instances.flatMap((i) => (i.condition ? [`${i.name}: ${conditionSummary(i.condition)}`] : []));
      const health = [...conditions, ...(unhealthy > 0 ? [`${unhealthy} unhealthy`] : healthy > 0 ? [`${healthy} healthy`] : [])];
      const converged = project.rejected ? `REJECTED r${project.rejected.revision}` : project.blocked.length > 0 ? 'BLOCKED' : project.backoff ? `BACKING OFF (${project.backoff.attempts})` : project.converged ? 'yes' : 'no';
      rows.push([host.hostId, seen, project.project, `r${project.desiredRevision}`, project.appliedRevision === undefined ? '-' : `r${project.appliedRevision}`, converged, `${running}/${project.instances.length} running`, health.length > 0 ? health.join(' ') : '-', drift.length > 0 ? drift.join(' ') : '-', project.author?.name ?? '-']);
    }
  }
  const table = renderTable(['HOST', 'SEEN', 'PROJECT', 'DESIRED', 'APPLIED', 'CONVERGED', 'INSTANCES', 'HEALTH', 'DRIFT', 'BY'], rows);
  // Refusals and unsigned mode concern the host, not one row: listed under the table.
  const notes = hosts.flatMap((host) => [
    ...(host.registered !== false ? [] : [`${printable(host.hostId)}: NOT REGISTERED: no agent has registered as this host${host.desired && host.desired.length > 0 ? `; its desired state (${host.desired.map((d) => `${printable(d.project)} r${d.revision}`).join(', ')}) waits for it` : ''}; start it with \`hostwright agent --host-id ${printable(host.hostId)} …\``]),
    ...host.refused.map((refusal) => `${printable(host.hostId)}: REFUSED its ${refusal.report} report: ${printable(refusal.reason)}`),
    ...(host.status?.acceptsUnsigned ? [`${printable(host.hostId)}: INSECURE, runs with --allow-unsigned (accepts desired state nobody signed)`] : []),
    ...(host.status?.projects ?? []).flatMap((project) => project.instances.flatMap((instance) => (instance.condition ? [conditionNote(host.hostId, instance.name, instance.condition)] : []))),
    ...(host.status?.projects ?? []).flatMap((project) => (project.rejected ? [`${printable(host.hostId)}: ${printable(project.project)} REJECTED r${project.rejected.revision}: ${printable(project.rejected.reason)}; to lift it, ${printable(project.rejected.lift ?? 'apply a new revision')}`] : [])),
    ...(host.status?.refusedDesired ?? []).map((refusal) => `${printable(host.hostId)}: REFUSED desired state on ${printable(refusal.key)} at ${printable(refusal.refusedAt)}: ${printable(refusal.reason)}`),
    ...(host.status?.pulls ?? []).map((pull) => pullProgressLine(host.hostId, pull, now)),
  ]);
  const unverified = hosts.some((host) => host.trust === 'unverified') ? [`Reports of ${hosts.filter((host) => host.trust === 'unverified').map((host) => printable(host.hostId)).join(', ')} are not verified (no fleet-auth.json with their keys: pass --fleet-auth DIR).`] : [];
  const all = [...notes, ...unverified];
  return all.length > 0 ? `${table}\n\n${all.join('\n')}` : table;
}

/** One line under the table for an instance in a condition: since when, its restart count and its last lines of output. */
function conditionNote(hostId: string, name: string, condition: InstanceCondition): string {
  const lines = lastOutputLines(condition);
  return `${printable(hostId)}: ${printable(name)} ${conditionSummary(condition)}, restart count ${condition.restartCount}, since ${printable(condition.since)}${lines.length === 0 ? '' : `; last output: ${lines.map((line) => printable(line)).join(' | ')}`}`;
}
