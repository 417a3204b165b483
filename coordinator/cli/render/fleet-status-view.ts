import { ago } from '../../fleet-session.js';
import type { FleetHostStatus } from '../../fleet-status.js';
import { conditionSummary, lastOutputLines, type InstanceCondition } from '../../../shared/instance-condition.js';
import { printable } from './printable.js';
import { pullProgressLine } from './pull-view.js';
import { renderTable } from './table.js';

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
