import { conditionText, remoteConditionText, type Action } from '../../../shared/actions.js';
import type { PlanReport } from '../../../shared/plan-report.js';
import { printable } from './printable.js';
import { describeFieldChange } from '../../../shared/spec-diff.js';
import { renderTable, shortId } from './table.js';
import type { HostPlan } from '../../fleet-plan.js';
import { projectWiring, wiringLines } from '../../wiring.js';
import { updateOrderExceptions } from '../../../shared/update-order.js';
import { notRegisteredLine } from './apply-view.js';

const DIFF_SYMBOL: Record<PlanReport['diff'][number]['kind'], string> = {
  create: '+',
  replace: '~',
  modified: '!',
  stopped: '~',
  unhealthy: '?',
  remove: '-',
  'name-conflict': 'x',
  unowned: '?',
  'in-sync': ' ',
  restart: '~',
};

const RESOURCE_SYMBOL: Record<NonNullable<PlanReport['resources']>[number]['kind'], string> = {
  create: '+',
  changed: '!',
  'name-conflict': 'x',
  'external-missing': 'x',
  unused: '-',
  kept: '=',
};

/** The human plan: diff, ordered actions, gates that would block, drift; what the host reported is shown printable. */
export function renderPlan(json: PlanReport): string {
  const lines: string[] = [];
  const revisions = json.projects.map((p) => `${printable(p.project)} r${p.revision}`).join(', ') || 'no desired state';
  lines.push(`Host ${printable(json.hostId)} · ${revisions} · observed ${printable(json.observedAt)}`);
  if (json.diff.length > 0) {
    lines.push('', 'Diff:');
    for (const entry of json.diff) {
      lines.push(`  ${DIFF_SYMBOL[entry.kind]} ${printable(entry.name).padEnd(28)} ${printable(entry.detail)}`);
      // The typed change under its entry, one field a line (old => new).
      for (const change of entry.changes ?? []) lines.push(`      ${printable(describeFieldChange(change))}`);
    }
  }
  const resources = json.resources ?? [];
  if (resources.length > 0) {
    lines.push('', 'Networks and volumes:');
    for (const entry of resources) lines.push(`  ${RESOURCE_SYMBOL[entry.kind]} ${`${entry.resourceKind} ${printable(entry.name)}`.padEnd(28)} ${printable(entry.detail)}`);
  }
  if (json.actions.length > 0) {
    lines.push('', `Plan (${json.actions.length} action${json.actions.length === 1 ? '' : 's'}, in order):`);
    lines.push(indent(renderTable(['ID', 'ACTION', 'TARGET', 'WHY'], json.actions.map((a) => [a.id, a.kind + (a.blocked ? ' (blocked)' : ''), target(a), a.reason]))));
  }
  if (json.blocked.length > 0) {
    lines.push('', 'Would block because:');
    for (const block of json.blocked) lines.push(`  [${block.gate}] ${printable(block.project)}: ${printable(block.message)}`);
  }
  const reported = json.drift.filter((d) => d.action === 'report');
  if (reported.length > 0) {
    lines.push('', 'Drift reported (policy "report"; an explicit apply repairs it):');
    for (const finding of reported) lines.push(`  ${printable(finding.message)}`);
  }
  lines.push('', json.actions.length === 0 ? 'No changes: the host is converged.' : summary(json.actions));
  return lines.join('\n');
}

function target(action: Action): string {
  if (action.kind === 'pull-image') return action.image;
  if (action.kind === 'create') return `${action.name} (${action.config.image})`;
  if (action.kind === 'rename') return `${action.name} [${shortId(action.containerId)}] -> ${action.newName}`;
  if (action.kind === 'await-healthy') return `${action.name} (up to ${action.timeoutSeconds}s)`;
  if (action.kind === 'await-dependency' && action.hosts !== undefined) return `${action.name}: waits for ${action.dependency} on ${action.hosts.join(', ')} (${remoteConditionText(action.condition)}, up to ${action.timeoutSeconds}s)`;
  if (action.kind === 'await-dependency') return `${action.name}: ${action.dependency} ${conditionText(action.condition)} (up to ${action.timeoutSeconds}s)`;
  if (action.kind === 'create-network' || action.kind === 'create-volume' || action.kind === 'remove-volume') return action.name;
  if (action.kind === 'remove-image') return `${action.references.join(', ')} [${shortId(action.imageId.replace(/^sha256:/, ''))}]`;
  if (action.kind === 'remove-network') return `${action.name} [${shortId(action.networkId)}]`;
  return action.kind === 'start' && action.containerId === undefined ? action.name : `${action.name} [${shortId(action.containerId)}]`;
}

function summary(actions: readonly Action[]): string {
  const counts = new Map<string, number>();
  for (const action of actions) counts.set(action.kind, (counts.get(action.kind) ?? 0) + 1);
  return `Plan: ${[...counts.entries()].map(([kind, count]) => `${count} ${kind}`).join(', ')}.`;
}

function indent(text: string): string {
  return text.split('\n').map((line) => `  ${line}`).join('\n');
}

export function renderFleetPlan(project: string, plans: readonly HostPlan[]): string {
  if (plans.length === 0) return `Project ${printable(project)}: no host is placed (no registered host matches; see \`hostwright hosts\`).`;
  const sections = plans.map(({ target, plan, error }) => {
    const revision = target.changed ? `desired r${target.document.revision} (new)` : `desired r${target.document.revision} (unchanged)`;
    const header = `=== ${printable(target.hostId)} · ${revision}`;
    if (target.unregistered) return `${header}\n${notRegisteredLine(target.hostId, target.document.revision)}`;
    return error ? `${header}\n${printable(target.hostId)}: ${printable(error)}` : `${header}\n${renderPlan(plan as PlanReport)}`;
  });
  const changing = plans.filter((p) => p.plan?.changes).length;
  const silent = plans.filter((p) => p.error).length;
  const orders = updateOrderExceptions(plans.map(({ target }) => target.document)).map((exception) => `Update order: ${printable(exception.message)} (start-first cannot bind it twice)`);
  const unregistered = plans.filter((p) => p.target.unregistered).length;
  const edges = projectWiring(plans.map(({ target }) => target.document));
  // Only worth a section when a wait crosses hosts or has nothing to wait for.
  const wiring = edges.some((edge) => edge.reach !== 'same-host') ? [`Wiring (depends_on):\n${wiringLines(edges, printable).map((line) => `  ${line}`).join('\n')}`] : [];
  return `${[...sections, ...(orders.length > 0 ? [orders.join('\n')] : []), ...wiring].join('\n\n')}\n\nFleet: ${plans.length} host(s), ${changing} with changes${silent ? `, ${silent} did not answer` : ''}${unregistered ? `, ${unregistered} NOT REGISTERED` : ''}.`;
}
