import { describeAction, type Action } from '../../../agent/core/actions.js';
import type { DiffEntry } from '../../../agent/core/diff.js';
import type { CycleReport } from '../../../agent/reconciler.js';
import { renderTable, shortId } from './table.js';

/** One diff entry as `plan --json` prints it. */
export interface DiffEntryJson {
  readonly kind: DiffEntry['kind'];
  readonly project: string;
  readonly service: string;
  readonly instance: number;
  readonly name: string;
  readonly containerId: string | null;
  readonly detail: string;
}

/** The `plan --json` document (schema "hostwright.plan/v1", see docs/json.md). */
export interface PlanJson {
  readonly schema: 'hostwright.plan/v1';
  readonly hostId: string;
  readonly observedAt: string;
  readonly observationFingerprint: string;
  readonly projects: readonly { project: string; revision: number; mode: string }[];
  readonly changes: boolean;
  readonly diff: readonly DiffEntryJson[];
  readonly actions: readonly (Action & { readonly description: string; readonly blocked: boolean })[];
  readonly blocked: readonly { project: string; gate: string; message: string }[];
  readonly drift: readonly { kind: string; project: string; service: string; instance: number; action: string; message: string }[];
}

export function planJson(report: CycleReport): PlanJson {
  const runnable = new Set(report.runnable.map((action) => action.id));
  return {
    schema: 'hostwright.plan/v1',
    hostId: report.plan.hostId,
    observedAt: report.plan.observedAt,
    observationFingerprint: report.plan.observationFingerprint,
    projects: report.plan.projects,
    changes: report.plan.actions.length > 0,
    diff: report.diff.projects.flatMap((project) => project.entries.filter((entry) => entry.kind !== 'in-sync').map(diffEntryJson)),
    actions: report.plan.actions.map((action) => ({ ...action, description: describeAction(action), blocked: !runnable.has(action.id) })),
    blocked: report.blocks,
    drift: report.plan.drift.map((finding) => ({ kind: finding.kind, ...finding.key, action: finding.action, message: finding.message })),
  };
}

export function diffEntryJson(entry: DiffEntry): DiffEntryJson {
  const key = entry.kind === 'unowned' ? entry.container.identity : entry.key;
  const container = 'container' in entry ? entry.container : undefined;
  const name = 'name' in entry ? entry.name : (container?.name ?? '');
  return { kind: entry.kind, project: key.project, service: key.service, instance: key.instance, name, containerId: container?.id ?? null, detail: diffDetail(entry) };
}

const DIFF_SYMBOL: Record<DiffEntry['kind'], string> = {
  create: '+',
  replace: '~',
  modified: '!',
  stopped: '~',
  unhealthy: '?',
  remove: '-',
  'name-conflict': 'x',
  unowned: '?',
  'in-sync': ' ',
};

function diffDetail(entry: DiffEntry): string {
  switch (entry.kind) {
    case 'create':
      return entry.cause === 'missing' ? 'missing (drift): will be recreated' : 'new instance';
    case 'replace':
      return `spec changed: ${entry.changedFields.join(', ')} (forces replacement)`;
    case 'modified':
      return `modified outside Hostwright: ${entry.container.modifiedFields.join(', ') || 'name'}`;
    case 'stopped':
      return entry.neverStarted ? 'created but never started' : `container is ${entry.container.state}`;
    case 'unhealthy':
      return 'unhealthy (reported, not restarted)';
    case 'remove':
      return entry.cause === 'duplicate' ? 'duplicate of the same instance' : entry.cause === 'scaled-down' ? 'beyond replicas' : 'service removed';
    case 'name-conflict':
      return `name taken by ${entry.holder}`;
    case 'unowned':
      return `not owned: ${entry.reason} (never touched)`;
    case 'in-sync':
      return 'in sync';
  }
}

/** The human plan: diff, ordered actions, gates that would block, drift. */
export function renderPlan(report: CycleReport): string {
  const json = planJson(report);
  const lines: string[] = [];
  const revisions = json.projects.map((p) => `${p.project} r${p.revision}`).join(', ') || 'no desired state';
  lines.push(`Host ${json.hostId} · ${revisions} · observed ${json.observedAt}`);
  if (json.diff.length > 0) {
    lines.push('', 'Diff:');
    for (const entry of json.diff) lines.push(`  ${DIFF_SYMBOL[entry.kind]} ${entry.name.padEnd(28)} ${entry.detail}`);
  }
  if (json.actions.length > 0) {
    lines.push('', `Plan (${json.actions.length} action${json.actions.length === 1 ? '' : 's'}, in order):`);
    lines.push(indent(renderTable(['ID', 'ACTION', 'TARGET', 'WHY'], json.actions.map((a) => [a.id, a.kind + (a.blocked ? ' (blocked)' : ''), target(a), a.reason]))));
  }
  if (json.blocked.length > 0) {
    lines.push('', 'Would block because:');
    for (const block of json.blocked) lines.push(`  [${block.gate}] ${block.project}: ${block.message}`);
  }
  const reported = json.drift.filter((d) => d.action === 'report');
  if (reported.length > 0) {
    lines.push('', 'Drift reported (policy "report"; an explicit apply repairs it):');
    for (const finding of reported) lines.push(`  ${finding.message}`);
  }
  lines.push('', json.actions.length === 0 ? 'No changes: the host is converged.' : summary(json.actions));
  return lines.join('\n');
}

function target(action: Action): string {
  if (action.kind === 'pull-image') return action.image;
  if (action.kind === 'create') return `${action.name} (${action.config.image})`;
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
