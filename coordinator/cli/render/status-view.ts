import type { HostStatus } from '../../../shared/host-status.js';
import { printable } from './printable.js';
import { conditionSummary, type InstanceCondition } from '../../../shared/instance-condition.js';
import { renderTable, shortId } from './table.js';

/** The `status --json` document (schema "hostwright.status/v1", see docs/json.md). */
export function statusJson(status: HostStatus) {
  return { schema: 'hostwright.status/v1' as const, ...status };
}

/** A host's status for a person; every name, id and reason in it comes from the host and is shown printable. */
export function renderStatus(status: HostStatus): string {
  const lines: string[] = [`Host ${printable(status.hostId)} · observed ${printable(status.observedAt)}`];
  if (status.acceptsUnsigned) lines.push('INSECURE: this agent runs with --allow-unsigned and accepts desired state nobody signed');
  for (const refusal of status.refusedDesired ?? []) lines.push(`REFUSED desired state on ${printable(refusal.key)} at ${printable(refusal.refusedAt)}: ${printable(refusal.reason)} (keeping the last good state)`);
  if (status.projects.length === 0) lines.push('', 'No desired state yet: run `hostwright apply -f fleet.yaml --local`.');
  for (const project of status.projects) {
    const applied = project.appliedRevision === undefined ? 'never applied' : `applied r${project.appliedRevision}`;
    const state = project.converged ? 'converged' : `NOT converged (${project.pendingActions} pending action${project.pendingActions === 1 ? '' : 's'})`;
    lines.push('', `${printable(project.project)}  desired r${project.desiredRevision} · ${applied} · ${state}`);
    if (project.rejected) {
      lines.push(`  REJECTED r${project.rejected.revision}: ${printable(project.rejected.reason)}`);
      lines.push(`  (no retries or repairs of this project; to lift it, ${printable(project.rejected.lift ?? 'apply a new revision')})`);
    }
    if (project.backoff) lines.push(`  BACKING OFF r${project.backoff.revision} after ${project.backoff.attempts} failed attempt(s), next at ${printable(project.backoff.retryAt)}: ${printable(project.backoff.reason)}`);
    if (project.instances.length > 0) {
      const rows = project.instances.map((i) => [i.name, i.state, i.health, i.drift.length > 0 ? i.drift.join(',') : '-', shortId(i.containerId), imageColumn(i.imageId, i.imageDigest)]);
      lines.push(indent(renderTable(['NAME', 'STATE', 'HEALTH', 'DRIFT', 'CONTAINER', 'IMAGE'], rows)));
    } else {
      lines.push('  (no instances desired)');
    }
    for (const instance of project.instances) if (instance.condition) lines.push(...conditionLines(instance.name, instance.condition));
    for (const block of project.blocked) lines.push(`  BLOCKED [${block.gate}] ${printable(block.message)}`);
    for (const container of project.unowned) lines.push(`  UNOWNED ${printable(container.name)} [${printable(shortId(container.containerId))}]: ${printable(container.reason)}`);
  }
  return lines.join('\n');
}

/** The image id an instance runs, short, with the start of its repo digest when known. */
function imageColumn(imageId: string | undefined, digest: string | undefined): string {
  if (imageId === undefined) return '-';
  const id = shortId(imageId.replace(/^sha256:/, ''));
  return digest === undefined ? id : `${id} (${digest.slice(0, 'sha256:'.length + 12)})`;
}

function indent(text: string): string {
  return text.split('\n').map((line) => `  ${line}`).join('\n');
}

/** An instance that crash-loops or failed: its exit code and restart count, then its last lines of output (at most 80, 2 KiB). */
function conditionLines(name: string, condition: InstanceCondition): string[] {
  const head = `  ${condition.kind === 'crashloop' ? 'CRASHLOOP' : 'FAILED'} ${printable(name)}: ${conditionSummary(condition)}, restart count ${condition.restartCount}, since ${printable(condition.since)}`;
  return condition.lastLines.length === 0 ? [`${head} (no output)`] : [`${head}; last output:`, ...condition.lastLines.map((line) => `    ${printable(line)}`)];
}
